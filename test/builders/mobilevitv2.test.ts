/**
 * MobileViT v2 (mobilevitv2_050 … _200): checkpoint keys and parameter count against the PyTorch
 * reference of mobilevitv2_050, its logits on onnxruntime CPU for the train-time and the optimized
 * graph, the odd-feature-map path (align_corners resize), batch independence, and the Core ML /
 * TensorRT profiles (rank ≤ 5, static shapes, no lint errors).
 * Every variant's keys, parameter count and default-size export: test/models/zoo.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, getModel, listModels } from '../../src/builders/index.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { exportModel, prepareModel, toOnnx } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { expectPass, expectStatic, expectTrainKeys, runReference } from '../helpers/models.js';
import { referenceCheckpoint } from '../helpers/reference.js';
import { expectFeatureTaps } from '../helpers/zoo.js';

const MODEL = 'mobilevitv2_050';

function sinInput(n: number, size: number): Float32Array {
  return new Float32Array(n * 3 * size * size).map((_, i) => Math.sin(i * 0.01) + 0.5);
}

async function logits(bytes: Uint8Array, n: number, size: number, data = sinInput(n, size)): Promise<Float32Array> {
  const out = await runOnnx(bytes, { input: { dtype: 'float32', dims: [n, 3, size, size], data } });
  expect(out['logits']!.dims).toEqual([n, 1000]);
  return out['logits']!.data as Float32Array;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('MobileViT v2 against the PyTorch reference (mobilevitv2_050)', () => {
  it('initializers equal timm\'s state_dict (names, shapes, order, rules); params = timm\'s', () => expectTrainKeys(MODEL));

  it('train-time graph matches the PyTorch logits', async () => {
    const g = prepareModel(MODEL, { checkpoint: referenceCheckpoint(MODEL) });
    expect(g.opHistogram().get('InstanceNormalization')).toBe(2 * (2 + 4 + 3) + 3); // GroupNorm(1): 2 per transformer block + 1 per MobileViT-v2 block
    expectPass(await runReference(MODEL, g));
  });

  it('optimized graph (default pipeline): no BatchNormalization, static shapes, logits still match', async () => {
    const r = exportModel(MODEL, { checkpoint: referenceCheckpoint(MODEL), verifyEach: true });
    verifyGraph(r.graph);
    expect(r.nodesAfter.has('BatchNormalization')).toBe(false);
    // every GroupNorm's weight and bias merged into the conv after it (merge-pre-affine): the Adds
    // left are the 2 residuals of each of the 9 transformer blocks and stage 1's inverted residual
    expect(r.nodesAfter.get('Add')).toBe(2 * 9 + 1);
    expectStatic(r.graph);
    expectPass(await runReference(MODEL, r.bytes));
  });
});

describe('MobileViT v2 variants, sizes and targets', () => {
  it('registers the seven widths at 256×256 with [0, 1] input', () => {
    const v2 = listModels().filter((s) => s.name.startsWith('mobilevitv2')).map((s) => s.name);
    expect(v2).toEqual(['050', '075', '100', '125', '150', '175', '200'].map((m) => `mobilevitv2_${m}`));
    for (const v of v2) {
      expect(getModel(v).defaultSize).toEqual([256, 256]);
      expect([getModel(v).mean, getModel(v).std]).toEqual([[0, 0, 0], [1, 1, 1]]);
    }
  });

  it('at 288×288 the 9×9 last map is resized to 10×10 (align_corners, as timm) and the model runs', async () => {
    const g = prepareModel(MODEL, { size: [288, 288] });
    const resizes = [...g.nodes].filter((n) => n.op === 'Resize');
    expect(resizes.map((n) => [n.attrs['coordinate_transformation_mode']?.value, n.output.shape])).toEqual([['align_corners', [1, 256, 10, 10]]]);
    expect((await logits(toOnnx(g), 1, 288)).every(Number.isFinite)).toBe(true);
  });

  it('dynamic batch: each item of a batch of 2 equals its batch-1 run', async () => {
    const both = sinInput(2, 256), item = 3 * 256 * 256;
    const ck = referenceCheckpoint(MODEL);
    const dyn = prepareModel(MODEL, { batch: 'dynamic', checkpoint: ck });
    expect(dyn.outputs[0]!.shape).toEqual(['N', 1000]);
    const two = await logits(toOnnx(dyn), 2, 256, both);
    const one = toOnnx(prepareModel(MODEL, { checkpoint: ck }));
    const first = await logits(one, 1, 256, both.subarray(0, item));
    const second = await logits(one, 1, 256, both.subarray(item));
    expect(maxAbsDiff(two.subarray(0, 1000), first)).toBeLessThan(1e-5);
    expect(maxAbsDiff(two.subarray(1000), second)).toBeLessThan(1e-5);
    expect(maxAbsDiff(first, second)).toBeGreaterThan(1e-3);
  });

  for (const target of ['coreml', 'tensorrt'] as const) {
    it(`--target ${target}: rank ≤ 5, static shapes, no lint errors, same logits`, async () => {
      const ck = referenceCheckpoint(MODEL);
      const r = exportModel(MODEL, { checkpoint: ck, target });
      expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
      expectStatic(r.graph);
      for (const n of r.graph.nodes) for (const v of [...n.inputs, ...n.outputs]) if (v) expect(v.shape.length, n.name).toBeLessThanOrEqual(5);
      expectPass(await runReference(MODEL, r.bytes));
    });
  }

  it('feature taps (b.feature) of every width follow timm\'s feature_info (stages 0–3, final_conv)', () => {
    for (const s of listModels().filter((m) => m.name.startsWith('mobilevitv2'))) expectFeatureTaps(s.name);
  });

  it('rejects sizes that are not multiples of 32', () => {
    expect(() => buildModel(MODEL, { size: [240, 256] })).toThrow(/multiple of 32/);
  });
});
