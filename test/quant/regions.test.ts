/**
 * uint8 regions (qdq.ts growRegions) and token Linears as 2-D Gemms (gemm2d.ts). Oracles:
 * onnxruntime's own optimized graph (optimizedModelFilePath: which QLinear* kernels it fused), its
 * unfused run of the same QDQ file (optimizations off: the float emulation of every Q/DQ pair), and
 * the float32 graph.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTimed } from '../../src/bench/latency.js';
import { attr, Graph, type Shape, type Value } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { onnx } from '../../src/onnx/proto.js';
import { serialize } from '../../src/onnx/serialize.js';
import { runOnnx } from '../../src/runtime/ort.js';
import type { Samples } from '../../src/quant/data.js';
import { linearsToGemm } from '../../src/quant/gemm2d.js';
import { quantizeOnnx } from '../../src/quant/index.js';
import { planQdq } from '../../src/quant/qdq.js';
import { seeded } from '../helpers/graphs.js';

const dir = mkdtempSync(join(tmpdir(), 'vitx-regions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function conv(g: Graph, name: string, x: Value, cout: number, k: number, group: number, shape: Shape): Value {
  const cin = Number(x.shape[1]);
  const w = g.addInitializer(`${name}.weight`, seeded([cout, cin / group, k, k], `${name}.weight`, 'other', 1));
  const b = g.addInitializer(`${name}.bias`, seeded([cout], `${name}.bias`, 'other', 0.2));
  const p = (k - 1) / 2;
  return g.addNode('Conv', [x, w, b], [{ dtype: 'float32', shape }], {
    name, attrs: { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]), strides: attr.ints([1, 1]), dilations: attr.ints([1, 1]), group: attr.int(group) },
  }).output;
}
const op = (g: Graph, type: string, name: string, xs: Value[], shape: Shape, attrs = {}) =>
  g.addNode(type, xs, [{ dtype: 'float32', shape }], { name, attrs }).output;

/**
 * x[1,8,8,8] → c1 1×1 → SiLU (Sigmoid, Mul) → dw 3×3 depthwise → + SiLU output (residual)
 *   → squeeze-excite (GlobalAveragePool, Sigmoid, Mul broadcast) → Concat with the residual
 *   → MaxPool 2×2 → c2 1×1 → y (float graph output)
 */
function regionNet(): Uint8Array {
  const g = new Graph('regions');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 8, 8, 8] });
  const s = [1, 16, 8, 8];
  const c1 = conv(g, 'c1', x, 16, 1, 1, s);
  const silu = op(g, 'Mul', 'silu', [c1, op(g, 'Sigmoid', 'sig', [c1], s)], s);
  const res = op(g, 'Add', 'residual', [conv(g, 'dw', silu, 16, 3, 16, s), silu], s);
  const gap = op(g, 'GlobalAveragePool', 'gap', [res], [1, 16, 1, 1]);
  const se = op(g, 'Mul', 'se', [res, op(g, 'Sigmoid', 'gate', [gap], [1, 16, 1, 1])], s);
  const cat = op(g, 'Concat', 'cat', [se, res], [1, 32, 8, 8], { axis: attr.int(1) });
  const mp = op(g, 'MaxPool', 'pool', [cat], [1, 32, 4, 4], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
  g.outputs.push(conv(g, 'c2', mp, 8, 1, 1, [1, 8, 4, 4]));
  return serialize(g, { opset: 17 });
}

/**
 * Must not fire: x → Tanh → dw 3×3 → Tanh (float input and output: stays float) → c1 1×1 → m 3×3
 * channel-multiplied (16 filters on 8 groups: stays float, and its input must not get a pair) → c2 1×1 → y
 */
function floatNet(): Uint8Array {
  const g = new Graph('float-kept');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 8, 8, 8] });
  const s = [1, 8, 8, 8];
  const dw = op(g, 'Tanh', 'tanh2', [conv(g, 'dw', op(g, 'Tanh', 'tanh', [x], s), 8, 3, 8, s)], s);
  const c1 = conv(g, 'c1', dw, 8, 1, 1, s);
  const m = conv(g, 'mult', op(g, 'Add', 'add', [c1, dw], s), 16, 3, 8, [1, 16, 8, 8]);
  g.outputs.push(conv(g, 'c2', m, 8, 1, 1, s));
  return serialize(g, { opset: 17 });
}

