/**
 * Reference CPU kernels over constant tensors: what constant folding evaluates. Passes never do
 * tensor arithmetic themselves; they emit ops over initializers and these kernels compute them,
 * so there is one set of numeric code to test.
 *
 * Floating results are float32 (each op rounds once, like onnxruntime); int64 stays int64.
 */
import type { Attr } from './ir.js';
import { broadcast } from './shapes.js';
import { type DType, halfToFloat, floatToHalf, numel, Tensor } from './tensor.js';

type Attrs = Readonly<Record<string, Attr>>;
export type Kernel = (inputs: readonly (Tensor | null)[], attrs: Attrs) => Tensor[];

function getInts(attrs: Attrs, name: string, dflt: number[]): number[] {
  const a = attrs[name];
  return a && a.kind === 'ints' ? [...a.value] : dflt;
}
function getInt(attrs: Attrs, name: string, dflt: number): number {
  const a = attrs[name];
  return a && a.kind === 'int' ? a.value : dflt;
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]!; }
  return s;
}

function nums(t: Tensor): Float64Array | Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  return Float64Array.from(t.toNumbers());
}

function make(dtype: DType, shape: readonly number[], values: ArrayLike<number>): Tensor {
  if (dtype === 'int64') return new Tensor('int64', shape, BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v)))));
  if (dtype === 'int32') return new Tensor('int32', shape, Int32Array.from(values));
  if (dtype === 'float16') return new Tensor('float16', shape, Uint16Array.from(Array.from(values, floatToHalf)));
  return new Tensor('float32', shape, Float32Array.from(values));
}

/**
 * Index map from an output position to an input position under broadcasting: an odometer over
 * the output shape that advances the input offset by its (zero for broadcast) strides.
 */
function broadcastIndex(outShape: readonly number[], inShape: readonly number[]): Int32Array {
  const n = numel(outShape);
  const r = outShape.length;
  const padded = [...Array(r - inShape.length).fill(1), ...inShape] as number[];
  const inStr = strides(padded).map((s, d) => (padded[d] === 1 ? 0 : s));
  const idx = new Int32Array(n);
  const ctr = new Array<number>(r).fill(0);
  let off = 0;
  for (let o = 0; o < n; o++) {
    idx[o] = off;
    for (let d = r - 1; d >= 0; d--) {
      ctr[d]!++;
      off += inStr[d]!;
      if (ctr[d]! < outShape[d]!) break;
      off -= inStr[d]! * ctr[d]!;
      ctr[d] = 0;
    }
  }
  return idx;
}

/**
 * Visits an output of `outShape` in runs: for each run, `body(o, offA, offB, n, sa, sb)` covers n
 * consecutive output elements starting at o, reading operand A from offA with stride sa and B
 * from offB with stride sb (0 where broadcast). Adjacent axes with compatible strides are merged,
 * so the innermost run is as long as possible.
 */
function forEachRun(outShape: readonly number[], aShape: readonly number[], bShape: readonly number[],
  body: (o: number, offA: number, offB: number, n: number, sa: number, sb: number) => void): void {
  const r = outShape.length;
  const pad = (sh: readonly number[]) => [...Array(r - sh.length).fill(1), ...sh] as number[];
  const pa = pad(aShape), pb = pad(bShape);
  const sa0 = strides(pa).map((v, d) => (pa[d] === 1 ? 0 : v));
  const sb0 = strides(pb).map((v, d) => (pb[d] === 1 ? 0 : v));
  // merge axis d into d+1 when both operands step contiguously across the boundary
  const dims: { n: number; sa: number; sb: number }[] = [];
  for (let d = 0; d < r; d++) {
    const cur = { n: outShape[d]!, sa: sa0[d]!, sb: sb0[d]! };
    const prev = dims[dims.length - 1];
    if (prev && prev.sa === cur.sa * cur.n && prev.sb === cur.sb * cur.n) { prev.n *= cur.n; prev.sa = cur.sa; prev.sb = cur.sb; }
    else if (cur.n !== 1 || dims.length === 0) dims.push(cur);
  }
  if (dims.length === 0) dims.push({ n: 1, sa: 0, sb: 0 });
  const inner = dims.pop()!;
  const outer = dims;
  const ctr = new Array<number>(outer.length).fill(0);
  let total = 1;
  for (const d of outer) total *= d.n;
  let offA = 0, offB = 0, o = 0;
  for (let run = 0; run < total; run++) {
    body(o, offA, offB, inner.n, inner.sa, inner.sb);
    o += inner.n;
    for (let d = outer.length - 1; d >= 0; d--) {
      const dim = outer[d]!;
      ctr[d]!++;
      offA += dim.sa; offB += dim.sb;
      if (ctr[d]! < dim.n) break;
      offA -= dim.sa * dim.n; offB -= dim.sb * dim.n;
      ctr[d] = 0;
    }
  }
}

