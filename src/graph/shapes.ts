/**
 * Shape and type inference, one function per op. Builders call it for every node they add, so a
 * wrong shape fails at the op that caused it; the verifier and the ONNX reader reuse it.
 *
 * Symbolic dimensions are strings. A product of symbols and a factor is written canonically as
 * "N" or "N*4" (see `dimMul`).
 */
import type { Attr, Dim, Shape, ValueType } from './ir.js';
import { type DType, Tensor } from './tensor.js';

export interface InferInput {
  readonly type: ValueType | null;
  readonly constant: Tensor | null;
}

export type InferFn = (inputs: readonly InferInput[], attrs: Readonly<Record<string, Attr>>) => ValueType[];

export class ShapeError extends Error {}

function fail(msg: string): never { throw new ShapeError(msg); }

// ---------------------------------------------------------------- symbolic dimension arithmetic

interface Sym { names: string[]; k: number }

function toSym(d: Dim): Sym {
  if (typeof d === 'number') return { names: [], k: d };
  const names: string[] = [];
  let k = 1;
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) k *= Number(part); else names.push(part);
  }
  return { names: names.sort(), k };
}

function fromSym(s: Sym): Dim {
  if (s.names.length === 0) return s.k;
  const base = s.names.join('*');
  return s.k === 1 ? base : `${base}*${s.k}`;
}

export function dimMul(a: Dim, b: Dim): Dim {
  const x = toSym(a), y = toSym(b);
  return fromSym({ names: [...x.names, ...y.names].sort(), k: x.k * y.k });
}

/** a / b where b's symbols all appear in a and the factor divides exactly; else null. */
export function dimDiv(a: Dim, b: Dim): Dim | null {
  const x = toSym(a), y = toSym(b);
  const names = [...x.names];
  for (const n of y.names) {
    const i = names.indexOf(n);
    if (i < 0) return null;
    names.splice(i, 1);
  }
  if (y.k === 0 || x.k % y.k !== 0) return null;
  return fromSym({ names, k: x.k / y.k });
}

export function shapeProduct(s: Shape): Dim {
  return s.reduce<Dim>((acc, d) => dimMul(acc, d), 1);
}

export function sameDim(a: Dim, b: Dim): boolean {
  return String(fromSym(toSym(a))) === String(fromSym(toSym(b)));
}

export function shapeToString(s: Shape): string {
  return `[${s.join(', ')}]`;
}

// ---------------------------------------------------------------- helpers

function t(inputs: readonly InferInput[], i: number, what = `input ${i}`): ValueType {
  const v = inputs[i]?.type;
  if (!v) fail(`missing ${what}`);
  return v;
}

function constInts(inputs: readonly InferInput[], i: number, what: string): number[] {
  const c = inputs[i]?.constant;
  if (!c) fail(`${what} must be a constant`);
  return c.toNumbers();
}

function ints(attrs: Readonly<Record<string, Attr>>, name: string, dflt?: number[]): number[] {
  const a = attrs[name];
  if (!a) { if (dflt) return dflt; fail(`missing attribute ${name}`); }
  if (a.kind !== 'ints') fail(`attribute ${name} must be ints`);
  return [...a.value];
}

function int(attrs: Readonly<Record<string, Attr>>, name: string, dflt: number): number {
  const a = attrs[name];
  if (!a) return dflt;
  if (a.kind !== 'int') fail(`attribute ${name} must be int`);
  return a.value;
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function broadcast(a: Shape, b: Shape): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1 || sameDim(x, y)) out.push(x);
    else fail(`cannot broadcast ${shapeToString(a)} with ${shapeToString(b)}`);
  }
  return out;
}

const same: InferFn = (ins) => [t(ins, 0)];

const elementwise: InferFn = (ins) => {
  const a = t(ins, 0), b = t(ins, 1);
  if (a.dtype !== b.dtype) fail(`element types differ: ${a.dtype} vs ${b.dtype}`);
  return [{ dtype: a.dtype, shape: broadcast(a.shape, b.shape) }];
};

