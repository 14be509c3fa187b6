/**
 * EdgeViT builders (official saic-fi/edgevit names): checkpoint keys, parameter counts, reference
 * logits on onnxruntime CPU, static graphs (no Shape / Einsum, constant Reshape targets), the
 * sampler as a strided Slice and LocalProp as a depthwise ConvTranspose, and a smoke run.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, getModel, listModels } from '../../src/builders/index.js';
import type { Graph } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { prepareModel, toOnnx, trainableParams } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { parameters } from '../../src/weights/load.js';
import { expectPass, expectStatic, expectTrainKeys, runReference } from '../helpers/models.js';
import { checkLogits, loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';

const REFERENCE = ['edgevit_xxs', 'edgevit_xs', 'edgevit_s'];


function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('EdgeViT keys and parameter counts', () => {
  for (const model of REFERENCE) {
    it(`${model}: initializers equal the official state_dict (names, shapes, order, rules); params = official`, () => {
      expectTrainKeys(model);
    });
  }
});

describe('EdgeViT reference logits (onnxruntime CPU, opset 17, train-time graph)', () => {
  for (const model of REFERENCE) {
    it(`${model} matches the PyTorch logits; the serialized graph is static`, async () => {
      const g = prepareModel(model, { checkpoint: referenceCheckpoint(model) });
      const bytes = toOnnx(g);
      expectStatic(parseOnnx(bytes).graph);
      expectPass(await runReference(model, bytes));
    });
  }
});

describe('EdgeViT graph structure', () => {
  it('the kernel-1 AvgPool sampler is a strided Slice; LocalProp a depthwise ConvTranspose back to H×W', () => {
    const g = buildModel('edgevit_xxs');
    const slices = [...g.nodes].filter((n) => n.op === 'Slice');
    expect(slices.map((n) => [n.inputs[4]!.constant!.toNumbers(), n.outputs[0]!.shape])).toEqual([
      [[4, 4], [1, 14, 14, 36]], [[2, 2], [1, 14, 14, 72]],
      [[2, 2], [1, 7, 7, 144]], [[2, 2], [1, 7, 7, 144]], [[2, 2], [1, 7, 7, 144]],
    ]);
    const up = [...g.nodes].filter((n) => n.op === 'ConvTranspose');
    expect(up.map((n) => [n.attrInt('group'), n.attrInts('strides'), n.outputs[0]!.shape])).toEqual([
      [36, [4, 4], [1, 36, 56, 56]], [72, [2, 2], [1, 72, 28, 28]],
      [144, [2, 2], [1, 144, 14, 14]], [144, [2, 2], [1, 144, 14, 14]], [144, [2, 2], [1, 144, 14, 14]],
    ]);
    expect(g.opHistogram().get('AveragePool')).toBeUndefined();
  });

  it('LayerNorm eps: 1e-5 in patch embeds and attn.norm, 1e-6 in SelfAttn norm1/norm2', () => {
    const g = buildModel('edgevit_xxs');
    const eps = new Map([...g.nodes].filter((n) => n.op === 'LayerNormalization').map((n) => [n.inputs[1]!.name, n.attrFloat('epsilon')]));
    expect(eps.get('patch_embed1.norm.weight')).toBeCloseTo(1e-5, 12);
    expect(eps.get('blocks1.0.SelfAttn.attn.norm.weight')).toBeCloseTo(1e-5, 12);
    expect(eps.get('blocks1.0.SelfAttn.norm1.weight')).toBeCloseTo(1e-6, 12);
    expect(eps.get('blocks4.1.SelfAttn.norm2.weight')).toBeCloseTo(1e-6, 12);
  });

  it('accepts 224×224 only (the official PatchEmbed asserts it)', () => {
    expect(() => buildModel('edgevit_xxs', { size: [256, 256] })).toThrow(/224x224 only/);
  });

  it('edgevit_xxs with a dynamic batch: batch 2 equals batch 1 per item', async () => {
    const ck = referenceCheckpoint('edgevit_xxs');
    const item = 3 * 224 * 224;
    const both = new Float32Array(2 * item).map((_, i) => Math.sin(i * 0.013));
    const run = async (batch: number | 'dynamic', data: Float32Array, n: number) => {
      const out = await runOnnx(toOnnx(prepareModel('edgevit_xxs', { batch, checkpoint: ck })), { input: { dtype: 'float32', dims: [n, 3, 224, 224], data } });
      return out['logits']!.data as Float32Array;
    };
    const two = await run('dynamic', both, 2);
    const first = await run(1, both.subarray(0, item), 1), second = await run(1, both.subarray(item), 1);
    expect(maxAbs(two.subarray(0, 1000), first)).toBeLessThan(1e-5);
    expect(maxAbs(two.subarray(1000), second)).toBeLessThan(1e-5);
    expect(maxAbs(first, second)).toBeGreaterThan(1e-2);
  });
});

describe('EdgeViT smoke: every variant builds, verifies, serializes and runs', () => {
  const variants = listModels().filter((s) => s.family === 'edgevit').map((s) => s.name);
  it('registers the three variants with the paper MACs at 224 and ImageNet preprocessing', () => {
    expect(variants).toEqual(REFERENCE);
    expect(variants.map((v) => getModel(v).paperMacs! / 1e9)).toEqual([0.6, 1.1, 1.9]);
    for (const v of variants) {
      expect(getModel(v).fixedSizes).toEqual([[224, 224]]);
      expect(getModel(v).std).toEqual([0.229, 0.224, 0.225]);
    }
  });
  for (const model of variants) {
    it(`${model}, batch 1, deterministic init → finite [1, 1000] logits`, async () => {
      const g = prepareModel(model);
      verifyGraph(g);
      const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.01));
      const out = await runOnnx(toOnnx(g), { input: { dtype: 'float32', dims: [1, 3, 224, 224], data: x } });
      expect(out['logits']!.dims).toEqual([1, 1000]);
      expect((out['logits']!.data as Float32Array).every(Number.isFinite)).toBe(true);
    });
  }
});
