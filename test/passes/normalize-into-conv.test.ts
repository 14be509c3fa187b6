import { describe, expect, it } from 'vitest';
import { conv2d } from '../../src/builders/layers.js';
import type { Builder } from '../../src/graph/builder.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { runRules } from '../../src/passes/driver.js';
import { scaleIntoConv, shiftIntoConv } from '../../src/passes/normalize-into-conv.js';
import { expectPreserved, initForTest, seeded, tinyBuilder } from '../helpers/graphs.js';

const histogram = (g: Graph) => Object.fromEntries(g.opHistogram());
const RULES = [scaleIntoConv, shiftIntoConv];

/** x ─Sub(mean)─► ─Mul(1/std)─► ─Conv(pad)─► ─Relu─►, the --preprocess chain on a [1,3,9,9] input. */
function normalizedConv(o: { pad: number; bias?: boolean; shiftOp?: 'Sub' | 'Add'; groups?: number }): Graph {
  const { b, x } = tinyBuilder([1, 3, 9, 9]);
  const shift = b.constant('mean', seeded([1, 3, 1, 1], 'mean', 'other', 100));
  const scale = b.constant('inv_std', seeded([1, 3, 1, 1], 'inv_std', 'other', 0.05));
  const y = b.mul(o.shiftOp === 'Add' ? b.add(shift, x) : b.sub(x, shift), scale);
  b.g.outputs.push(b.relu(conv2d(b.child('stem'), y, { out: o.groups ? 6 : 4, k: 3, stride: 2, pad: o.pad, bias: o.bias, groups: o.groups })));
  initForTest(b.g);
  return b.g;
}

describe('normalize-into-conv', () => {
  it('zero-padded conv: the scale folds into the weights, the shift stays an op', async () => {
    const g = normalizedConv({ pad: 1, bias: true });
    let counts: Record<string, number> = {};
    await expectPreserved(g, (g) => { counts = runRules(g, RULES, { onRewrite: (_, g) => verifyGraph(g) }).counts; }, 1e-4, 1e-4);
    expect(counts).toEqual({ 'scale-into-conv': 1, 'shift-into-conv': 0 });
    expect(histogram(g)).toEqual({ Sub: 1, Conv: 1, Relu: 1 });
    expect(g.initializers.has('stem.weight')).toBe(true);
  });

  for (const shiftOp of ['Sub', 'Add'] as const) {
    it(`unpadded conv: scale and shift (${shiftOp}) both fold; a bias is created when absent`, async () => {
      const g = normalizedConv({ pad: 0, shiftOp });
      let counts: Record<string, number> = {};
      await expectPreserved(g, (g) => { counts = runRules(g, RULES, { onRewrite: (_, g) => verifyGraph(g) }).counts; }, 1e-4, 1e-4);
      expect(counts).toEqual({ 'scale-into-conv': 1, 'shift-into-conv': 1 });
      expect(histogram(g)).toEqual({ Conv: 1, Relu: 1 });
      expect(g.initializers.get('stem.bias')!.shape).toEqual([4]);
    });
  }

  function rejects(build: (b: Builder, x: Value) => Value, reason: RegExp): void {
    const { b, x } = tinyBuilder([1, 3, 9, 9]);
    b.g.outputs.push(build(b, x));
    initForTest(b.g);
    const explain = new Map<string, string>();
    const before = histogram(b.g);
    expect(runRules(b.g, RULES, { explain }).counts).toEqual({ 'scale-into-conv': 0, 'shift-into-conv': 0 });
    expect(histogram(b.g)).toEqual(before);
    expect([...explain.values()].join(' | ')).toMatch(reason);
  }
  const c = (b: Builder, shape: number[]) => b.constant('c', seeded(shape, 'c'));

  it('does not fold a shift into a padded conv', () => {
    rejects((b, x) => conv2d(b.child('stem'), b.sub(x, c(b, [1, 3, 1, 1])), { out: 4, k: 3, pad: 1 }), /pads its input/);
  });
  it('does not fold Sub(constant, x) (that negates x)', () => {
    rejects((b, x) => conv2d(b.child('stem'), b.sub(c(b, [1, 3, 1, 1]), x), { out: 4, k: 3, pad: 0 }), /minuend/);
  });
  it('does not fold into a grouped conv', () => {
    rejects((b, x) => conv2d(b.child('stem'), b.mul(x, c(b, [1, 3, 1, 1])), { out: 6, k: 3, groups: 3 }), /grouped conv/);
  });
  it('does not fold a constant that varies along H or W', () => {
    rejects((b, x) => conv2d(b.child('stem'), b.mul(x, c(b, [1, 1, 9, 9])), { out: 4, k: 3 }), /varies along axis 2/);
  });
  it('does not fold when the normalized image has another use', () => {
    rejects((b, x) => {
      const y = b.mul(x, c(b, [1, 3, 1, 1]));
      return b.add(conv2d(b.child('stem'), y, { out: 3, k: 3 }), y);
    }, /has other uses/);
  });
  it('does not fold into a conv whose weight is shared', () => {
    rejects((b, x) => {
      const y = conv2d(b.child('stem'), b.mul(x, c(b, [1, 3, 1, 1])), { out: 4, k: 3 });
      return b.add(y, b.op('Conv', [x, b.g.initializers.get('stem.weight')!], y.producer!.attrs));
    }, /not a constant owned by this conv/);
  });
});