function spatialOut(size: Dim, k: number, s: number, pb: number, pe: number, d: number, ceil = false): number {
  if (typeof size !== 'number') fail('spatial dimensions must be static');
  const eff = (k - 1) * d + 1;
  const span = size + pb + pe - eff;
  if (span < 0) fail(`kernel ${k} (dilation ${d}) does not fit input ${size} with pads ${pb}+${pe}`);
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= size + pb) o--; // last window must start inside the input or left pad
  return o;
}

function convLike(x: ValueType, outC: Dim, attrs: Readonly<Record<string, Attr>>, ceil = false): Dim[] {
  const sp = x.shape.length - 2;
  const k = ints(attrs, 'kernel_shape');
  const s = ints(attrs, 'strides', Array(sp).fill(1));
  const p = ints(attrs, 'pads', Array(2 * sp).fill(0));
  const d = ints(attrs, 'dilations', Array(sp).fill(1));
  if (k.length !== sp) fail(`kernel_shape has ${k.length} dims for a rank-${x.shape.length} input`);
  const out: Dim[] = [x.shape[0]!, outC];
  for (let i = 0; i < sp; i++) out.push(spatialOut(x.shape[2 + i]!, k[i]!, s[i]!, p[i]!, p[sp + i]!, d[i]!, ceil));
  return out;
}

// ---------------------------------------------------------------- the op table

const reduceLike = (keepDefault: number): InferFn => (ins, attrs) => {
  const x = t(ins, 0);
  const r = x.shape.length;
  const axesAttr = attrs['axes'];
  const axes = axesAttr ? ints(attrs, 'axes') : ins[1]?.constant ? ins[1].constant.toNumbers() : [...Array(r).keys()];
  const ax = new Set(axes.map((a) => normAxis(a, r)));
  const keep = int(attrs, 'keepdims', keepDefault);
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => { if (!ax.has(i)) shape.push(d); else if (keep) shape.push(1); });
  return [{ dtype: x.dtype, shape }];
};

