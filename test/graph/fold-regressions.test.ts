/**
 * Regression tests for constant-folding and shape-inference bugs found on foreign graphs (issue 12).
 * Oracle: onnxruntime running the same op with graph optimizations disabled (runtime/ort.ts), and
 * the ONNX operator specification where onnxruntime rejects the node.
 */
import { describe, expect, it } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import { attr, type Attrs, Graph } from '../../src/graph/ir.js';
import { evaluate } from '../../src/graph/kernels.js';
import { inferTypes, ShapeError } from '../../src/graph/shapes.js';
import { Tensor } from '../../src/graph/tensor.js';
import { serialize } from '../../src/onnx/serialize.js';
import { FoldMismatchError, foldConstants } from '../../src/passes/fold-constants.js';
import { type HostTensor, runOnnx } from '../../src/runtime/ort.js';

/** Runs `op` on onnxruntime with every input an initializer; returns its first output. */
async function ort(op: string, inputs: Tensor[], attrs: Attrs = {}, opset = 17): Promise<HostTensor> {
  const b = Builder.create('k');
  const ins = inputs.map((t, i) => b.constant(`c${i}`, t));
  b.g.outputs.push(b.op(op, ins, attrs));
  const out = await runOnnx(serialize(b.g, { opset }), {});
  return Object.values(out)[0]!;
}

/** Folds `op` with our kernels; expects dtype, dims and elements to equal onnxruntime's. */
async function expectFoldMatchesOrt(op: string, inputs: Tensor[], attrs: Attrs = {}): Promise<void> {
  const ours = evaluate(op, inputs, attrs);
  expect(ours, `${op} should fold`).not.toBeNull();
  const ref = await ort(op, inputs, attrs);
  expect(ours![0]!.dtype).toBe(ref.dtype);
  expect([...ours![0]!.shape]).toEqual([...ref.dims]);
  expect(Array.from(ours![0]!.data as ArrayLike<number | bigint>)).toEqual(Array.from(ref.data as ArrayLike<number | bigint>));
}

const f32 = (shape: number[], v: number[]) => Tensor.f32(shape, v);
const INT64_MAX = 9223372036854775807n;

describe('folding Cast keeps the target dtype', () => {
  const x = f32([5], [-2.75, -0.5, 0, 1.5, 3e9]);
  it('Cast to float64 folds into a float64 tensor equal to onnxruntime', () => expectFoldMatchesOrt('Cast', [x], { to: attr.int(11) }));
  it('Cast to bool folds into bool', () => expectFoldMatchesOrt('Cast', [x], { to: attr.int(9) }));
  it('Cast to int64 truncates toward zero like onnxruntime', () => expectFoldMatchesOrt('Cast', [f32([4], [-2.75, -0.5, 1.5, 7.99])], { to: attr.int(7) }));
  it('Cast to bfloat16 and int8 is not folded (declined, never approximated)', () => {
    expect(evaluate('Cast', [x], { to: attr.int(16) })).toBeNull();
    expect(evaluate('Cast', [x], { to: attr.int(3) })).toBeNull();
  });
  it('Cast of an out-of-range value to int32 is declined', () => {
    expect(evaluate('Cast', [x], { to: attr.int(6) })).toBeNull();
  });
});

describe('folding Pad respects mode', () => {
  const x = f32([1, 4], [1, 2, 3, 4]);
  const pads = Tensor.i64([0, 2, 0, 1]);
  it('reflect / edge Pads are not folded', () => {
    expect(evaluate('Pad', [x, pads], { mode: attr.string('reflect') })).toBeNull();
    expect(evaluate('Pad', [x, pads], { mode: attr.string('edge') })).toBeNull();
  });
  it('a graph with a constant reflect Pad gives onnxruntime\'s result after fold-constants', async () => {
    const b = Builder.create('pad');
    const inp = b.input('x', { dtype: 'float32', shape: [1, 7] });
    const p = b.op('Pad', [b.constant('w', x), b.constant('pads', pads)], { mode: attr.string('reflect') });
    b.g.outputs.push(b.add(inp, p));
    const feeds = { x: { dtype: 'float32' as const, dims: [1, 7], data: new Float32Array(7) } };
    const before = await runOnnx(serialize(b.g, { opset: 17 }), feeds);
    foldConstants.run(b.g);
    const after = await runOnnx(serialize(b.g, { opset: 17 }), feeds);
    expect(Array.from(Object.values(after)[0]!.data as Float32Array)).toEqual(Array.from(Object.values(before)[0]!.data as Float32Array));
  });
  it('constant Pad still folds exactly', () => expectFoldMatchesOrt('Pad', [x, pads, Tensor.scalarF32(-1)], { mode: attr.string('constant') }));
});

