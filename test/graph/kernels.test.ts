/** Constant-folding kernels agree with onnxruntime on the same op. */
import { describe, expect, it } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import { attr, type Attrs } from '../../src/graph/ir.js';
import { evaluate } from '../../src/graph/kernels.js';
import { floatToHalf, halfToFloat, Tensor } from '../../src/graph/tensor.js';
import { serialize } from '../../src/onnx/serialize.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { expectClose, seeded } from '../helpers/graphs.js';

interface Case { op: string; inputs: Tensor[]; attrs?: Attrs; constInputs?: number[] }

async function viaOrt(c: Case): Promise<Float32Array> {
  const b = Builder.create('k');
  const feeds: Record<string, { dtype: 'float32'; dims: number[]; data: Float32Array }> = {};
  const ins = c.inputs.map((t, i) => {
    if (c.constInputs?.includes(i) || t.dtype !== 'float32') return b.constant(`c${i}`, t);
    feeds[`in${i}`] = { dtype: 'float32', dims: [...t.shape], data: t.data as Float32Array };
    return b.input(`in${i}`, { dtype: 'float32', shape: t.shape });
  });
  b.g.outputs.push(b.op(c.op, ins, c.attrs ?? {}));
  const out = await runOnnx(serialize(b.g, { opset: 17 }), feeds);
  return Object.values(out)[0]!.data as Float32Array;
}

const i64 = (v: number[]) => Tensor.i64(v);
const cases: [string, Case][] = [
  ['Add broadcast', { op: 'Add', inputs: [seeded([2, 3, 4], 'a'), seeded([3, 1], 'b')] }],
  ['Mul broadcast', { op: 'Mul', inputs: [seeded([4, 1, 3, 3], 'a'), seeded([4, 1, 1, 1], 'b')] }],
  ['Div', { op: 'Div', inputs: [seeded([5], 'a'), seeded([5], 'b')] }],
  ['Sub', { op: 'Sub', inputs: [seeded([2, 5], 'a'), seeded([5], 'b')] }],
  ['Sqrt', { op: 'Sqrt', inputs: [Tensor.f32([4], [0.25, 1, 2, 9])] }],
  ['Transpose', { op: 'Transpose', inputs: [seeded([2, 3, 4, 5], 'a')], attrs: { perm: attr.ints([0, 2, 3, 1]) } }],
  ['Reshape', { op: 'Reshape', inputs: [seeded([2, 3, 4], 'a'), i64([6, -1])] }],
  ['Gather axis 1', { op: 'Gather', inputs: [seeded([3, 9], 'a'), Tensor.i64([8, 0, 4, 4, 1, 2], [2, 3])], attrs: { axis: attr.int(1) } }],
  ['Slice strided', { op: 'Slice', inputs: [seeded([2, 3, 8, 8], 'a'), i64([0, 1]), i64([8, 8]), i64([2, 3]), i64([2, 3])] }],
  ['Pad', { op: 'Pad', inputs: [seeded([2, 1, 3, 3], 'a'), i64([0, 0, 2, 1, 0, 0, 2, 3])] }],
  ['Concat', { op: 'Concat', inputs: [seeded([2, 3], 'a'), seeded([2, 5], 'b')], attrs: { axis: attr.int(1) } }],
  ['MatMul', { op: 'MatMul', inputs: [seeded([3, 7], 'a'), seeded([7, 4], 'b')] }],
  ['ReduceMean', { op: 'ReduceMean', inputs: [seeded([2, 3, 4], 'a')], attrs: { axes: attr.ints([0, 2]), keepdims: attr.int(0) } }],
  ['ReduceSum', { op: 'ReduceSum', inputs: [seeded([2, 3, 4], 'a'), i64([1])], attrs: { keepdims: attr.int(1) }, constInputs: [1] }],
  ['Unsqueeze', { op: 'Unsqueeze', inputs: [seeded([3, 4], 'a'), i64([0, 3])] }],
];

describe('constant-folding kernels match onnxruntime', () => {
  for (const [name, c] of cases) {
    it(name, async () => {
      const ours = evaluate(c.op, c.inputs, c.attrs ?? {})![0]!;
      const ref = await viaOrt(c);
      expectClose(ours.data as Float32Array, ref, 1e-6, 1e-6);
    });
  }

  it('int64 arithmetic stays int64', () => {
    const r = evaluate('Mul', [Tensor.i64([2, 3]), Tensor.i64([4])], {})![0]!;
    expect(r.dtype).toBe('int64');
    expect(r.toNumbers()).toEqual([8, 12]);
  });

  it('float16 conversion rounds to nearest even and round-trips', () => {
    for (const v of [0, 1, -2.5, 65504, 6.1035e-5, 5.96e-8, 0.1, 1e6]) {
      const h = floatToHalf(v);
      expect(Math.abs(halfToFloat(h) - v)).toBeLessThanOrEqual(Math.abs(v) > 65504 ? Infinity : Math.max(Math.abs(v) * 2 ** -11, 2 ** -25));
    }
    expect(halfToFloat(floatToHalf(1e6))).toBe(Infinity);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
  });
});
