/**
 * Helpers for the reference CPU kernels (the `fold` field of op registry entries): what constant
 * folding evaluates. Passes never do tensor arithmetic themselves; they emit ops over initializers
 * and these kernels compute them, so there is one set of numeric code to test.
 *
 * Each kernel computes in float64 and rounds once to its output dtype (float32 +, −, ×, ÷ are then
 * exactly onnxruntime's correctly rounded results); int64 stays int64.
 */
import type { Attrs } from '../ir.js';
import { type DType, floatToBf16, floatToHalf, numel, Tensor } from '../tensor.js';
import { broadcast } from './infer-util.js';
import type { Kernel } from './registry.js';

/** Thrown by a kernel that finds, while computing, a value it cannot represent exactly: the node is left unfolded. */
export class FoldDeclined extends Error {}

export function getInts(attrs: Attrs, name: string, dflt: number[]): number[] {
  const a = attrs[name];
  return a && a.kind === 'ints' ? [...a.value] : dflt;
}
export function getInt(attrs: Attrs, name: string, dflt: number): number {
  const a = attrs[name];
  return a && a.kind === 'int' ? a.value : dflt;
}
export function getString(attrs: Attrs, name: string, dflt: string): string {
  const a = attrs[name];
  return a && a.kind === 'string' ? a.value : dflt;
}
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]!; }
  return s;
}

/** Elements as float64 (float32 data as is); int64 beyond 2^53 declines. */
export function nums(t: Tensor): Float64Array | Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof BigInt64Array) {
    const out = new Float64Array(t.size);
    for (let i = 0; i < out.length; i++) {
      const v = Number(t.data[i]!);
      if (!Number.isSafeInteger(v)) throw new FoldDeclined(`int64 value ${t.data[i]} beyond 2^53`);
      out[i] = v;
    }
    return out;
  }
  return Float64Array.from(t.toNumbers());
}

/** A tensor of `dtype` from float64 values, rounded once (integers truncate; int64 must stay exact). */
export function make(dtype: DType, shape: readonly number[], values: ArrayLike<number>): Tensor {
  const v = Array.from(values);
  switch (dtype) {
    case 'int64':
      return new Tensor('int64', shape, BigInt64Array.from(v, (x) => {
        const i = Math.trunc(x);
        if (!Number.isSafeInteger(i)) throw new FoldDeclined(`int64 result ${x} not exact`);
        return BigInt(i);
      }));
    case 'int32': return new Tensor('int32', shape, Int32Array.from(v));
    case 'int8': return new Tensor('int8', shape, Int8Array.from(v));
    case 'uint8': return new Tensor('uint8', shape, Uint8Array.from(v));
    case 'bool': return new Tensor('bool', shape, Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0)));
    case 'float16': return new Tensor('float16', shape, Uint16Array.from(v, floatToHalf));
    case 'bfloat16': return new Tensor('bfloat16', shape, Uint16Array.from(v, floatToBf16));
    case 'float64': return new Tensor('float64', shape, Float64Array.from(v));
    case 'float32': return new Tensor('float32', shape, Float32Array.from(v));
  }
}

/** Offsets of an odometer walk over `shape` starting at `base` with per-axis strides `step`. */
export function walk(shape: readonly number[], base: number, step: readonly number[]): Int32Array {
  const n = numel(shape);
  const idx = new Int32Array(n);
  const r = shape.length;
  const ctr = new Array<number>(r).fill(0);
  let off = base;
  for (let o = 0; o < n; o++) {
    idx[o] = off;
    for (let d = r - 1; d >= 0; d--) {
      ctr[d]!++;
      off += step[d]!;
      if (ctr[d]! < shape[d]!) break;
      off -= step[d]! * ctr[d]!;
      ctr[d] = 0;
    }
  }
  return idx;
}

/**
 * Index map from an output position to an input position under broadcasting: the walk over the
 * output shape with the input's strides (zero along broadcast axes).
 */
export function broadcastIndex(outShape: readonly number[], inShape: readonly number[]): Int32Array {
  const padded = [...Array(outShape.length - inShape.length).fill(1), ...inShape] as number[];
  return walk(outShape, 0, strides(padded).map((s, d) => (padded[d] === 1 ? 0 : s)));
}

/**
 * Visits an output of `outShape` in runs: for each run, `body(o, offA, offB, n, sa, sb)` covers n
 * consecutive output elements starting at o, reading operand A from offA with stride sa and B
 * from offB with stride sb (0 where broadcast). Adjacent axes with compatible strides are merged,
 * so the innermost run is as long as possible.
 */
export function forEachRun(outShape: readonly number[], aShape: readonly number[], bShape: readonly number[],
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

export function binary(f: (a: number, b: number) => number): Kernel {
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

export function unary(f: (a: number) => number): Kernel {
  return ([a]) => [make(a!.dtype, a!.shape, Array.from(nums(a!), f))];
}