function samples(n: number, seed: string, shape: [number, number, number]): Samples {
  return { description: 'seeded', names: Array.from({ length: n }, (_, i) => `${seed}${i}`), shape, data: Array.from({ length: n }, (_, i) => seeded(shape, `${seed}${i}`).data as Float32Array) };
}

const opsOf = (bytes: Uint8Array) => {
  const h = new Map<string, number>();
  for (const n of onnx.ModelProto.decode(bytes).graph!.node!) h.set(n.opType!, (h.get(n.opType!) ?? 0) + 1);
  return h;
};
const nodeOps = (bytes: Uint8Array) => new Map(onnx.ModelProto.decode(bytes).graph!.node!.map((n) => [n.name!, n.opType!]));

/** onnxruntime's fused graph and outputs, its unfused (emulated) outputs, and the float32 outputs. */
async function runAll(fp32: Uint8Array, q: Uint8Array, feeds: Parameters<typeof runOnnx>[1], out: string, tag: string) {
  const opt = join(dir, `${tag}.optimized.onnx`);
  const s = await openTimed(q, 'cpu', { optimizedModelFilePath: opt });
  const fused = (await s.infer(feeds))[out]!.data as Float32Array;
  await s.release();
  return {
    fusedOps: opsOf(readFileSync(opt)), fusedNodes: nodeOps(readFileSync(opt)), fused,
    emulated: (await runOnnx(q, feeds))[out]!.data as Float32Array, ref: (await runOnnx(fp32, feeds))[out]!.data as Float32Array,
  };
}

const relErr = (a: Float32Array, b: Float32Array) => {
  let m = 0, d = 0;
  a.forEach((v, i) => { m = Math.max(m, Math.abs(v)); d = Math.max(d, Math.abs(v - b[i]!)); });
  return d / m;
};

