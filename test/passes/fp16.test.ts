/**
 * The fp16 pass on the every-op graph: exact structure (which ops read float16, which float32,
 * where the Casts are, which initializers changed type and kept their names), results within a
 * stated tolerance of the float32 graph on onnxruntime CPU at opsets 13, 17 and 20, float16 I/O,
 * determinism and the overflow error.
 */
import { describe, expect, it } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import { floatToHalf, halfToFloat, Tensor } from '../../src/graph/tensor.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { legalize } from '../../src/onnx/legalize.js';
import { serialize } from '../../src/onnx/serialize.js';
import { Fp16Error, halfTensor, toFloat16 } from '../../src/passes/fp16.js';
import { type HostTensor, runOnnx } from '../../src/runtime/ort.js';
import { everyOpGraph } from '../helpers/every-op.js';
import { seeded } from '../helpers/graphs.js';

const X = seeded([2, 4, 8, 8], 'fp16-input');

function asF32(t: HostTensor): Float32Array {
  return t.dtype === 'float16' ? Float32Array.from(t.data as Uint16Array, halfToFloat) : (t.data as Float32Array);
}

async function run(g: Graph, opset: number, io: 'float32' | 'float16' = 'float32'): Promise<Float32Array[]> {
  legalize(g, opset);
  verifyGraph(g);
  const data = X.data as Float32Array;
  const feed: HostTensor = io === 'float16'
    ? { dtype: 'float16', dims: [2, 4, 8, 8], data: Uint16Array.from(data, floatToHalf) }
    : { dtype: 'float32', dims: [2, 4, 8, 8], data };
  const out = await runOnnx(serialize(g, { opset }), { input: feed });
  return ['logits', 'stats'].map((k) => asF32(out[k]!));
}

/** max |a − b| relative to max |b|. */
function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i]! - b[i]!)); m = Math.max(m, Math.abs(b[i]!)); }
  return d / m;
}

const readers = (g: Graph, op: string) => [...g.nodes].filter((n) => n.op === op).map((n) => n.input(0).dtype);

describe('fp16 pass', () => {
  it('has the exact structure: float16 compute, float32 sensitive ops, Casts only at the borders', () => {
    const g = everyOpGraph();
    const inits = new Map([...g.initializers].map(([k, v]) => [k, v.dtype]));
    const s = toFloat16(g, { opset: 17 });
    verifyGraph(g);
    expect(g.inputs[0]!.dtype).toBe('float32');
    expect(g.outputs.map((v) => [v.name, v.dtype])).toEqual([['logits', 'float32'], ['stats', 'float32']]);
    for (const op of ['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'LayerNormalization', 'Gelu', 'BatchNormalization', 'Resize', 'Pad', 'ReduceMax']) {
      expect(readers(g, op).every((d) => d === 'float16'), op).toBe(true);
    }
    for (const op of ['Softmax', 'ReduceMean', 'ReduceSum', 'GlobalAveragePool']) expect(readers(g, op), op).toEqual(['float32']);
    expect([...g.nodes].find((n) => n.op === 'LayerNormalization')!.attrInt('stash_type')).toBe(1);
    // input 1, Softmax 2, the shared ReduceMean/ReduceSum input 1 + their outputs 2, GlobalAveragePool 2, outputs 2
    expect(s.casts).toBe(10);
    expect(g.opHistogram().get('Cast')).toBe(10 + 2); // plus the graph's own two Casts, now to float16
    expect(s.keptFp32).toBe(4);
    // every float initializer is float16 under its own name, except Resize's scales (float32 by definition)
    for (const [name, dtype] of inits) {
      const v = g.initializers.get(name)!;
      expect(v, name).toBeDefined();
      if (dtype === 'float32') expect(v.dtype, name).toBe(name === 'scales' ? 'float32' : 'float16');
    }
    expect(g.metadata.get('vitx.dtype')).toBe('float16');
  });

  it('matches the float32 graph on onnxruntime CPU within 3e-3 · max|y| (observed 7e-4) at opsets 13, 17 and 20', async () => {
    for (const opset of [13, 17, 20]) {
      const ref = await run(everyOpGraph(), opset);
      const g = everyOpGraph();
      toFloat16(g, { opset });
      if (opset < 17) expect(readers(g, 'LayerNormalization')).toEqual(['float32']);
      const got = await run(g, opset);
      got.forEach((o, i) => expect(relErr(o, ref[i]!), `opset ${opset} output ${i}`).toBeLessThan(3e-3));
    }
  });

  it('io fp16: float16 inputs and outputs, no boundary Casts', async () => {
    const g = everyOpGraph();
    const s = toFloat16(g, { io: 'fp16', opset: 20 });
    expect(s.casts).toBe(7);
    expect([g.inputs[0]!.dtype, ...g.outputs.map((v) => v.dtype)]).toEqual(['float16', 'float16', 'float16']);
    expect(g.outputs.map((v) => v.name)).toEqual(['logits', 'stats']);
    const ref = await run(everyOpGraph(), 20);
    const got = await run(g, 20, 'float16');
    got.forEach((o, i) => expect(relErr(o, ref[i]!)).toBeLessThan(3e-3));
  });

  it('is deterministic', () => {
    const write = () => { const g = everyOpGraph(); toFloat16(g, { opset: 17 }); legalize(g, 17); return Buffer.from(serialize(g, { opset: 17 })); };
    expect(write().equals(write())).toBe(true);
  });

  it('converts weights exactly as the scalar float16 rounding does (normals, subnormals, ties, ±0)', () => {
    const n = 1 << 18;
    const a = new Float32Array(n);
    const bits = new Uint32Array(a.buffer);
    for (let i = 0; i < n; i++) bits[i] = Math.imul(i, 2654435761) >>> 0;
    for (let i = 0; i < n; i++) if (!Number.isFinite(a[i]!) || Math.abs(a[i]!) > 65000) a[i] = (i - n / 2) * 1e-3;
    a.set([65504, -65519, 6e-8, 3e-8, 1e-40, -0, 2049, 2051, 1 + 2 ** -11], 0);
    const h = halfTensor(new Tensor('float32', [n], a), 'w').data as Uint16Array;
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (h[i] !== floatToHalf(a[i]!)) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('refuses weights beyond the float16 range with a one-line error', () => {
    const b = Builder.create('big');
    const x = b.input('x', { dtype: 'float32', shape: [1, 4] });
    b.g.outputs.push(b.mul(x, b.constant('gain', Tensor.f32([4], [1, 2, 1e6, 3]))));
    expect(() => toFloat16(b.g)).toThrow(Fp16Error);
    expect(() => toFloat16(b.g)).toThrow(/^gain holds 1\.000e\+6, beyond float16's range \(65504\); export it as fp32$/);
  });
});
