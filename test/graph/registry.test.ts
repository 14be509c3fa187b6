/**
 * Walks the op registry: for every entry with a shape rule or a folding kernel, a generated case
 * runs on onnxruntime (every input an initializer, graph optimizations off) and the entry's
 * inference must give onnxruntime's dtype and dims, its kernel onnxruntime's elements (exactly for
 * data movement and +−×÷, within 2 float32 ulps for transcendental functions, to 1e-6 for
 * MatMul, which sums in float64 where onnxruntime sums in float32). A new entry
 * without a case here fails the first test.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import { legalize } from '../../src/onnx/legalize.js';
import { Graph, attr, type Attrs } from '../../src/graph/ir.js';
import { evaluate } from '../../src/graph/kernels.js';
import { getOp, opNames } from '../../src/graph/ops/index.js';
import { inferTypes } from '../../src/graph/shapes.js';
import { Tensor } from '../../src/graph/tensor.js';
import { serialize } from '../../src/onnx/serialize.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { seeded } from '../helpers/graphs.js';

/** approx: true = within 2 ulps (transcendentals); 'sum' = |Δ| ≤ 1e-6 + 1e-6·|ref| (float64 vs float32 accumulation order). */
interface Case { inputs: (Tensor | null)[]; attrs?: Attrs; opset?: number; outputs?: number; approx?: boolean | 'sum' }

const s = (shape: number[], seed = 'a') => seeded(shape, seed);
const pos = (shape: number[], seed = 'p') => { const t = seeded(shape, seed); const d = t.data as Float32Array; for (let i = 0; i < d.length; i++) d[i] = Math.abs(d[i]!) + 0.1; return t; };
const i64 = (v: number[], shape?: number[]) => Tensor.i64(v, shape);
const ints = attr.ints, int = attr.int;
const bools = (v: number[], shape = [v.length]) => new Tensor('bool', shape, Uint8Array.from(v));

