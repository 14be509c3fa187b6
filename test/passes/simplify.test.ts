import { describe, expect, it } from 'vitest';
import { conv2d } from '../../src/builders/layers.js';

import { Tensor } from '../../src/graph/tensor.js';
import { removeDeadCode } from '../../src/passes/dce.js';
import { runRules } from '../../src/passes/driver.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { removeIdentity, reshapeChain, SIMPLIFY_RULES, transposeChain } from '../../src/passes/simplify.js';
import { expectPreserved, initForTest, tinyBuilder } from '../helpers/graphs.js';

const ops = (g: { nodes: ReadonlySet<{ op: string }> }) => [...g.nodes].map((n) => n.op);

describe('simplify rules', () => {
  it('removes Identity, no-op Reshape and identity Transpose', async () => {
    const { b, x } = tinyBuilder([2, 3, 4, 5]);
    let y = b.op('Identity', [b.relu(x)]);
    y = b.reshape(y, [2, 3, 4, 5]);
    y = b.transpose(y, [0, 1, 2, 3]);
    b.g.outputs.push(b.sigmoid(y));
    let n = 0;
    await expectPreserved(b.g, (g) => { n = runRules(g, [removeIdentity]).counts['remove-identity']!; });
    expect(n).toBe(3);
    expect(ops(b.g)).toEqual(['Relu', 'Sigmoid']);
  });

  it('collapses reshape and transpose chains', async () => {
    const { b, x } = tinyBuilder([2, 3, 4, 5]);
    const r = b.reshape(b.reshape(b.relu(x), [6, 20]), [2, 60]);
    const t = b.transpose(b.transpose(b.relu(x), [0, 2, 3, 1]), [0, 3, 1, 2]);
    const t2 = b.transpose(b.transpose(b.relu(x), [0, 2, 3, 1]), [1, 0, 2, 3]);
    b.g.outputs.push(r, t, t2);
    await expectPreserved(b.g, (g) => {
      const s = runRules(g, SIMPLIFY_RULES);
      expect(s.counts['reshape-chain']).toBe(1);
      expect(s.counts['transpose-chain']).toBe(2);
      expect(s.counts['remove-identity']).toBe(1); // the composed perm of t is the identity
    });
    expect(ops(b.g).filter((o) => o === 'Transpose')).toHaveLength(1);
    expect(ops(b.g).filter((o) => o === 'Reshape')).toHaveLength(1);
  });

  it('does not collapse a chain whose middle value is used elsewhere', () => {
    const { b, x } = tinyBuilder([2, 3, 4, 5]);
    const mid = b.reshape(x, [6, 20]);
    b.g.outputs.push(b.reshape(mid, [2, 60]), b.relu(mid));
    expect(runRules(b.g, [reshapeChain]).counts['reshape-chain']).toBe(0);
    const t = b.transpose(x, [0, 2, 3, 1]);
    b.g.outputs.push(b.transpose(t, [0, 3, 1, 2]), b.relu(t));
    expect(runRules(b.g, [transposeChain]).counts['transpose-chain']).toBe(0);
  });
});

describe('fold-constants and dead-code', () => {
  it('folds constant subgraphs into initializers that keep the node output names', async () => {
    const { b, x } = tinyBuilder([2, 4]);
    const w = b.constant('w', Tensor.f32([3, 4], [...Array(12).keys()].map((i) => i / 7 - 0.5)));
    const wt = b.transpose(w, [1, 0]);
    const scaled = b.mul(wt, b.scalar(0.5));
    b.g.outputs.push(b.matmul(x, scaled));
    const name = scaled.name;
    await expectPreserved(b.g, (g) => { expect(foldConstants.run(g).folded).toBe(2); removeDeadCode(g); });
    expect(ops(b.g)).toEqual(['MatMul']);
    expect(b.g.initializers.get(name)!.constant!.shape).toEqual([4, 3]);
    expect([...b.g.initializers.keys()]).toEqual([name]); // w and the scalar are dead and removed
  });

  it('leaves nodes with a non-constant input alone and removes dead branches', () => {
    const { b, x } = tinyBuilder([1, 3, 4, 4]);
    const y = conv2d(b.child('c'), x, { out: 3, k: 1 });
    b.relu(y); // dead
    b.g.outputs.push(b.op('Sigmoid', [y], { }));
    initForTest(b.g);
    expect(foldConstants.run(b.g).folded).toBe(0);
    expect(removeDeadCode(b.g)).toBe(1);
    expect(ops(b.g)).toEqual(['Conv', 'Sigmoid']);
  });
});
