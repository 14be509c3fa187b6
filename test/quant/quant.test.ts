/**
 * Pieces of int8 quantization against independent oracles: preprocessing against PIL (the
 * reference computed by scripts/gen-preprocess-ref.py), the .npy reader against numpy's own file,
 * QDQ graphs against onnxruntime (emulated QDQ with optimizations off vs its fused integer kernels),
 * the Relu fold against an explicit Relu, and determinism.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTimed } from '../../src/bench/latency.js';
import { attr, Graph } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { onnx } from '../../src/onnx/proto.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { serialize } from '../../src/onnx/serialize.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { entropyThreshold, percentileThreshold } from '../../src/quant/calibrate.js';
import { type Samples, splitHeldOut } from '../../src/quant/data.js';
import { decodeImage, preprocessImage } from '../../src/quant/images.js';
import { quantizeOnnx } from '../../src/quant/index.js';
import { NpyError, readNpy } from '../../src/quant/npy.js';
import type { PreprocessCfg } from '../../src/quant/pretrained-cfg.js';
import { planQdq, quantizeWeight } from '../../src/quant/qdq.js';
import { ROOT } from '../helpers/cli.js';
import { seeded } from '../helpers/graphs.js';

const IMAGES = join(ROOT, 'fixtures', 'images');

describe('preprocessing (timm eval transform)', () => {
  const ref = JSON.parse(readFileSync(join(IMAGES, 'preprocess-reference.json'), 'utf8')) as {
    cases: Record<string, { cfg: { size: number; crop_pct: number; interpolation: 'bilinear' | 'bicubic'; mean: number[]; std: number[] }; indices: number[]; values: number[]; channel_means: number[] }>;
  };
  const img = decodeImage(readFileSync(join(IMAGES, 'evaluation', 'coins.png')), 'coins.png');
  it.each(Object.keys(ref.cases))('matches PIL resize + center crop + normalize for the %s cfg', (name) => {
    const c = ref.cases[name]!;
    const cfg: PreprocessCfg = { size: [c.cfg.size, c.cfg.size], mean: c.cfg.mean as PreprocessCfg['mean'], std: c.cfg.std as PreprocessCfg['std'], cropPct: c.cfg.crop_pct, cropMode: 'center', interpolation: c.cfg.interpolation, source: 'test' };
    const x = preprocessImage(img, cfg);
    expect(x.length).toBe(3 * c.cfg.size * c.cfg.size);
    // PIL resamples in 8 bits (rounds after each pass): ≤ ~1 level of 255 apart, /std ≈ 0.02
    c.indices.forEach((i, k) => expect(Math.abs(x[i]! - c.values[k]!), `element ${i}`).toBeLessThan(0.03));
    const n = c.cfg.size * c.cfg.size;
    for (let ch = 0; ch < 3; ch++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += x[ch * n + i]!;
      expect(Math.abs(m / n - c.channel_means[ch]!)).toBeLessThan(0.003);
    }
  });

  it('decodes JPEG and grayscale PNG to RGB; rejects other bytes with the file name', () => {
    const j = decodeImage(readFileSync(join(IMAGES, 'evaluation', 'chelsea.jpg')), 'chelsea.jpg');
    expect([j.width, j.height]).toEqual([481, 320]);
    expect(img.data[0]).toBe(img.data[1]); // gray → R = G = B
    expect(() => decodeImage(new Uint8Array([1, 2, 3, 4]), 'x.jpg')).toThrow(/^image x\.jpg: not a JPEG or PNG file$/);
    expect(() => decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0, 1]), 'y.jpg')).toThrow(/^image y\.jpg: cannot decode/);
  });
});

describe('.npy reader', () => {
  it('reads the array numpy wrote', () => {
    const a = readNpy(readFileSync(join(IMAGES, 'small.npy')), 'small.npy');
    expect(a.shape).toEqual([2, 3, 4, 5]);
    a.data.forEach((v, i) => expect(v).toBe(Math.fround((i - 60) / 7)));
  });
  it('rejects bad files with one precise line', () => {
    const good = readFileSync(join(IMAGES, 'small.npy'));
    expect(() => readNpy(new Uint8Array(4), 'a.npy')).toThrow(/^a\.npy: not a \.npy file/);
    expect(() => readNpy(good.subarray(0, good.length - 4), 'b.npy')).toThrow(/^b\.npy: shape \(2, 3, 4, 5\) needs 480 data bytes, the file has 476$/);
    const text = Buffer.from(good).toString('latin1');
    expect(() => readNpy(Buffer.from(text.replace("'<f4'", "'<i4'"), 'latin1'), 'c.npy')).toThrow(/dtype <i4 is not supported/);
    expect(() => readNpy(Buffer.from(text.replace('False', 'True '), 'latin1'), 'd.npy')).toThrow(NpyError);
  });
});

describe('calibration thresholds', () => {
  it('percentile: the bin edge below which p of |x| lies', () => {
    const h = new Float64Array(100).fill(1);
    expect(percentileThreshold(h, 10, 0.5)).toBeCloseTo(5, 10);
    expect(percentileThreshold(h, 10, 1)).toBeCloseTo(10, 10);
  });
  it('entropy: clips a far outlier, keeps a distribution without one', () => {
    const h = new Float64Array(2048);
    for (let i = 0; i < 400; i++) h[i] = Math.round(1e5 * Math.exp(-i / 60));
    h[2047] = 1; // one outlier at max|x|
    expect(entropyThreshold(h, 1)).toBeLessThan(0.35);
    const u = new Float64Array(2048).fill(100);
    expect(entropyThreshold(u, 1)).toBeGreaterThan(0.95);
  });
});

describe('held-out split', () => {
  it('never calibrates on a held-out sample', () => {
    const s: Samples = { description: 't', names: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], shape: [1, 1, 1], data: Array.from({ length: 8 }, (_, i) => Float32Array.of(i)) };
    const { calibration, heldOut } = splitHeldOut(s);
    expect(heldOut.names).toEqual(['d', 'h']);
    expect(calibration.names.filter((n) => heldOut.names.includes(n))).toEqual([]);
    expect(splitHeldOut({ ...s, names: ['a', 'b'], data: s.data.slice(0, 2) }).heldOut.names).toEqual(['b']);
  });
});

describe('per-channel weights', () => {
  it('s_c = max|W_c| / 127 and |W − s·q| ≤ s/2 (int8; uint8 = int8 + 128)', () => {
    const w = seeded([6, 3, 3, 3], 'w');
    const { q, scales } = quantizeWeight(w, 0);
    const u = quantizeWeight(w, 0, 'uint8');
    const d = w.data as Float32Array;
    for (let c = 0; c < 6; c++) {
      const ch = d.subarray(c * 27, (c + 1) * 27);
      expect(scales[c]).toBeCloseTo(Math.max(...ch.map(Math.abs)) / 127, 7);
      ch.forEach((v, i) => {
        expect(Math.abs(v - scales[c]! * (q.data as Int8Array)[c * 27 + i]!)).toBeLessThanOrEqual(scales[c]! / 2 + 1e-7);
        expect((u.q.data as Uint8Array)[c * 27 + i]).toBe((q.data as Int8Array)[c * 27 + i]! + 128);
      });
    }
  });
});

/** x[1,4,8,8] → Conv 3×3 (+bias) → Relu → Conv 1×1 → Relu → [Relu branch: Add residual] → Conv 1×1 → y */
function convNet(): Uint8Array {
  const g = new Graph('t');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 4, 8, 8] });
  const conv = (name: string, input: typeof x, cin: number, cout: number, k: number) => {
    const w = g.addInitializer(`${name}.weight`, seeded([cout, cin, k, k], `${name}.weight`, 'other', 1));
    const b = g.addInitializer(`${name}.bias`, seeded([cout], `${name}.bias`, 'other', 0.2));
    const p = (k - 1) / 2;
    return g.addNode('Conv', [input, w, b], [{ dtype: 'float32', shape: [1, cout, 8, 8] }], {
      name, attrs: { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]), strides: attr.ints([1, 1]), dilations: attr.ints([1, 1]), group: attr.int(1) },
    }).output;
  };
  const relu = (name: string, v: typeof x) => g.addNode('Relu', [v], [{ dtype: 'float32', shape: v.shape }], { name }).output;
  const a = relu('r1', conv('c1', x, 4, 8, 3));
  const b = relu('r2', conv('c2', a, 8, 8, 1));
  const s = g.addNode('Add', [a, b], [{ dtype: 'float32', shape: [1, 8, 8, 8] }], { name: 'residual' }).output;
  g.outputs.push(conv('c3', s, 8, 5, 1));
  return serialize(g, { opset: 17 });
}