export const INFER: Record<string, InferFn> = {
  Identity: same, Relu: same, Sigmoid: same, Tanh: same, Erf: same, Sqrt: same, Neg: same, Abs: same,
  Reciprocal: same, Exp: same, Gelu: same, Dropout: (ins) => [t(ins, 0)],
  Add: elementwise, Sub: elementwise, Mul: elementwise, Div: elementwise, Pow: elementwise,
  Softmax: (ins, attrs) => { const x = t(ins, 0); normAxis(int(attrs, 'axis', -1), x.shape.length); return [x]; },

  Cast: (ins, attrs) => {
    const to = int(attrs, 'to', 1);
    const names: Record<number, DType> = { 1: 'float32', 10: 'float16', 16: 'bfloat16', 11: 'float64', 7: 'int64', 6: 'int32' };
    const dtype = names[to] ?? fail(`Cast to ${to} unsupported`);
    return [{ dtype, shape: t(ins, 0).shape }];
  },

  Conv: (ins, attrs) => {
    const x = t(ins, 0), w = t(ins, 1, 'weight');
    const g = int(attrs, 'group', 1);
    if (x.shape.length !== w.shape.length) fail(`input rank ${x.shape.length} vs weight rank ${w.shape.length}`);
    const cin = x.shape[1]!, wcin = w.shape[1]!;
    if (typeof cin === 'number' && typeof wcin === 'number' && cin !== wcin * g) {
      fail(`input has ${cin} channels but weight ${shapeToString(w.shape)} with group ${g} expects ${Number(wcin) * g}`);
    }
    const kshape = ints(attrs, 'kernel_shape');
    if (kshape.some((k, i) => k !== w.shape[2 + i])) fail(`kernel_shape [${kshape}] disagrees with weight ${shapeToString(w.shape)}`);
    const b = ins[2]?.type;
    if (b && (b.shape.length !== 1 || !sameDim(b.shape[0]!, w.shape[0]!))) fail(`bias ${shapeToString(b.shape)} does not match ${w.shape[0]} output channels`);
    return [{ dtype: x.dtype, shape: convLike(x, w.shape[0]!, attrs) }];
  },

  ConvTranspose: (ins, attrs) => {
    const x = t(ins, 0), w = t(ins, 1, 'weight');
    const g = int(attrs, 'group', 1);
    const sp = x.shape.length - 2;
    const k = ints(attrs, 'kernel_shape');
    const s = ints(attrs, 'strides', Array(sp).fill(1));
    const p = ints(attrs, 'pads', Array(2 * sp).fill(0));
    const d = ints(attrs, 'dilations', Array(sp).fill(1));
    const op = ints(attrs, 'output_padding', Array(sp).fill(0));
    if (x.shape[1] !== w.shape[0]) fail(`input has ${x.shape[1]} channels, weight expects ${w.shape[0]}`);
    const out: Dim[] = [x.shape[0]!, (w.shape[1] as number) * g];
    for (let i = 0; i < sp; i++) {
      const n = x.shape[2 + i];
      if (typeof n !== 'number') fail('spatial dimensions must be static');
      out.push(s[i]! * (n - 1) + op[i]! + ((k[i]! - 1) * d[i]! + 1) - p[i]! - p[sp + i]!);
    }
    return [{ dtype: x.dtype, shape: out }];
  },

  BatchNormalization: (ins) => {
    const x = t(ins, 0);
    for (let i = 1; i <= 4; i++) {
      const p = t(ins, i, `BatchNormalization input ${i}`);
      if (p.shape.length !== 1 || !sameDim(p.shape[0]!, x.shape[1]!)) fail(`parameter ${i} ${shapeToString(p.shape)} does not match ${x.shape[1]} channels`);
    }
    return [x];
  },

  LayerNormalization: (ins, attrs) => {
    const x = t(ins, 0);
    const axis = normAxis(int(attrs, 'axis', -1), x.shape.length);
    const norm = x.shape.slice(axis);
    const sc = t(ins, 1, 'scale');
    if (sc.shape.length !== norm.length || sc.shape.some((d, i) => !sameDim(d, norm[i]!))) fail(`scale ${shapeToString(sc.shape)} does not match normalized shape ${shapeToString(norm)}`);
    return [x];
  },

  MatMul: (ins) => {
    const a = t(ins, 0), b = t(ins, 1);
    if (a.shape.length < 2 || b.shape.length < 2) fail('MatMul operands must have rank ≥ 2');
    const k1 = a.shape[a.shape.length - 1]!, k2 = b.shape[b.shape.length - 2]!;
    if (!sameDim(k1, k2)) fail(`MatMul inner dimensions differ: ${shapeToString(a.shape)} × ${shapeToString(b.shape)}`);
    const batch = broadcast(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return [{ dtype: a.dtype, shape: [...batch, a.shape[a.shape.length - 2]!, b.shape[b.shape.length - 1]!] }];
  },

  Gemm: (ins, attrs) => {
    const a = t(ins, 0), b = t(ins, 1);
    if (a.shape.length !== 2 || b.shape.length !== 2) fail('Gemm operands must be 2-D');
    const ta = int(attrs, 'transA', 0), tb = int(attrs, 'transB', 0);
    const [m, k1] = ta ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [k2, n] = tb ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (!sameDim(k1, k2)) fail(`Gemm inner dimensions differ: ${k1} vs ${k2}`);
    return [{ dtype: a.dtype, shape: [m, n] }];
  },

  Reshape: (ins) => {
    const x = t(ins, 0);
    const target = constInts(ins, 1, 'Reshape shape');
    const out: Dim[] = target.map((d, i) => (d === 0 ? x.shape[i] ?? fail('Reshape 0 beyond input rank') : d));
    const holes = out.filter((d) => d === -1).length;
    if (holes > 1) fail('Reshape has more than one -1');
    const total = shapeProduct(x.shape);
    if (holes === 1) {
      const known = shapeProduct(out.filter((d) => d !== -1));
      const rest = dimDiv(total, known) ?? fail(`cannot reshape ${shapeToString(x.shape)} to [${target}]`);
      out[out.indexOf(-1)] = rest;
    } else if (!sameDim(shapeProduct(out), total)) {
      fail(`cannot reshape ${shapeToString(x.shape)} (${total} elements) to [${target}]`);
    }
    return [{ dtype: x.dtype, shape: out }];
  },

  Flatten: (ins, attrs) => {
    const x = t(ins, 0);
    const axis = int(attrs, 'axis', 1);
    return [{ dtype: x.dtype, shape: [shapeProduct(x.shape.slice(0, axis)), shapeProduct(x.shape.slice(axis))] }];
  },

  Transpose: (ins, attrs) => {
    const x = t(ins, 0);
    const perm = ints(attrs, 'perm', [...x.shape.keys()].reverse());
    if (perm.length !== x.shape.length || new Set(perm).size !== perm.length) fail(`bad perm [${perm}] for rank ${x.shape.length}`);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
  },

  Concat: (ins, attrs) => {
    const first = t(ins, 0);
    const axis = normAxis(int(attrs, 'axis', 0), first.shape.length);
    let total: Dim = 0;
    for (let i = 0; i < ins.length; i++) {
      const v = t(ins, i);
      if (v.shape.length !== first.shape.length) fail('Concat inputs differ in rank');
      v.shape.forEach((d, j) => { if (j !== axis && !sameDim(d, first.shape[j]!)) fail(`Concat inputs differ at axis ${j}: ${shapeToString(first.shape)} vs ${shapeToString(v.shape)}`); });
      const d = v.shape[axis]!;
      if (typeof d !== 'number' || typeof total !== 'number') fail('Concat axis must be static');
      total += d;
    }
    const shape = [...first.shape];
    shape[axis] = total;
    return [{ dtype: first.dtype, shape }];
  },

  Split: (ins, attrs) => {
    const x = t(ins, 0);
    const axis = normAxis(int(attrs, 'axis', 0), x.shape.length);
    const sizes = ins[1]?.constant ? ins[1].constant.toNumbers() : ints(attrs, 'split');
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (x.shape[axis] !== sum) fail(`Split sizes [${sizes}] do not add up to ${x.shape[axis]}`);
    return sizes.map((s) => { const shape = [...x.shape]; shape[axis] = s; return { dtype: x.dtype, shape }; });
  },

  Slice: (ins) => {
    const x = t(ins, 0);
    const starts = constInts(ins, 1, 'Slice starts'), ends = constInts(ins, 2, 'Slice ends');
    const axes = ins[3]?.constant ? ins[3].constant.toNumbers() : starts.map((_, i) => i);
    const steps = ins[4]?.constant ? ins[4].constant.toNumbers() : starts.map(() => 1);
    const shape = [...x.shape];
    axes.forEach((a0, i) => {
      const a = normAxis(a0, x.shape.length);
      const n = x.shape[a];
      if (typeof n !== 'number') fail('Slice on a symbolic axis');
      const step = steps[i]!;
      if (step <= 0) fail('Slice supports positive steps only');
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
      const s = clamp(starts[i]!), e = clamp(ends[i]!);
      shape[a] = Math.max(0, Math.ceil((e - s) / step));
    });
    return [{ dtype: x.dtype, shape }];
  },

  Gather: (ins, attrs) => {
    const x = t(ins, 0), idx = t(ins, 1);
    const axis = normAxis(int(attrs, 'axis', 0), x.shape.length);
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)] }];
  },

  Unsqueeze: (ins, attrs) => {
    const x = t(ins, 0);
    const axes = attrs['axes'] ? ints(attrs, 'axes') : constInts(ins, 1, 'Unsqueeze axes');
    const r = x.shape.length + axes.length;
    const ax = new Set(axes.map((a) => normAxis(a, r)));
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) out.push(ax.has(i) ? 1 : x.shape[j++]!);
    return [{ dtype: x.dtype, shape: out }];
  },

  Squeeze: (ins, attrs) => {
    const x = t(ins, 0);
    const axes = attrs['axes'] ? ints(attrs, 'axes') : constInts(ins, 1, 'Squeeze axes');
    const ax = new Set(axes.map((a) => normAxis(a, x.shape.length)));
    for (const a of ax) if (x.shape[a] !== 1) fail(`cannot squeeze axis ${a} of size ${x.shape[a]}`);
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !ax.has(i)) }];
  },

  AveragePool: (ins, attrs) => {
    const x = t(ins, 0);
    return [{ dtype: x.dtype, shape: convLike(x, x.shape[1]!, attrs, int(attrs, 'ceil_mode', 0) === 1) }];
  },
  MaxPool: (ins, attrs) => {
    const x = t(ins, 0);
    return [{ dtype: x.dtype, shape: convLike(x, x.shape[1]!, attrs, int(attrs, 'ceil_mode', 0) === 1) }];
  },
  GlobalAveragePool: (ins) => {
    const x = t(ins, 0);
    return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] }];
  },

  ReduceMean: reduceLike(1), ReduceSum: reduceLike(1), ReduceMax: reduceLike(1),

  Pad: (ins) => {
    const x = t(ins, 0);
    const pads = constInts(ins, 1, 'Pad pads');
    const r = x.shape.length;
    const axes = ins[3]?.constant ? ins[3].constant.toNumbers().map((a) => normAxis(a, r)) : [...Array(r).keys()];
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const n = shape[a]!;
      const extra = pads[i]! + pads[axes.length + i]!;
      if (extra === 0) return;
      if (typeof n !== 'number') fail('Pad on a symbolic axis');
      shape[a] = n + extra;
    });
    return [{ dtype: x.dtype, shape }];
  },

  /** Output = `sizes` (input 3), or ⌊dim·scale⌋ from `scales` (input 2); a symbolic dim needs scale 1. */
  Resize: (ins) => {
    const x = t(ins, 0);
    if (ins[3]?.constant) {
      const sizes = constInts(ins, 3, 'Resize sizes');
      if (sizes.length !== x.shape.length) fail(`Resize sizes [${sizes}] do not match rank ${x.shape.length}`);
      return [{ dtype: x.dtype, shape: sizes.map((s, i) => (typeof x.shape[i] === 'number' ? s : x.shape[i]!)) }];
    }
    const c = ins[2]?.constant ?? fail('Resize needs constant sizes or scales');
    const scales = Array.from(c.data as Float32Array);
    if (scales.length !== x.shape.length) fail(`Resize scales [${scales}] do not match rank ${x.shape.length}`);
    const shape = x.shape.map((d, i) => {
      if (typeof d === 'number') return Math.floor(Math.fround(d * scales[i]!));
      if (scales[i] !== 1) fail(`Resize scale ${scales[i]} on symbolic dimension ${d}`);
      return d;
    });
    return [{ dtype: x.dtype, shape }];
  },

  // QDQ (quant/qdq.ts): y has x's shape; Q's type is the zero point's (uint8 when absent), DQ's float32
  QuantizeLinear: (ins) => [{ dtype: ins[2]?.type?.dtype ?? 'uint8', shape: t(ins, 0).shape }],
  DequantizeLinear: (ins) => [{ dtype: t(ins, 1, 'scale').dtype, shape: t(ins, 0).shape }],

  Expand: (ins) => {
    const x = t(ins, 0);
    return [{ dtype: x.dtype, shape: broadcast(x.shape, constInts(ins, 1, 'Expand shape')) }];
  },
};

/** Infers output types for `op`; errors name the op. */
export function inferTypes(op: string, inputs: readonly InferInput[], attrs: Readonly<Record<string, Attr>>): ValueType[] {
  const fn = INFER[op];
  if (!fn) throw new ShapeError(`no shape rule for op ${op}`);
  return fn(inputs, attrs);
}
