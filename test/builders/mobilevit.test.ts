/**
 * MobileViT builders: checkpoint keys, parameter counts, reference logits on onnxruntime CPU, the
 * odd-feature-map resize path (ONNX Resize vs PyTorch's bilinear formula), batch independence, and
 * a smoke run of every variant.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, getModel, listModels } from '../../src/builders/index.js';
import { Builder } from '../../src/graph/builder.js';
import { attr } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { serialize } from '../../src/onnx/serialize.js';
import { prepareModel, toOnnx, trainableParams } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { parameters } from '../../src/weights/load.js';
import { expectPass, expectStatic, expectTrainKeys, runReference } from '../helpers/models.js';
import { checkLogits, loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';

const REFERENCE = ['mobilevit_xxs', 'mobilevit_xs', 'mobilevit_s'];

function sinInput(n: number, size: number): Float32Array {
  return new Float32Array(n * 3 * size * size).map((_, i) => Math.sin(i * 0.01) + 0.5);
}

/** Logits of `model` (reference weights when `ref`, else deterministic init) for `n` sine images. */
async function logitsOf(model: string, o: { size: number; batch: number | 'dynamic'; n: number; ref?: boolean; data?: Float32Array }): Promise<Float32Array> {
  const g = prepareModel(model, { size: [o.size, o.size], batch: o.batch, checkpoint: o.ref ? referenceCheckpoint(model) : undefined });
  const data = o.data ?? sinInput(o.n, o.size);
  const out = await runOnnx(toOnnx(g), { input: { dtype: 'float32', dims: [o.n, 3, o.size, o.size], data } });
  expect(out['logits']!.dims).toEqual([o.n, 1000]);
  return out['logits']!.data as Float32Array;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('MobileViT keys and parameter counts', () => {
  for (const model of REFERENCE) {
    it(`${model}: initializers equal timm's state_dict (names, shapes, order, rules); params = timm's`, () => {
      expectTrainKeys(model);
    });
  }
});

describe('MobileViT reference logits (onnxruntime CPU, opset 17)', () => {
  for (const model of REFERENCE) {
    it(`${model} matches the PyTorch logits`, async () => {
      const g = prepareModel(model, { checkpoint: referenceCheckpoint(model) });
      expectPass(await runReference(model, toOnnx(g)));
    });
  }
});

/** PyTorch `F.interpolate(mode='bilinear', align_corners=False)` on one [C, H, W] map, in float64. */
function torchBilinear(x: Float32Array, c: number, h: number, w: number, oh: number, ow: number): Float64Array {
  const src = (d: number, n: number, on: number) => {
    const s = Math.max((n / on) * (d + 0.5) - 0.5, 0);
    const i0 = Math.floor(s);
    return [i0, i0 < n - 1 ? i0 + 1 : i0, 1 - (s - i0), s - i0] as const;
  };
  const out = new Float64Array(c * oh * ow);
  for (let k = 0; k < c; k++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const [h0, h1, a0, a1] = src(i, h, oh), [w0, w1, b0, b1] = src(j, w, ow);
        const at = (y: number, z: number) => x[(k * h + y) * w + z]!;
        out[(k * oh + i) * ow + j] = a0 * (b0 * at(h0, w0) + b1 * at(h0, w1)) + a1 * (b0 * at(h1, w0) + b1 * at(h1, w1));
      }
    }
  }
  return out;
}