function samples(n: number, seed: string): Samples {
  return { description: 'seeded', names: Array.from({ length: n }, (_, i) => `${seed}${i}`), shape: [4, 8, 8], data: Array.from({ length: n }, (_, i) => seeded([4, 8, 8], `${seed}${i}`).data as Float32Array) };
}

const opsOf = (bytes: Uint8Array) => {
  const h = new Map<string, number>();
  for (const n of onnx.ModelProto.decode(bytes).graph!.node!) h.set(n.opType!, (h.get(n.opType!) ?? 0) + 1);
  return h;
};

describe('QDQ graphs on onnxruntime', () => {
  it('places pairs where onnxruntime fuses QLinearConv / QLinearAdd; fused ≈ emulated; folds Relus', async () => {
    const fp32 = convNet();
    const q = await quantizeOnnx(fp32, samples(6, 'cal'), { minReduction: 0 });
    expect(q.stats).toEqual({ activations: 4, weights: 3, biases: 3, reluFolded: 2 }); // x, c1, c2, residual (c3 is the output)
    const h = opsOf(q.bytes);
    expect(h.get('Relu')).toBeUndefined();
    expect(h.get('QuantizeLinear')).toBe(4);
    const x = { x: { dtype: 'float32' as const, dims: [1, 4, 8, 8], data: seeded([1, 4, 8, 8], 'eval').data as Float32Array } };
    const ref = (await runOnnx(fp32, x))['c3']!.data as Float32Array;
    const emulated = (await runOnnx(q.bytes, x))['c3']!.data as Float32Array;
    const dir = mkdtempSync(join(tmpdir(), 'vitx-qdq-'));
    const opt = join(dir, 'optimized.onnx');
    const s = await openTimed(q.bytes, 'cpu', { optimizedModelFilePath: opt });
    const fused = (await s.infer(x))['c3']!.data as Float32Array;
    await s.release();
    const fusedOps = opsOf(readFileSync(opt));
    rmSync(dir, { recursive: true, force: true });
    expect(fusedOps.get('QLinearConv')).toBe(2); // c3 writes the float graph output: no Q after it, so it stays a Conv
    expect(fusedOps.get('QLinearAdd')).toBe(1);
    const amax = Math.max(...ref.map(Math.abs));
    let worst = 0, worstFused = 0;
    ref.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - emulated[i]!)); worstFused = Math.max(worstFused, Math.abs(emulated[i]! - fused[i]!)); });
    expect(worst / amax).toBeLessThan(0.05);
    expect(worstFused / amax).toBeLessThan(0.02); // integer kernels vs float emulation: rounding only
  });

  it('the folded Relu is exact: an explicit Relu after each folded pair changes nothing', async () => {
    const q = await quantizeOnnx(convNet(), samples(6, 'cal'), { minReduction: 0 });
    const g = parseOnnx(q.bytes).graph;
    for (const name of ['c1_dequantized', 'c2_dequantized']) {
      const dq = g.value(name)!;
      const uses = [...dq.uses];
      const r = g.addNode('Relu', [dq], [{ dtype: 'float32', shape: dq.shape }], { name: `${name}_relu` }).output;
      for (const u of uses) u.node.setInput(u.slot, r);
    }
    const x = { x: { dtype: 'float32' as const, dims: [1, 4, 8, 8], data: seeded([1, 4, 8, 8], 'eval2').data as Float32Array } };
    const a = (await runOnnx(q.bytes, x))['c3']!.data as Float32Array;
    const b = (await runOnnx(serialize(g, { opset: 17 }), x))['c3']!.data as Float32Array;
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('is deterministic: same inputs, same bytes', async () => {
    const [a, b] = [await quantizeOnnx(convNet(), samples(3, 'cal'), { minReduction: 0 }), await quantizeOnnx(convNet(), samples(3, 'cal'), { minReduction: 0 })];
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
  });

  it('must not fire: attention MatMuls stay float by default; a Relu is not folded when its input has other uses or it is a graph output', () => {
    const g = new Graph('att');
    const x = g.addInput('x', { dtype: 'float32', shape: [4, 8] });
    const w = g.addInitializer('w', seeded([8, 8], 'w'));
    const q = g.addNode('MatMul', [x, w], [{ dtype: 'float32', shape: [4, 8] }], { name: 'proj' }).output;
    const r = g.addNode('Relu', [q], [{ dtype: 'float32', shape: [4, 8] }], { name: 'act' }).output;
    const kt = g.addNode('Transpose', [q], [{ dtype: 'float32', shape: [8, 4] }], { name: 'kt', attrs: { perm: attr.ints([1, 0]) } }).output;
    g.outputs.push(g.addNode('MatMul', [r, kt], [{ dtype: 'float32', shape: [4, 4] }], { name: 'scores' }).output);
    const p = planQdq(g, 'ort', { minReduction: 0 });
    expect(p.nodes.map((n) => n.name)).toEqual(['proj']);
    expect(p.folded).toEqual([]); // proj's output also feeds kt
    const h = new Graph('out');
    const hx = h.addInput('x', { dtype: 'float32', shape: [4, 8] });
    const hy = h.addNode('MatMul', [hx, h.addInitializer('w', seeded([8, 8], 'w'))], [{ dtype: 'float32', shape: [4, 8] }], { name: 'proj' }).output;
    h.outputs.push(h.addNode('Relu', [hy], [{ dtype: 'float32', shape: [4, 8] }], { name: 'act' }).output);
    expect(planQdq(h, 'ort', { minReduction: 0 }).folded).toEqual([]); // the Relu's output is the graph output
    // kt is a Transpose of proj's quantized values: a pair with proj's parameters is exact (onnxruntime drops it)
    expect(p.tensors.map((t) => t.name)).toEqual(['x', 'proj', 'kt']);
    expect(p.sameAs?.get(g.value('kt')!)?.name).toBe('proj');
    expect(planQdq(g, 'ort', { quantizeAttention: true, minReduction: 0 }).tensors.map((t) => t.name)).toEqual(['x', 'proj', 'act', 'kt']);
    expect(planQdq(g, 'tensorrt').tensors.map((t) => t.name)).toEqual(['x']);
    expect(planQdq(g, 'ort').nodes).toEqual([]); // K = 8 < MIN_REDUCTION: memory-bound, stays float
  });
});