describe('uint8 regions (ort)', () => {
  const feeds = { x: { dtype: 'float32' as const, dims: [1, 8, 8, 8], data: seeded([1, 8, 8, 8], 'eval').data as Float32Array } };

  it('carries uint8 through SiLU, the depthwise Conv, residual Add, squeeze-excite, Concat and MaxPool; onnxruntime fuses each', async () => {
    const fp32 = regionNet();
    const q = await quantizeOnnx(fp32, samples(6, 'cal', [8, 8, 8]), { minReduction: 0 });
    const written = opsOf(q.bytes);
    // x, c1, sig, silu, dw, residual, gap, gate, se, cat, pool: every activation but the float output
    expect(written.get('QuantizeLinear')).toBe(11);
    const r = await runAll(fp32, q.bytes, feeds, 'c2', 'regions');
    expect(Object.fromEntries(r.fusedOps), 'onnxruntime optimized graph').toMatchObject({
      QLinearConv: 2, QLinearSigmoid: 2, QLinearMul: 2, QLinearAdd: 1, QLinearGlobalAveragePool: 1, QLinearConcat: 1, MaxPool: 1,
    });
    expect(r.fusedOps.get('Sigmoid')).toBeUndefined();
    // MaxPool got its input's scale and zero point: onnxruntime dropped the pair and pools uint8
    const m = onnx.ModelProto.decode(q.bytes).graph!;
    const init = new Map(m.initializer!.map((t) => [t.name!, t]));
    const pairOf = (v: string) => m.node!.find((n) => n.opType === 'QuantizeLinear' && n.input![0] === v)!.input!.slice(1).map((i) => Buffer.from(init.get(i)!.rawData!).toString('hex'));
    expect(pairOf('pool')).toEqual(pairOf('cat'));
    expect(relErr(r.ref, r.emulated)).toBeLessThan(0.05);
    expect(relErr(r.emulated, r.fused)).toBeLessThan(0.02); // integer kernels vs float emulation: rounding only
  });

  it('regions: false keeps the previous placement (float SiLU, residual Add, squeeze-excite, Concat)', async () => {
    const fp32 = regionNet();
    const q = await quantizeOnnx(fp32, samples(6, 'cal', [8, 8, 8]), { minReduction: 0, regions: false });
    const r = await runAll(fp32, q.bytes, feeds, 'c2', 'no-regions');
    expect(r.fusedOps.get('QLinearSigmoid')).toBeUndefined();
    expect(r.fusedOps.get('QLinearConcat')).toBeUndefined();
    expect(r.fusedOps.get('QLinearAdd')).toBeUndefined();
    expect(r.fusedOps.get('QLinearGlobalAveragePool')).toBeUndefined();
  });

  it('must not fire: a depthwise Conv with a float input and output and a channel-multiplied Conv stay float, and onnxruntime does not quantize them itself', async () => {
    const fp32 = floatNet();
    const q = await quantizeOnnx(fp32, samples(6, 'cal', [8, 8, 8]), { minReduction: 0 });
    const g = onnx.ModelProto.decode(q.bytes).graph!;
    const conv = (name: string) => g.node!.find((n) => n.name === name)!;
    expect(conv('dw').input![1]).toBe('dw.weight'); // float weights, no DequantizeLinear
    expect(conv('mult').input![1]).toBe('mult.weight');
    expect(conv('mult').input![0]).toBe('add'); // c1 and tanh2 are quantized; their Add is not carried into 'mult'
    expect(conv('c1').input![1]).toBe('c1.weight_dequantized');
    const r = await runAll(fp32, q.bytes, feeds, 'c2', 'float-kept');
    // c1 only (c2 writes the float graph output); onnxruntime fused dw with the Tanh after it, in float
    expect(r.fusedOps.get('QLinearConv'), JSON.stringify([...r.fusedNodes])).toBe(1);
    expect(r.fusedNodes.get('mult')).toBe('Conv');
    expect(relErr(r.ref, r.emulated)).toBeLessThan(0.05);
  });

  it('a depthwise 3×3 Conv joins a region from either side (float input and quantized consumer, or the reverse); a 7×7 does not', () => {
    const g = new Graph('dw');
    const x = g.addInput('x', { dtype: 'float32', shape: [1, 32, 8, 8] });
    const s = [1, 32, 8, 8];
    const a = conv(g, 'dw_a', op(g, 'Tanh', 'tanh', [x], s), 32, 3, 32, s); // float input, feeds c1
    const c1 = conv(g, 'c1', a, 32, 1, 1, s); // K = 32: quantized
    const b = conv(g, 'dw_b', c1, 32, 3, 32, s); // quantized input, float consumer
    const big = conv(g, 'dw_7x7', b, 32, 7, 32, s); // quantized input, but above 3×3: stays float
    g.outputs.push(op(g, 'Tanh', 'out', [big], s));
    const p = planQdq(g, 'ort');
    expect(p.nodes.map((n) => n.name)).toEqual(['dw_a', 'c1', 'dw_b']);
    expect(p.tensors.map((t) => t.name)).toEqual(['tanh', 'dw_a', 'c1', 'dw_b']); // not dw_7x7's output: it would sit between DQ and Q
    expect(planQdq(g, 'ort', { regions: false }).nodes.map((n) => n.name)).toEqual(['c1']); // K = 9 < MIN_REDUCTION
  });

  it('web keeps the previous placement by default (no regions, K ≥ 64); regions: true turns them on', () => {
    const g = new Graph('web');
    const x = g.addInput('x', { dtype: 'float32', shape: [1, 32, 8, 8] });
    const s = [1, 32, 8, 8];
    const c1 = conv(g, 'c1', x, 32, 1, 1, s); // K = 32
    const c2 = conv(g, 'c2', op(g, 'Mul', 'silu', [c1, op(g, 'Sigmoid', 'sig', [c1], s)], s), 32, 3, 1, s); // K = 288
    g.outputs.push(conv(g, 'dw', c2, 32, 3, 32, s));
    expect(planQdq(g, 'ort').nodes.map((n) => n.name)).toEqual(['c1', 'c2', 'dw']);
    const web = planQdq(g, 'web');
    expect(web.nodes.map((n) => n.name)).toEqual(['c2']);
    expect(web.tensors.map((t) => t.name)).toEqual(['silu', 'c2']);
    expect(planQdq(g, 'web', { regions: true, minReduction: 32 }).nodes.map((n) => n.name)).toEqual(['c1', 'c2', 'dw']);
  });

  it('tensorrt is unchanged: pairs on the inputs of quantizable ops only, no region growth', () => {
    const g = new Graph('t');
    const x = g.addInput('x', { dtype: 'float32', shape: [1, 8, 8, 8] });
    const s = [1, 16, 8, 8];
    const c1 = conv(g, 'c1', x, 16, 1, 1, s);
    const silu = op(g, 'Mul', 'silu', [c1, op(g, 'Sigmoid', 'sig', [c1], s)], s);
    g.outputs.push(conv(g, 'dw', silu, 16, 3, 16, s));
    const p = planQdq(g, 'tensorrt');
    expect(p.tensors.map((t) => t.name)).toEqual(['x', 'silu']);
    expect(p.nodes.map((n) => n.name)).toEqual(['c1', 'dw']);
  });
});