const CASES: Record<string, Case> = {
  Abs: { inputs: [s([2, 3])] }, Neg: { inputs: [i64([3, -4, 0])] }, Relu: { inputs: [s([4, 5])] },
  Sqrt: { inputs: [pos([7])], approx: true }, Reciprocal: { inputs: [pos([7])] }, Exp: { inputs: [s([9])], approx: true },
  Sigmoid: { inputs: [s([9])], approx: true }, Tanh: { inputs: [s([9])], approx: true }, Erf: { inputs: [s([6])] },
  Gelu: { inputs: [s([6])], attrs: { approximate: attr.string('tanh') }, opset: 20 },
  Identity: { inputs: [i64([1, 2])] }, Dropout: { inputs: [s([2, 2])] },
  Add: { inputs: [s([2, 3, 4]), s([3, 1], 'b')] }, Sub: { inputs: [i64([5, 7]), i64([9])] }, Mul: { inputs: [s([4, 1, 3]), s([2, 1], 'b')] },
  Div: { inputs: [i64([7, -7, 9]), i64([2, 2, -4])] }, Pow: { inputs: [pos([5]), s([5], 'b')], approx: true },
  Softmax: { inputs: [s([2, 5])], attrs: { axis: int(0) } },
  Equal: { inputs: [i64([1, 2, 3]), i64([2])] }, Greater: { inputs: [s([2, 3]), s([3], 'b')] }, Less: { inputs: [s([2, 3]), s([1], 'b')] },
  GreaterOrEqual: { inputs: [i64([1, 2, 3]), i64([2])] }, LessOrEqual: { inputs: [s([3, 1]), s([2], 'b')] },
  And: { inputs: [bools([1, 0, 1, 1], [2, 2]), bools([1, 1])] }, Or: { inputs: [bools([1, 0, 0, 0], [2, 2]), bools([0, 1])] }, Xor: { inputs: [bools([1, 0]), bools([1])] },
  Not: { inputs: [bools([1, 0, 1])] }, Where: { inputs: [bools([1, 0, 1], [3, 1]), s([3, 2]), s([2], 'b')] },
  Cast: { inputs: [i64([3, -2, 40])], attrs: { to: int(1) } },
  Conv: { inputs: [s([1, 4, 9, 8]), s([6, 2, 3, 3], 'w'), s([6], 'b')], attrs: { group: int(2), strides: ints([2, 1]), pads: ints([1, 0, 2, 1]), dilations: ints([1, 2]) } },
  ConvTranspose: { inputs: [s([1, 4, 5, 5]), s([4, 3, 3, 3], 'w')], attrs: { strides: ints([2, 2]), pads: ints([1, 1, 0, 0]), output_padding: ints([1, 0]) } },
  BatchNormalization: { inputs: [s([2, 3, 4]), s([3], 'g'), s([3], 'b'), s([3], 'm'), pos([3], 'v')] },
  LayerNormalization: { inputs: [s([2, 3, 4]), s([3, 4], 'g'), s([3, 4], 'b')], attrs: { axis: int(1) } },
  MatMul: { inputs: [s([3, 7]), s([7, 4], 'b')], approx: 'sum' }, Gemm: { inputs: [s([7, 3]), s([4, 7], 'b'), s([4], 'c')], attrs: { transA: int(1), transB: int(1) } },
  AveragePool: { inputs: [s([1, 2, 7, 6])], attrs: { kernel_shape: ints([3, 2]), strides: ints([2, 2]), ceil_mode: int(1) } },
  MaxPool: { inputs: [s([1, 2, 7, 6])], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), auto_pad: attr.string('NOTSET') } },
  GlobalAveragePool: { inputs: [s([2, 3, 4, 5])] },
  ReduceSum: { inputs: [s([2, 3, 4]), i64([-1, 0])], attrs: { keepdims: int(0) } },
  ReduceMean: { inputs: [s([2, 3, 4])], attrs: { axes: ints([1]) } }, ReduceMax: { inputs: [s([2, 3, 4])], attrs: { axes: ints([0, 2]), keepdims: int(0) } },
  Reshape: { inputs: [s([2, 3, 4]), i64([0, -1, 2])] }, Flatten: { inputs: [s([2, 3, 4])], attrs: { axis: int(-1) } },
  Unsqueeze: { inputs: [i64([1, 2, 3]), i64([0, -1])] }, Squeeze: { inputs: [s([1, 3, 1]), i64([2])] },
  Transpose: { inputs: [s([2, 3, 4, 5])], attrs: { perm: ints([3, 0, 2, 1]) } },
  Concat: { inputs: [i64([1, 2, 3, 4], [2, 2]), i64([5, 6], [2, 1])], attrs: { axis: int(-1) } },
  Split: { inputs: [s([2, 7]), i64([3, 4])], attrs: { axis: int(1) }, outputs: 2 },
  Slice: { inputs: [s([4, 9]), i64([3, -2]), i64([-10, 1]), i64([0, 1]), i64([-1, -3])] },
  Gather: { inputs: [s([3, 5]), i64([4, -1, 0, 2], [2, 2])], attrs: { axis: int(1) } },
  Pad: { inputs: [s([2, 3]), i64([1, 0, 0, 2]), Tensor.scalarF32(0.5)] },
  Expand: { inputs: [s([3, 1]), i64([2, 3, 4])] },
  Resize: { inputs: [s([1, 1, 3, 4]), null, Tensor.f32([4], [1, 1, 2, 1.5])], attrs: { mode: attr.string('nearest') } },
  Constant: { inputs: [], attrs: { value_ints: ints([3, 1, 4]) } },
  Shape: { inputs: [s([2, 3, 4, 5])], attrs: { start: int(1), end: int(-1) } },
  LogSoftmax: { inputs: [s([2, 5])], attrs: { axis: int(0) } }, PRelu: { inputs: [s([2, 3, 4]), s([3, 1], 'b')] },
  Clip: { inputs: [s([5]), Tensor.scalarF32(-0.5), Tensor.scalarF32(0.5)] },
  Max: { inputs: [s([2, 3]), s([3], 'b'), s([1, 1], 'c')] }, Min: { inputs: [s([2, 3]), s([3], 'b')] },
  Sum: { inputs: [s([3]), s([2, 1], 'b')] }, Mean: { inputs: [s([2, 3]), s([3], 'b')] },
  ReduceMin: { inputs: [s([2, 3, 4])], attrs: { axes: ints([1]) } }, ReduceProd: { inputs: [s([2, 3, 4])], attrs: { axes: ints([1]), keepdims: int(0) } },
  ReduceL1: { inputs: [s([2, 3, 4])], attrs: { axes: ints([0]) } }, ReduceL2: { inputs: [s([2, 3, 4])] },
  ReduceLogSum: { inputs: [pos([2, 3, 4])], attrs: { axes: ints([2]) } }, ReduceLogSumExp: { inputs: [s([2, 3, 4])], attrs: { axes: ints([0, 1]) } },
  ReduceSumSquare: { inputs: [s([2, 3, 4])], attrs: { axes: ints([-1]), keepdims: int(0) } },
  Size: { inputs: [s([2, 3])] },
  Log: { inputs: [pos([2, 3])] },
  Floor: { inputs: [s([2, 3])] },
  Ceil: { inputs: [s([2, 3])] },
  Round: { inputs: [s([2, 3])] },
  Sign: { inputs: [s([2, 3])] },
  Sin: { inputs: [s([2, 3])] },
  Cos: { inputs: [s([2, 3])] },
  Softplus: { inputs: [s([2, 3])] },
  Softsign: { inputs: [s([2, 3])] },
  HardSwish: { inputs: [s([2, 3])] },
  HardSigmoid: { inputs: [s([2, 3])] },
  Elu: { inputs: [s([2, 3])] },
  LeakyRelu: { inputs: [s([2, 3])] },
  ConstantOfShape: { inputs: [i64([2, 3])], attrs: { value: attr.tensor(Tensor.i64([7], [1])) } },
  Range: { inputs: [Tensor.scalarF32(1), Tensor.scalarF32(4), Tensor.scalarF32(0.7)] },
  GatherElements: { inputs: [s([3, 4]), i64([0, 2, 1, 1, 2, 0], [3, 2])], attrs: { axis: int(1) } },
  TopK: { inputs: [s([2, 7]), i64([3])], attrs: { axis: int(1) }, outputs: 2 },
  InstanceNormalization: { inputs: [s([2, 3, 4, 5]), s([3], 'g'), s([3], 'b')] },
  QuantizeLinear: { inputs: [s([2, 3, 4]), Tensor.f32([3], [0.02, 0.05, 0.1]), new Tensor('int8', [3], Int8Array.from([0, -3, 5]))], attrs: { axis: int(1) } },
  DequantizeLinear: { inputs: [new Tensor('uint8', [2, 3], Uint8Array.from([0, 7, 128, 255, 3, 9])), Tensor.scalarF32(0.05), new Tensor('uint8', [], Uint8Array.from([128]))] },
};