function binary(f: (a: number, b: number) => number): Kernel {
  return ([a, b]) => {
    const shape = broadcast(a!.shape, b!.shape) as number[];
    const n = numel(shape);
    const x = nums(a!), y = nums(b!);
    const dtype = a!.dtype === 'int64' && b!.dtype === 'int64' ? 'int64' : a!.dtype;
    const out = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
    forEachRun(shape, a!.shape, b!.shape, (o, ia, ib, len, sa, sb) => {
      for (let k = 0; k < len; k++) out[o + k] = f(x[ia + k * sa]!, y[ib + k * sb]!);
    });
    return [out instanceof Float32Array ? new Tensor('float32', shape, out) : make(dtype, shape, out)];
  };
}

function unary(f: (a: number) => number): Kernel {
  return ([a]) => [make(a!.dtype, a!.shape, Array.from(nums(a!), f))];
}

function transpose(t: Tensor, perm: readonly number[]): Tensor {
  const inStr = strides(t.shape);
  const outShape = perm.map((p) => t.shape[p]!);
  const n = numel(outShape);
  const src = t.data as unknown as { [i: number]: unknown; constructor: new (n: number) => unknown };
  const out = new src.constructor(n) as { [i: number]: unknown };
  const r = perm.length;
  const step = perm.map((p) => inStr[p]!);
  const ctr = new Array<number>(r).fill(0);
  let off = 0;
  for (let o = 0; o < n; o++) {
    out[o] = src[off];
    for (let d = r - 1; d >= 0; d--) {
      ctr[d]!++;
      off += step[d]!;
      if (ctr[d]! < outShape[d]!) break;
      off -= step[d]! * ctr[d]!;
      ctr[d] = 0;
    }
  }
  return new Tensor(t.dtype, outShape, out as unknown as Tensor['data']);
}

function reshapeTarget(t: Tensor, target: number[]): number[] {
  const out = target.map((d, i) => (d === 0 ? t.shape[i]! : d));
  const hole = out.indexOf(-1);
  if (hole >= 0) out[hole] = t.size / numel(out.filter((d) => d !== -1));
  return out;
}

function axesOf(inputs: readonly (Tensor | null)[], attrs: Attrs, rank: number): number[] {
  const a = attrs['axes'];
  const axes = a && a.kind === 'ints' ? [...a.value] : inputs[1] ? inputs[1].toNumbers() : [...Array(rank).keys()];
  return axes.map((x) => (x < 0 ? x + rank : x));
}

function reduce(kind: 'sum' | 'mean' | 'max'): Kernel {
  return (inputs, attrs) => {
    const t = inputs[0]!;
    const r = t.shape.length;
    const axes = new Set(axesOf(inputs, attrs, r));
    const keep = getInt(attrs, 'keepdims', 1);
    const outShapeKeep = t.shape.map((d, i) => (axes.has(i) ? 1 : d));
    const n = numel(outShapeKeep);
    const acc = new Float64Array(n).fill(kind === 'max' ? -Infinity : 0);
    const x = nums(t);
    // walk the input in runs; "operand A" is the input itself, "operand B" the accumulator slot
    forEachRun(t.shape, t.shape, outShapeKeep, (o, _ia, ib, len, _sa, sb) => {
      for (let k = 0; k < len; k++) {
        const j = ib + k * sb;
        acc[j] = kind === 'max' ? Math.max(acc[j]!, x[o + k]!) : acc[j]! + x[o + k]!;
      }
    });
    if (kind === 'mean') { const cnt = t.size / n; for (let i = 0; i < n; i++) acc[i]! /= cnt; }
    const shape = keep ? outShapeKeep : t.shape.filter((_, i) => !axes.has(i));
    return [make(t.dtype, shape, acc)];
  };
}