/**
 * x[2, 6, 16] → token Linear: MatMul W[16, 24] + b[24] → SiLU → MatMul W2[24, 16] + b2 → y;
 * batch null: the tokens already flattened to rows, x[R, 16] (flatten-tokens' form).
 */
function tokenNet(batch: number | string | null = 2): Graph {
  const g = new Graph('tokens');
  const lead = (batch === null ? ['R'] : [batch, 6]) as Shape;
  const x = g.addInput('x', { dtype: 'float32', shape: [...lead, 16] });
  const lin = (name: string, v: Value, k: number, n: number) => {
    const y = op(g, 'MatMul', name, [v, g.addInitializer(`${name}.weight`, seeded([k, n], `${name}.weight`, 'other', 1))], [...lead, n] as Shape);
    return op(g, 'Add', `${name}/bias`, [y, g.addInitializer(`${name}.bias`, seeded([n], `${name}.bias`, 'other', 0.2))], [...lead, n] as Shape);
  };
  const s = [...lead, 24] as Shape;
  const a = lin('fc1', x, 16, 24);
  const h = op(g, 'Mul', 'silu', [a, op(g, 'Sigmoid', 'sig', [a], s)], s);
  g.outputs.push(lin('fc2', h, 24, 16));
  return g;
}

describe('token Linears as 2-D Gemms', () => {
  const data = seeded([2, 6, 16], 'tok').data as Float32Array;
  const feeds = { x: { dtype: 'float32' as const, dims: [2, 6, 16], data } };

  it('Reshape → Gemm → Reshape computes what MatMul + Add did (onnxruntime, float32), also with a symbolic batch', async () => {
    for (const batch of [2, 'N']) {
      const before = serialize(tokenNet(batch), { opset: 17 });
      const g = tokenNet(batch);
      expect(linearsToGemm(g)).toBe(2);
      const h = g.opHistogram();
      expect([h.get('Gemm'), h.get('Reshape'), h.get('MatMul'), h.get('Add')]).toEqual([2, 4, undefined, undefined]);
      const after = serialize(g, { opset: 17 });
      const a = (await runOnnx(before, feeds))['fc2/bias']!.data as Float32Array;
      const b = (await runOnnx(after, feeds))['fc2/bias']!.data as Float32Array;
      expect(relErr(a, b)).toBeLessThan(1e-6);
    }
  });

  it('rows already flat (x[R, 16]): MatMul + Add becomes the Gemm alone, same outputs; quantized, onnxruntime fuses QGemm', async () => {
    const feeds2 = { x: { dtype: 'float32' as const, dims: [12, 16], data } };
    const before = serialize(tokenNet(null), { opset: 17 });
    const g = tokenNet(null);
    expect(linearsToGemm(g)).toBe(2);
    const h = g.opHistogram();
    expect([h.get('Gemm'), h.get('Reshape'), h.get('MatMul'), h.get('Add')]).toEqual([2, undefined, undefined, undefined]);
    const a = (await runOnnx(before, feeds2))['fc2/bias']!.data as Float32Array;
    const b = (await runOnnx(serialize(g, { opset: 17 }), feeds2))['fc2/bias']!.data as Float32Array;
    expect(relErr(a, b)).toBeLessThan(1e-6);
    // calibrated on the 12 rows as samples of one row each
    const rows = { description: 's', names: Array.from({ length: 12 }, (_, i) => `r${i}`), shape: [16] as unknown as Samples['shape'], data: Array.from({ length: 12 }, (_, i) => data.slice(i * 16, i * 16 + 16)) };
    const q = await quantizeOnnx(before, rows, { minReduction: 0 });
    const r = await runAll(before, q.bytes, feeds2, 'fc2/bias', 'tokens2d');
    expect(r.fusedOps.get('QGemm')).toBe(2);
    expect(r.fusedOps.get('QLinearMatMul')).toBeUndefined();
    expect(relErr(r.emulated, r.fused)).toBeLessThan(0.02);
  });

  it('quantized, onnxruntime fuses each into QGemm and runs the Reshapes on uint8', async () => {
    const fp32 = serialize(tokenNet(), { opset: 17 });
    // calibrated on the two rows of the evaluation input (this checks placement and kernels, not calibration)
    // (Samples are typed [C, H, W]; quantizeOnnx compares the per-sample shape with the input's, any rank)
    const rows = { description: 's', names: ['a', 'b'], shape: [6, 16] as unknown as Samples['shape'], data: [data.slice(0, 96), data.slice(96)] };
    const q = await quantizeOnnx(fp32, rows, { minReduction: 0 });
    const r = await runAll(fp32, q.bytes, feeds, 'fc2/bias', 'tokens');
    expect(r.fusedOps.get('QGemm')).toBe(2);
    expect(r.fusedOps.get('QLinearMatMul')).toBeUndefined();
    expect(r.fusedOps.get('QLinearSigmoid')).toBe(1);
    expect(r.fusedOps.get('QLinearMul')).toBe(1);
    expect(r.fusedOps.get('DequantizeLinear')).toBe(1); // the float output's only: every Reshape runs on uint8
    expect(relErr(r.ref, r.emulated)).toBeLessThan(0.05);
    expect(relErr(r.emulated, r.fused)).toBeLessThan(0.02);
  });

  it('must not fire: 1-D input, a MatMul output with a second use, a bias that broadcasts over rows, two symbolic dimensions', () => {
    const g = new Graph('no');
    const x2 = g.addInput('x2', { dtype: 'float32', shape: [16] });
    const x3 = g.addInput('x3', { dtype: 'float32', shape: [2, 6, 16] });
    const xs = g.addInput('xs', { dtype: 'float32', shape: ['N', 'T', 16] });
    const w = g.addInitializer('w', seeded([16, 8], 'w'));
    const mm = (name: string, x: Value, shape: Shape) => op(g, 'MatMul', name, [x, w], shape);
    const bias = (name: string, y: Value, b: Tensor, shape: Shape) => op(g, 'Add', `${name}/bias`, [y, g.addConstant(`${name}.b`, b)], shape);
    g.outputs.push(bias('one_d', mm('one_d', x2, [8]), seeded([8], 'b1'), [8]));
    const shared = mm('shared', x3, [2, 6, 8]);
    g.outputs.push(bias('shared', shared, seeded([8], 'b2'), [2, 6, 8]), shared);
    g.outputs.push(bias('rows', mm('rows', x3, [2, 6, 8]), seeded([6, 1], 'b3'), [2, 6, 8]));
    g.outputs.push(bias('sym', mm('sym', xs, ['N', 'T', 8]), seeded([8], 'b4'), ['N', 'T', 8]));
    expect(linearsToGemm(g)).toBe(0);
    expect(g.opHistogram().get('Gemm')).toBeUndefined();
  });
});