const covered = opNames().filter((n) => getOp(n)!.infer || getOp(n)!.fold);

/** float32 ulp distance, as a difference of ordered integer representations. */
function ulps(a: number, b: number): number {
  const f = new Float32Array([a, b]);
  const u = new Int32Array(f.buffer);
  const ord = (x: number) => (x < 0 ? -0x80000000 - x : x);
  return Math.abs(ord(u[0]!) - ord(u[1]!));
}

describe('op registry: inference and folding agree with onnxruntime', () => {
  it('every entry with a shape rule or kernel has a case', () => {
    expect(covered.filter((n) => !CASES[n])).toEqual([]);
  });

  for (const op of covered) {
    const c = CASES[op];
    if (!c) continue;
    it(op, async () => {
      const g = new Graph(op);
      const ins = c.inputs.map((t, i) => (t ? g.addInitializer(`c${i}`, t) : null));
      const types = inferTypes(op, ins.map((v) => ({ type: v?.type ?? null, constant: v?.constant ?? null })), c.attrs ?? {});
      const n = g.addNode(op, ins, types.slice(0, c.outputs ?? 1), { name: op, attrs: c.attrs ?? {} });
      g.outputs.push(...n.outputs);
      const ref = await runOnnx(serialize(g, { opset: c.opset ?? 17 }), {});
      n.outputs.forEach((o, i) => {
        const r = ref[o.name]!;
        expect(`${o.dtype}[${o.shape}]`, `inference for output ${i}`).toBe(`${r.dtype}[${r.dims}]`);
      });
      if (!getOp(op)!.fold) return;
      const ours = evaluate(op, c.inputs, c.attrs ?? {});
      expect(ours, 'the kernel folds this case').not.toBeNull();
      ours!.slice(0, n.outputs.length).forEach((t, i) => {
        const r = ref[n.outputs[i]!.name]!;
        expect(`${t.dtype}[${t.shape}]`).toBe(`${r.dtype}[${r.dims}]`);
        const a = Array.from(t.data as ArrayLike<number | bigint>), b = Array.from(r.data as ArrayLike<number | bigint>);
        if (c.approx === 'sum') a.forEach((x, j) => expect(Math.abs((x as number) - (b[j] as number)), `element ${j}`).toBeLessThanOrEqual(1e-6 + 1e-6 * Math.abs(b[j] as number)));
        else if (c.approx) a.forEach((x, j) => expect(ulps(x as number, b[j] as number), `element ${j}: ${x} vs ${b[j]}`).toBeLessThanOrEqual(2));
        else expect(a).toEqual(b);
      });
    });
  }
});

describe('op registry: opset rules', () => {
  it('every op onnx/legalize.ts documents has its rewrite in the registry', () => {
    const doc = readFileSync(new URL('../../src/onnx/legalize.ts', import.meta.url), 'utf8').split('*/')[0]!;
    const documented = [...new Set(doc.match(/\b(Gelu|LayerNormalization|Reduce[A-Za-z0-9]+|Squeeze|Unsqueeze|Split|Pad|Resize|AveragePool|Cast|GroupNormalization)\b/g))];
    expect(documented.length).toBeGreaterThan(10);
    expect(documented.filter((op) => !getOp(op)?.opsets)).toEqual([]);
  });

  it('Cast drops `saturate` below opset 19 (a rule the registry must carry)', () => {
    const b = Builder.create('cast');
    const x = b.input('x', { dtype: 'float32', shape: [2] });
    b.g.outputs.push(b.op('Cast', [x], { to: int(10), saturate: int(1) }));
    legalize(b.g, 17);
    expect([...b.g.nodes][0]!.attrs['saturate']).toBeUndefined();
  });
});