describe('folding Slice', () => {
  const x = f32([2, 6], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  it('negative steps match onnxruntime', () => expectFoldMatchesOrt('Slice', [x, Tensor.i64([-1]), Tensor.i64([-100]), Tensor.i64([1]), Tensor.i64([-2])]));
  it('negative step from the end over two axes', () => expectFoldMatchesOrt('Slice', [x, Tensor.i64([1, 4]), Tensor.i64([-3, 0]), Tensor.i64([0, 1]), Tensor.i64([-1, -1])]));
  it('INT64_MAX as "to the end" (what exporters write) matches onnxruntime', () => {
    const ends = new Tensor('int64', [1], BigInt64Array.of(INT64_MAX));
    return expectFoldMatchesOrt('Slice', [x, Tensor.i64([2]), ends, Tensor.i64([1])]);
  });
  it('shape inference agrees on a negative step', () => {
    const [t] = inferTypes('Slice', [
      { type: { dtype: 'float32', shape: [2, 6] }, constant: null },
      ...[[5], [0], [1], [-2]].map((v) => ({ type: { dtype: 'int64' as const, shape: [1] }, constant: Tensor.i64(v) })),
    ], {});
    expect(t!.shape).toEqual([2, 3]);
  });
});

describe('folding Gather', () => {
  it('an out-of-range index is not folded (onnxruntime rejects it; folding gave NaN)', async () => {
    const x = f32([3, 2], [1, 2, 3, 4, 5, 6]);
    const idx = Tensor.i64([0, 3]);
    expect(evaluate('Gather', [x, idx], {})).toBeNull();
    await expect(ort('Gather', [x, idx])).rejects.toThrow();
  });
  it('negative indices in range fold like onnxruntime', () => expectFoldMatchesOrt('Gather', [f32([3, 2], [1, 2, 3, 4, 5, 6]), Tensor.i64([-1, 0])], { axis: attr.int(0) }));
  it('int64 data (shape chains) folds exactly', () => expectFoldMatchesOrt('Gather', [Tensor.i64([1, 3, 224, 224]), Tensor.i64([2], [])]));
});

describe('folding MatMul', () => {
  it('0 · Inf is NaN, as in onnxruntime (zeros were skipped)', async () => {
    const a = f32([1, 2], [0, 1]), b = f32([2, 1], [Infinity, 2]);
    const ours = evaluate('MatMul', [a, b], {})![0]!;
    const ref = await ort('MatMul', [a, b]);
    expect(Number.isNaN((ours.data as Float32Array)[0])).toBe(true);
    expect(Number.isNaN((ref.data as Float32Array)[0])).toBe(true);
  });
  it('batched MatMul is declined rather than throwing', () => {
    expect(evaluate('MatMul', [f32([2, 1, 1], [1, 2]), f32([1, 1], [3])], {})).toBeNull();
  });
});

describe('shape inference', () => {
  const x = (shape: number[]) => ({ type: { dtype: 'float32' as const, shape }, constant: null });
  const w = (shape: number[]) => ({ type: { dtype: 'float32' as const, shape }, constant: new Tensor('float32', shape) });

  for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
    it(`Conv and AveragePool honour auto_pad=${autoPad} (onnxruntime's output shape)`, async () => {
      const attrs = { auto_pad: attr.string(autoPad), kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]) };
      const [conv] = inferTypes('Conv', [x([1, 3, 8, 7]), w([4, 3, 3, 3])], attrs);
      const [pool] = inferTypes('AveragePool', [x([1, 3, 8, 7])], attrs);
      const b = Builder.create('ap');
      const inp = b.input('x', { dtype: 'float32', shape: [1, 3, 8, 7] });
      const g = b.g;
      const c = g.addNode('Conv', [inp, b.constant('w', new Tensor('float32', [4, 3, 3, 3]))], [conv!], { name: 'conv', attrs }).output;
      const p = g.addNode('AveragePool', [inp], [pool!], { name: 'pool', attrs }).output;
      g.outputs.push(c, p);
      const out = await runOnnx(serialize(g, { opset: 17 }), { x: { dtype: 'float32', dims: [1, 3, 8, 7], data: new Float32Array(168) } });
      expect(conv!.shape).toEqual(out[c.name]!.dims);
      expect(pool!.shape).toEqual(out[p.name]!.dims);
    });
  }

  it('Transpose perm values out of range are a ShapeError', () => {
    expect(() => inferTypes('Transpose', [x([1, 2, 3])], { perm: attr.ints([0, 1, 5]) })).toThrow(ShapeError);
    expect(() => inferTypes('Transpose', [x([1, 2, 3])], { perm: attr.ints([0, -1, 1]) })).toThrow(ShapeError);
  });

  it('rank assumptions are checked: a ShapeError, not a RangeError', () => {
    const bn = [x([]), x([1]), x([1]), x([1]), x([1])];
    expect(() => inferTypes('GlobalAveragePool', [x([])], {})).toThrow(ShapeError);
    expect(() => inferTypes('BatchNormalization', bn, {})).toThrow(ShapeError);
    for (const shape of [[], [4]]) {
      const attrs = { kernel_shape: attr.ints([3]) };
      expect(() => inferTypes('Conv', [x(shape), w([2, 4, 3])], attrs), `Conv ${shape}`).toThrow(ShapeError);
      expect(() => inferTypes('ConvTranspose', [x(shape), w([4, 2, 3])], attrs), `ConvTranspose ${shape}`).toThrow(ShapeError);
      expect(() => inferTypes('AveragePool', [x(shape)], attrs), `AveragePool ${shape}`).toThrow(ShapeError);
    }
  });
});

describe('fold-constants checks what it replaces', () => {
  it('a folded value whose dtype or shape differs from the value it replaces throws', () => {
    const g = new Graph('bad');
    const c = g.addInitializer('c', f32([2], [1, 2]));
    const n = g.addNode('Relu', [c], [{ dtype: 'float32', shape: [3] }], { name: 'relu' });
    g.addNode('Identity', [n.output], [{ dtype: 'float32', shape: [3] }], { name: 'id', outputNames: ['y'] });
    g.outputs.push(g.value('y')!);
    expect(() => foldConstants.run(g)).toThrow(FoldMismatchError);
  });
});
