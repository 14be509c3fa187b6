import { describe, expect, it } from 'vitest';
import { fromTokens, linear, toTokens } from '../../src/builders/layers.js';
import type { Builder } from '../../src/graph/builder.js';
import { attr, type Graph, type Value } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { runRules } from '../../src/passes/driver.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { scaleIntoLinear } from '../../src/passes/scale-into-linear.js';
import { expectPreserved, initForTest, seeded, tinyBuilder } from '../helpers/graphs.js';

const histogram = (g: Graph) => Object.fromEntries(g.opHistogram());
const RULE = 'scale-into-linear';

function build(shape: readonly (number | string)[], body: (b: Builder, x: Value) => Value): Graph {
  const { b, x } = tinyBuilder(shape as number[]);
  b.g.outputs.push(b.relu(body(b, x)));
  initForTest(b.g);
  foldConstants.run(b.g); // the transposed Linear weights become constants, as in the pipeline
  return b.g;
}

const gamma = (b: Builder, shape: number[]) => b.constant('gamma', seeded(shape, 'gamma', 'other', 3));

describe('scale-into-linear', () => {
  it('folds FastViT layer_scale_1 γ [C,1,1] through tokens → proj → NCHW', async () => {
    const g = build([2, 8, 4, 6], (b, x) => b.mul(fromTokens(b, linear(b.child('proj'), toTokens(b, x), 8), 4, 6), gamma(b, [8, 1, 1])));
    let n = 0;
    await expectPreserved(g, (g) => { n = runRules(g, [scaleIntoLinear], { onRewrite: (_, g) => verifyGraph(g) }).counts[RULE]!; });
    expect(n).toBe(1);
    expect(histogram(g)).toEqual({ Add: 1, MatMul: 1, Relu: 1, Reshape: 2, Transpose: 2 });
    expect(g.initializers.has('proj/Transpose') && g.initializers.has('proj.bias')).toBe(true);
    expect(g.initializers.has('gamma')).toBe(false);
    expect(runRules(g, [scaleIntoLinear]).counts[RULE]).toBe(0);
  });

  const cases: [string, readonly (number | string)[], (b: Builder, x: Value) => Value, Record<string, number>][] = [
    ['γ [1,C,1,1] as the first operand', [2, 8, 3, 3],
      (b, x) => b.mul(gamma(b, [1, 8, 1, 1]), fromTokens(b, linear(b.child('proj'), toTokens(b, x), 8), 3, 3)),
      { Add: 1, MatMul: 1, Relu: 1, Reshape: 2, Transpose: 2 }],
    ['γ [O] right after MatMul + Add (no layout ops)', [2, 5, 8],
      (b, x) => b.mul(linear(b.child('fc'), x, 12), gamma(b, [12])),
      { Add: 1, MatMul: 1, Relu: 1 }],
    ['a scalar through a Reshape that splits the features into heads (no bias)', [2, 5, 8],
      (b, x) => b.mul(b.transpose(b.reshape(linear(b.child('q'), x, 8, false), [2, 5, 2, 4]), [0, 2, 1, 3]), b.scalar(0.125, 'scale')),
      { MatMul: 1, Relu: 1, Reshape: 1, Transpose: 1 }],
    ['γ [O] after a Gemm (transB)', [3, 8],
      (b, x) => b.mul(linear(b.child('head'), x, 6), gamma(b, [6])),
      { Gemm: 1, Relu: 1 }],
    ['γ [1,O] after a Gemm without transB and with a scalar C', [3, 8],
      (b, x) => b.mul(b.op('Gemm', [x, b.constant('w', seeded([8, 6], 'w')), b.constant('c', seeded([], 'c'))],
        { alpha: attr.float(0.5), beta: attr.float(2), transA: attr.int(0), transB: attr.int(0) }), gamma(b, [1, 6])),
      { Gemm: 1, Relu: 1 }],
    ['γ along the channel axis of a token Linear read back as [B,C,N]', [2, 7, 8],
      (b, x) => b.mul(b.transpose(linear(b.child('fc'), x, 6), [0, 2, 1]), gamma(b, [6, 1])),
      { Add: 1, MatMul: 1, Relu: 1, Transpose: 1 }],
  ];
  for (const [what, shape, body, hist] of cases) {
    it(`folds ${what}`, async () => {
      const g = build(shape, body);
      await expectPreserved(g, (g) => { expect(runRules(g, [scaleIntoLinear], { onRewrite: (_, g) => verifyGraph(g) }).counts[RULE]).toBe(1); });
      expect(histogram(g)).toEqual(hist);
    });
  }

  it('folds with a symbolic batch (the graph verifies and keeps its shapes)', () => {
    const g = build(['N', 8, 4, 4], (b, x) => b.mul(fromTokens(b, linear(b.child('proj'), toTokens(b, x), 8), 4, 4), gamma(b, [8, 1, 1])));
    expect(runRules(g, [scaleIntoLinear]).counts[RULE]).toBe(1);
    verifyGraph(g);
    expect(g.outputs[0]!.shape).toEqual(['N', 8, 4, 4]);
    expect(g.opHistogram().has('Mul')).toBe(false);
  });

  const negative: [string, readonly (number | string)[], (b: Builder, x: Value) => Value, RegExp][] = [
    ['γ varies along the spatial axes', [2, 8, 4, 4],
      (b, x) => b.mul(fromTokens(b, linear(b.child('proj'), toTokens(b, x), 8), 4, 4), gamma(b, [1, 1, 1, 4])), /varies along axis 3, the features are axis 1/],
    ['γ varies along two axes', [2, 8, 4, 4],
      (b, x) => b.mul(fromTokens(b, linear(b.child('proj'), toTokens(b, x), 8), 4, 4), gamma(b, [8, 4, 1])), /more than one axis/],
    ['a per-head γ after the features were split into heads', [2, 5, 8],
      (b, x) => b.mul(b.reshape(linear(b.child('q'), x, 8), [2, 5, 2, 4]), gamma(b, [2, 1])), /does not keep the output features/],
    ['the token layout is also read by a residual', [2, 8, 4, 4],
      (b, x) => { const t = b.transpose(linear(b.child('proj'), toTokens(b, x), 8), [0, 2, 1]); return b.add(b.mul(b.reshape(t, [2, 8, 4, 4]), gamma(b, [8, 1, 1])), b.reshape(t, [2, 8, 4, 4])); },
      /has other uses/],
    ['the weight is shared by two MatMuls', [2, 5, 8],
      (b, x) => { const w = b.constant('w', seeded([8, 8], 'w')); return b.add(b.mul(b.matmul(x, w), gamma(b, [8])), b.matmul(x, w)); },
      /not a 2-D constant owned by it/],
    ['an activation between Linear and scale', [2, 5, 8],
      (b, x) => b.mul(b.relu(linear(b.child('fc'), x, 8)), gamma(b, [8])), /not a Linear/],
    ['a constant that broadcasts the result to a larger shape', [2, 5, 8],
      (b, x) => b.mul(linear(b.child('fc'), x, 8), gamma(b, [3, 1, 1, 8])), /larger shape/],
  ];
  for (const [what, shape, body, reason] of negative) {
    it(`does not fire when ${what}`, () => {
      const g = build(shape, body);
      const explain = new Map<string, string>();
      expect(runRules(g, [scaleIntoLinear], { explain }).counts[RULE]).toBe(0);
      expect([...explain.values()].join(' | ')).toMatch(reason);
    });
  }
});
