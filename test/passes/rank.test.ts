/**
 * rank-reduction on MaxViT-style 6-D window and grid partitions (static batch 2 and symbolic N):
 * afterwards no value has rank > 5, results are bit-identical on onnxruntime, and the plans are
 * the small ones the header promises.
 */
import { describe, expect, it } from 'vitest';
import { layerNorm } from '../../src/builders/layers.js';
import { Builder } from '../../src/graph/builder.js';
import type { Dim, Graph } from '../../src/graph/ir.js';
import { dimMul } from '../../src/graph/shapes.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { legalize } from '../../src/onnx/legalize.js';
import { serialize } from '../../src/onnx/serialize.js';
import { deadCode } from '../../src/passes/dce.js';
import { runRules } from '../../src/passes/driver.js';
import { groupAxes, moveSteps, reduceTransposeRank } from '../../src/passes/rank.js';
import { SIMPLIFY_RULES } from '../../src/passes/simplify.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { initForTest, seeded } from '../helpers/graphs.js';

/** x (B,8,14,14) → window attention-ish (w = 7) → grid attention-ish (g = 7) → NCHW. */
function partitions(batch: number | 'N'): Graph {
  const b = Builder.create('maxvit_like');
  const B: Dim = batch;
  const x = b.input('input', { dtype: 'float32', shape: [B, 8, 14, 14] });
  let t = b.transpose(x, [0, 2, 3, 1]); // NHWC
  // block (window) partition
  let w = b.reshape(b.transpose(b.reshape(t, [B, 2, 7, 2, 7, 8]), [0, 1, 3, 2, 4, 5]), [dimMul(B, 4), 49, 8]);
  w = layerNorm(b.child('block', 'norm'), w, 1e-5);
  t = b.reshape(b.transpose(b.reshape(w, [B, 2, 2, 7, 7, 8]), [0, 1, 3, 2, 4, 5]), [B, 14, 14, 8]);
  // grid partition
  let g = b.reshape(b.transpose(b.reshape(t, [B, 7, 2, 7, 2, 8]), [0, 2, 4, 1, 3, 5]), [dimMul(B, 4), 49, 8]);
  g = b.softmax(layerNorm(b.child('grid', 'norm'), g, 1e-5), 1);
  t = b.reshape(b.transpose(b.reshape(g, [B, 2, 2, 7, 7, 8]), [0, 3, 1, 4, 2, 5]), [B, 14, 14, 8]);
  const y = b.transpose(t, [0, 3, 1, 2]);
  b.g.outputs.push(y);
  initForTest(b.g);
  return b.g;
}

const maxRank = (g: Graph) => Math.max(...[...g.inputs, ...g.initializers.values(), ...[...g.nodes].flatMap((n) => n.outputs)].map((v) => v.shape.length));

async function run(g: Graph, batch: number): Promise<Float32Array> {
  legalize(g, 17);
  const x = seeded([batch, 8, 14, 14], 'rank-input');
  const out = await runOnnx(serialize(g, { opset: 17 }), { input: { dtype: 'float32', dims: [batch, 8, 14, 14], data: x.data as Float32Array } });
  return Object.values(out)[0]!.data as Float32Array;
}

describe('rank-reduction', () => {
  it('plans: a window partition is one 4-D transpose, a grid partition two', () => {
    const win = groupAxes([2, 2, 7, 2, 7, 8], [0, 1, 3, 2, 4, 5]);
    expect(win).toEqual({ groups: [[2, 2], [7], [2], [7, 8]], perm: [0, 2, 1, 3] });
    const grid = groupAxes([2, 7, 2, 7, 2, 8], [0, 2, 4, 1, 3, 5]);
    expect(grid.groups.length).toBe(6);
    expect(moveSteps(grid.groups.map((g) => g[0]!), grid.perm)).toEqual([
      { view: [2, 7, 2, 7 * 2 * 8], perm: [0, 2, 1, 3] },
      { view: [4, 49, 2, 8], perm: [0, 2, 1, 3] },
    ]);
    // at batch 1 the size-1 axis drops out and the grid partition is a single 5-D transpose
    expect(groupAxes([1, 7, 2, 7, 2, 8], [0, 2, 4, 1, 3, 5]).groups.length).toBe(5);
    expect(groupAxes(['N', 7, 2, 7, 2, 8], [0, 2, 4, 1, 3, 5]).groups.length).toBe(6);
  });

  for (const batch of [2, 'N'] as const) {
    it(`brings every tensor to rank ≤ 5 with bit-identical results (batch ${batch})`, async () => {
      const g = partitions(batch);
      expect(maxRank(g)).toBe(6);
      const before = await run(partitions(batch), 2);
      const s = runRules(g, [reduceTransposeRank(5), ...SIMPLIFY_RULES]);
      deadCode.run(g);
      verifyGraph(g);
      expect(s.counts['rank-reduction']).toBe(4);
      expect(maxRank(g)).toBeLessThanOrEqual(4);
      expect(g.outputs[0]!.shape).toEqual([batch, 8, 14, 14]);
      const after = await run(g, 2);
      expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer))).toBe(true);
    });
  }

  it('leaves transposes of rank ≤ 5 alone', () => {
    const b = Builder.create('low');
    const x = b.input('x', { dtype: 'float32', shape: [2, 3, 4, 5, 6] });
    b.g.outputs.push(b.transpose(x, [0, 2, 1, 4, 3]));
    expect(runRules(b.g, [reduceTransposeRank(5)]).counts['rank-reduction']).toBe(0);
  });
});
