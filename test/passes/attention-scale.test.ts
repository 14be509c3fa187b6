import { describe, expect, it } from 'vitest';
import { linear } from '../../src/builders/layers.js';
import type { Builder } from '../../src/graph/builder.js';
import { attr, type Graph, type Value } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { attentionScaleIntoQuery } from '../../src/passes/attention-scale.js';
import { runRules } from '../../src/passes/driver.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { expectPreserved, initForTest, seeded, tinyBuilder } from '../helpers/graphs.js';

const histogram = (g: Graph) => Object.fromEntries(g.opHistogram());
const RULE = 'attention-scale-into-query';
const HEADS = 2, HD = 4, C = HEADS * HD, SCALE = HD ** -0.5;

/** [B, N, C] → [B, heads, N, hd] (or [B, heads, hd, N] for keys). */
function heads(b: Builder, t: Value, key = false): Value {
  const [n, m] = t.shape as [number | string, number];
  return b.transpose(b.reshape(t, [n, m, HEADS, HD]), key ? [0, 2, 3, 1] : [0, 2, 1, 3]);
}

interface Opts { fused: boolean; bias: boolean; scaleOn: 'scores' | 'query'; relPos?: boolean; splitAttr?: boolean }

/** softmax(q·kᵀ·s)·v with separate q/k/v Linears or a fused qkv Linear + Split. */
function attention(b: Builder, x: Value, o: Opts): Value {
  let q: Value, k: Value, v: Value;
  if (o.fused) {
    const qkv = linear(b.child('qkv'), x, 3 * C, o.bias);
    const parts = o.splitAttr
      ? b.node('Split', [qkv], { axis: attr.int(2), split: attr.ints([C, C, C]) }, { outputs: 3 }).outputs
      : b.split(qkv, [C, C, C], 2);
    [q, k, v] = parts as [Value, Value, Value];
  } else {
    [q, k, v] = ['q', 'k', 'v'].map((n) => linear(b.child(n), x, C, o.bias)) as [Value, Value, Value];
  }
  let qh = heads(b, q);
  if (o.scaleOn === 'query') qh = b.mul(qh, b.scalar(SCALE, 'scale'), 'q_scaled');
  let scores = b.matmul(qh, heads(b, k, true), 'scores');
  if (o.scaleOn === 'scores') scores = b.mul(scores, b.scalar(SCALE, 'scale'), 'scaled');
  if (o.relPos) scores = b.add(scores, b.constant('rel_pos', seeded([HEADS, x.shape[1] as number, x.shape[1] as number], 'rel')), 'biased');
  return b.matmul(b.softmax(scores, -1), heads(b, v), 'context');
}

function build(o: Opts, shape: readonly (number | string)[] = [2, 6, C]): Graph {
  const { b, x } = tinyBuilder(shape as number[]);
  b.g.outputs.push(attention(b, x, o));
  initForTest(b.g);
  foldConstants.run(b.g);
  return b.g;
}