describe('MobileViT at odd feature maps (224 → 7×7 in stage 4)', () => {
  it('ONNX Resize(linear, half_pixel) equals PyTorch bilinear (align_corners=False) up and down', async () => {
    for (const [h, oh] of [[7, 8], [8, 7], [13, 14], [14, 13]] as const) {
      const b = Builder.create('resize');
      const x = b.input('input', { dtype: 'float32', shape: [1, 3, h, h] });
      const y = b.op('Resize', [x, null, null, b.ints([1, 3, oh, oh], 'sizes')], {
        mode: attr.string('linear'), coordinate_transformation_mode: attr.string('half_pixel'),
      });
      b.g.outputs.push(y);
      const data = new Float32Array(3 * h * h).map((_, i) => 3 * Math.sin(i * 1.7));
      const out = await runOnnx(serialize(b.g, { opset: 17 }), { input: { dtype: 'float32', dims: [1, 3, h, h], data } });
      expect(out[y.name]!.dims).toEqual([1, 3, oh, oh]);
      expect(maxAbs(out[y.name]!.data as Float32Array, torchBilinear(data, 3, h, h, oh, oh))).toBeLessThan(1e-5);
    }
  });

  it('mobilevit_xxs at 224 resizes 7→8→7 around the last unfold/fold', () => {
    const g = buildModel('mobilevit_xxs', { size: [224, 224] });
    verifyGraph(g);
    const resizes = [...g.nodes].filter((n) => n.op === 'Resize');
    expect(resizes.map((n) => n.outputs[0]!.shape)).toEqual([[1, 96, 8, 8], [1, 96, 7, 7]]);
    expect(buildModel('mobilevit_xxs').opHistogram().get('Resize')).toBeUndefined();
  });

  it('dynamic batch at 224 (Resize by scales) equals static batch 1 (Resize by sizes) per item', async () => {
    const one = await logitsOf('mobilevit_xxs', { size: 224, batch: 1, n: 1, ref: true });
    const dyn = buildModel('mobilevit_xxs', { size: [224, 224], batch: 'dynamic' });
    const resizes = [...dyn.nodes].filter((n) => n.op === 'Resize');
    expect(resizes.map((n) => [n.inputs.length, n.outputs[0]!.shape])).toEqual([[3, ['N', 96, 8, 8]], [3, ['N', 96, 7, 7]]]);
    const two = await logitsOf('mobilevit_xxs', { size: 224, batch: 'dynamic', n: 2, ref: true });
    expect(one.every(Number.isFinite)).toBe(true);
    expect(maxAbs(two.subarray(0, 1000), one)).toBeLessThan(1e-5);
  });
});

describe('MobileViT smoke: every variant builds, verifies, serializes and runs', () => {
  // MobileViT v1 (v2: test/builders/mobilevitv2.test.ts)
  const variants = listModels().filter((s) => s.family === 'mobilevit' && !s.name.startsWith('mobilevitv2')).map((s) => s.name);
  it('registers the three variants with the counted MACs, 256 default and [0,1] input', () => {
    expect(variants).toEqual(REFERENCE);
    expect(variants.map((v) => getModel(v).paperMacs! / 1e9)).toEqual([0.41, 1.03, 2.0]);
    for (const v of variants) {
      expect(getModel(v).defaultSize).toEqual([256, 256]);
      expect([getModel(v).mean, getModel(v).std]).toEqual([[0, 0, 0], [1, 1, 1]]);
    }
  });
  for (const model of variants) {
    it(`${model} at 256×256, batch 1, deterministic init → finite [1, 1000] logits`, async () => {
      verifyGraph(buildModel(model));
      expect((await logitsOf(model, { size: 256, batch: 1, n: 1 })).every(Number.isFinite)).toBe(true);
    });
  }
  it('mobilevit_xxs with a dynamic batch: batch 2 equals batch 1 per item', async () => {
    const g = buildModel('mobilevit_xxs', { batch: 'dynamic' });
    verifyGraph(g);
    expect(g.outputs[0]!.shape).toEqual(['N', 1000]);
    const both = sinInput(2, 256), item = 3 * 256 * 256;
    const two = await logitsOf('mobilevit_xxs', { size: 256, batch: 'dynamic', n: 2, ref: true, data: both });
    const first = await logitsOf('mobilevit_xxs', { size: 256, batch: 1, n: 1, ref: true, data: both.subarray(0, item) });
    const second = await logitsOf('mobilevit_xxs', { size: 256, batch: 1, n: 1, ref: true, data: both.subarray(item) });
    expect(maxAbs(two.subarray(0, 1000), first)).toBeLessThan(1e-5);
    expect(maxAbs(two.subarray(1000), second)).toBeLessThan(1e-5);
    expect(maxAbs(first, second)).toBeGreaterThan(1e-2); // the items really differ
  });
  it('rejects sizes that are not multiples of 32', () => {
    expect(() => buildModel('mobilevit_xxs', { size: [240, 256] })).toThrow(/multiple of 32/);
  });
});