export const KERNELS: Record<string, Kernel> = {
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b) => a / b),
  Pow: binary((a, b) => a ** b),
  Sqrt: unary(Math.sqrt),
  Neg: unary((a) => -a),
  Abs: unary(Math.abs),
  Reciprocal: unary((a) => 1 / a),
  Relu: unary((a) => Math.max(a, 0)),
  Sigmoid: unary((a) => 1 / (1 + Math.exp(-a))),
  Tanh: unary(Math.tanh),
  Exp: unary(Math.exp),
  Identity: ([a]) => [a!],

  Cast: ([a], attrs) => {
    const to = getInt(attrs, 'to', 1);
    const map: Record<number, DType> = { 1: 'float32', 10: 'float16', 7: 'int64', 6: 'int32' };
    return [make(map[to] ?? 'float32', a!.shape, a!.dtype === 'float16' ? Array.from(a!.data as Uint16Array, halfToFloat) : a!.toNumbers())];
  },

  Reshape: ([a, s]) => [a!.reshape(reshapeTarget(a!, s!.toNumbers()))],
  Flatten: ([a], attrs) => {
    const ax = getInt(attrs, 'axis', 1);
    return [a!.reshape([numel(a!.shape.slice(0, ax)), numel(a!.shape.slice(ax))])];
  },
  Unsqueeze: (inputs, attrs) => {
    const a = inputs[0]!;
    const axes = axesOf(inputs, attrs, a.shape.length + (attrs['axes'] ? getInts(attrs, 'axes', []).length : inputs[1]!.size));
    const r = a.shape.length + axes.length;
    const set = new Set(axes.map((x) => (x < 0 ? x + r : x)));
    const shape: number[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) shape.push(set.has(i) ? 1 : a.shape[j++]!);
    return [a.reshape(shape)];
  },
  Squeeze: (inputs, attrs) => {
    const a = inputs[0]!;
    const axes = new Set(axesOf(inputs, attrs, a.shape.length));
    return [a.reshape(a.shape.filter((_, i) => !axes.has(i)))];
  },
  Transpose: ([a], attrs) => [transpose(a!, getInts(attrs, 'perm', [...a!.shape.keys()].reverse()))],

  Concat: (inputs, attrs) => {
    const ts = inputs as Tensor[];
    const r = ts[0]!.shape.length;
    let axis = getInt(attrs, 'axis', 0);
    if (axis < 0) axis += r;
    const outer = numel(ts[0]!.shape.slice(0, axis));
    const shape = [...ts[0]!.shape];
    shape[axis] = ts.reduce((s, t) => s + t.shape[axis]!, 0);
    const out: number[] = [];
    const parts = ts.map((t) => ({ v: t.dtype === 'int64' ? t.toNumbers() : Array.from(nums(t)), inner: numel(t.shape.slice(axis)) }));
    for (let o = 0; o < outer; o++) for (const p of parts) for (let i = 0; i < p.inner; i++) out.push(p.v[o * p.inner + i]!);
    return [make(ts[0]!.dtype, shape, out)];
  },

  Gather: ([a, idx], attrs) => {
    const t = a!;
    let axis = getInt(attrs, 'axis', 0);
    if (axis < 0) axis += t.shape.length;
    const ind = idx!.toNumbers().map((i) => (i < 0 ? i + t.shape[axis]! : i));
    const outer = numel(t.shape.slice(0, axis));
    const inner = numel(t.shape.slice(axis + 1));
    const n = t.shape[axis]!;
    const src = t.dtype === 'int64' ? t.toNumbers() : nums(t);
    const out = new Float64Array(outer * ind.length * inner);
    let p = 0;
    for (let o = 0; o < outer; o++) for (const i of ind) for (let k = 0; k < inner; k++) out[p++] = src[(o * n + i) * inner + k]!;
    return [make(t.dtype, [...t.shape.slice(0, axis), ...idx!.shape, ...t.shape.slice(axis + 1)], out)];
  },

  Slice: ([a, st, en, ax, sp]) => {
    const t = a!;
    const r = t.shape.length;
    const starts = st!.toNumbers(), ends = en!.toNumbers();
    const axes = ax ? ax.toNumbers().map((x) => (x < 0 ? x + r : x)) : starts.map((_, i) => i);
    const steps = sp ? sp.toNumbers() : starts.map(() => 1);
    const begin = t.shape.map(() => 0), step = t.shape.map(() => 1), shape = [...t.shape];
    axes.forEach((d, i) => {
      const n = t.shape[d]!;
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
      begin[d] = clamp(starts[i]!);
      step[d] = steps[i]!;
      shape[d] = Math.max(0, Math.ceil((clamp(ends[i]!) - begin[d]!) / steps[i]!));
    });
    const inStr = strides(t.shape), outStr = strides(shape);
    const src = t.dtype === 'int64' ? t.toNumbers() : nums(t);
    const n = numel(shape);
    const out = new Float64Array(n);
    for (let o = 0; o < n; o++) {
      let rem = o, off = 0;
      for (let d = 0; d < r; d++) {
        const c = Math.floor(rem / outStr[d]!);
        rem -= c * outStr[d]!;
        off += (begin[d]! + c * step[d]!) * inStr[d]!;
      }
      out[o] = src[off]!;
    }
    return [make(t.dtype, shape, out)];
  },

  /** Constant-mode Pad (value 0 unless given). */
  Pad: ([a, p, v, ax]) => {
    const t = a!;
    const r = t.shape.length;
    const pads = p!.toNumbers();
    const axes = ax ? ax.toNumbers().map((x) => (x < 0 ? x + r : x)) : [...Array(r).keys()];
    const before = t.shape.map(() => 0), after = t.shape.map(() => 0);
    axes.forEach((d, i) => { before[d] = pads[i]!; after[d] = pads[axes.length + i]!; });
    if ([...before, ...after].some((x) => x < 0)) throw new Error('negative pads are not supported in folding');
    const shape = t.shape.map((d, i) => d + before[i]! + after[i]!);
    const fill = v ? v.toNumbers()[0]! : 0;
    const out = new Float64Array(numel(shape)).fill(fill);
    const inStr = strides(t.shape), outStr = strides(shape);
    const src = nums(t);
    for (let i = 0; i < t.size; i++) {
      let rem = i, off = 0;
      for (let d = 0; d < r; d++) {
        const c = Math.floor(rem / inStr[d]!);
        rem -= c * inStr[d]!;
        off += (c + before[d]!) * outStr[d]!;
      }
      out[off] = src[i]!;
    }
    return [make(t.dtype, shape, out)];
  },

  MatMul: ([a, b]) => {
    const A = a!, B = b!;
    if (A.shape.length !== 2 || B.shape.length !== 2) throw new Error('constant MatMul folding supports 2-D operands');
    const [m, k] = A.shape as [number, number];
    const n = B.shape[1]!;
    const x = nums(A), y = nums(B);
    const out = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
      const xv = x[i * k + p]!;
      if (xv === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += xv * y[p * n + j]!;
    }
    return [make(A.dtype, [m, n], out)];
  },

  ReduceSum: reduce('sum'),
  ReduceMean: reduce('mean'),
  ReduceMax: reduce('max'),

  Expand: ([a, s]) => {
    const shape = broadcast(a!.shape, s!.toNumbers()) as number[];
    const idx = broadcastIndex(shape, a!.shape);
    const src = a!.dtype === 'int64' ? a!.toNumbers() : nums(a!);
    return [make(a!.dtype, shape, Array.from(idx, (i) => src[i]!))];
  },
};

/** Evaluates `op` on constant inputs, or returns null when no kernel exists for it. */
export function evaluate(op: string, inputs: readonly (Tensor | null)[], attrs: Attrs): Tensor[] | null {
  const k = KERNELS[op];
  return k ? k(inputs, attrs) : null;
}