describe('attention-scale-into-query', () => {
  const cases: [string, Opts][] = [
    ['Next-ViT: separate q/k/v Linears, scale on the scores', { fused: false, bias: true, scaleOn: 'scores' }],
    ['EdgeViT: fused qkv with bias + Split, scale on the scores', { fused: true, bias: true, scaleOn: 'scores' }],
    ['FastViT: fused qkv without bias + Split, scale on the query', { fused: true, bias: false, scaleOn: 'query' }],
    ['MaxViT: fused qkv + Split, scale on the query, relative position bias on the scores', { fused: true, bias: true, scaleOn: 'query', relPos: true }],
    ['a Split with its sizes as an attribute', { fused: true, bias: true, scaleOn: 'scores', splitAttr: true }],
  ];
  for (const [what, o] of cases) {
    it(`folds the scale into the query weights: ${what}`, async () => {
      const g = build(o);
      const wName = o.fused ? 'qkv/Transpose' : 'q/Transpose';
      const w0 = g.initializers.get(wName)!.constant!.toNumbers();
      const b0 = o.bias ? g.initializers.get(o.fused ? 'qkv.bias' : 'q.bias')!.constant!.toNumbers() : [];
      let n = 0;
      await expectPreserved(g, (g) => { n = runRules(g, [attentionScaleIntoQuery], { onRewrite: (_, g) => verifyGraph(g) }).counts[RULE]!; });
      expect(n).toBe(1);
      expect(g.opHistogram().has('Mul')).toBe(false);
      // W [C, O]: only the query columns [0, C) are scaled; k and v columns are bit-identical
      const cols = o.fused ? 3 * C : C;
      const w1 = g.initializers.get(wName)!.constant!.toNumbers();
      w1.forEach((w, i) => expect(w).toBe(Math.fround(w0[i]! * (i % cols < C ? Math.fround(SCALE) : 1))));
      if (o.bias) {
        const b1 = g.initializers.get(o.fused ? 'qkv.bias' : 'q.bias')!.constant!.toNumbers();
        b1.forEach((x, i) => expect(x).toBe(Math.fround(b0[i]! * (i < C ? Math.fround(SCALE) : 1))));
      }
      expect(runRules(g, [attentionScaleIntoQuery]).counts[RULE]).toBe(0);
    });
  }

  it('scales the key Linear when the query does not come from one', async () => {
    const { b, x } = tinyBuilder([2, 6, C]);
    const q = heads(b, b.relu(x));
    const k = heads(b, linear(b.child('k'), x, C), true);
    b.g.outputs.push(b.softmax(b.mul(b.matmul(q, k, 'scores'), b.scalar(SCALE, 'scale')), -1));
    initForTest(b.g);
    foldConstants.run(b.g);
    await expectPreserved(b.g, (g) => { expect(runRules(g, [attentionScaleIntoQuery]).counts[RULE]).toBe(1); });
    expect(histogram(b.g)).toEqual({ Add: 1, MatMul: 2, Relu: 1, Reshape: 2, Softmax: 1, Transpose: 2 });
  });

  it('folds with a symbolic batch (the graph verifies and keeps its shapes)', () => {
    const g = build({ fused: true, bias: true, scaleOn: 'query' }, ['N', 6, C]);
    expect(runRules(g, [attentionScaleIntoQuery]).counts[RULE]).toBe(1);
    verifyGraph(g);
    expect(g.outputs[0]!.shape).toEqual(['N', HEADS, 6, HD]);
  });

  function rejects(build: (b: Builder, x: Value) => Value, reason: RegExp): void {
    const { b, x } = tinyBuilder([2, 6, C]);
    b.g.outputs.push(build(b, x));
    initForTest(b.g);
    foldConstants.run(b.g);
    const explain = new Map<string, string>();
    expect(runRules(b.g, [attentionScaleIntoQuery], { explain }).counts[RULE]).toBe(0);
    expect([...explain.values()].join(' | ')).toMatch(reason);
  }

  it('does not fire for a per-head (non-scalar) factor', () => {
    rejects((b, x) => b.mul(heads(b, linear(b.child('q'), x, C)), b.constant('s', seeded([HEADS, 1, 1], 's'))), /not a scalar/);
  });
  it('does not fire when the Split is along the tokens, not the features', () => {
    rejects((b, x) => {
      const [q, k] = b.split(linear(b.child('qk'), x, C), [3, 3], 1);
      return b.mul(b.matmul(q!, b.transpose(k!, [0, 2, 1])), b.scalar(SCALE));
    }, /not along the Linear's feature axis/);
  });
  it('does not fire when the features were split into (3, heads, hd) before the Split', () => {
    rejects((b, x) => {
      const t = b.reshape(linear(b.child('qkv'), x, 3 * C), [2, 6, 3, HEADS, HD]);
      const [q] = b.split(t, [1, 2], 2);
      return b.mul(q!, b.scalar(SCALE));
    }, /not along the Linear's feature axis/);
  });
  it('does not fire when the query is also read elsewhere', () => {
    rejects((b, x) => { const q = heads(b, linear(b.child('q'), x, C)); return b.add(b.mul(q, b.scalar(SCALE)), q); }, /has other uses/);
  });
  it('does not fire when the qkv weight is shared', () => {
    rejects((b, x) => {
      const w = b.constant('w', seeded([C, 2 * C], 'w'));
      const [q, k] = b.split(b.matmul(x, w), [C, C], 2);
      return b.add(b.concat([b.mul(q!, b.scalar(SCALE)), k!], 2), b.matmul(x, w));
    }, /not a 2-D constant owned by it/);
  });
  it('does not fire when neither MatMul operand comes from a Linear', () => {
    rejects((b, x) => b.mul(b.matmul(b.relu(x), b.transpose(b.sigmoid(x), [0, 2, 1])), b.scalar(SCALE)), /not a Linear.*; .*not a Linear/);
  });
});
