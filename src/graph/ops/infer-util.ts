/**
 * Helpers for shape and type inference (the `infer` field of op registry entries).
 *
 * Symbolic dimensions are strings. A product of symbols and a factor is written canonically as
 * "N" or "N*4" (see `dimMul`).
 */
import type { Attr, Dim, Shape, ValueType } from '../ir.js';
import type { Tensor } from '../tensor.js';

export interface InferInput {
  readonly type: ValueType | null;
  readonly constant: Tensor | null;
}

export type InferFn = (inputs: readonly InferInput[], attrs: Readonly<Record<string, Attr>>) => ValueType[];

export class ShapeError extends Error {}

export function fail(msg: string): never { throw new ShapeError(msg); }
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

/**
 * A dimension inference cannot know (a Reshape to a computed shape in a dynamic-axes export):
 * '?' from an `infer` rule, which the ONNX reader renames to '?<value>:<axis>'. Unknown dims are
 * compatible with any dim; named symbols ("N", "batch") stay exact.
 */
export const UNKNOWN = '?';

export function isUnknown(d: Dim): boolean {
  return typeof d === 'string' && d.includes('?');
}

/** Equal, or at least one side unknown. */
export function compatDim(a: Dim, b: Dim): boolean {
  return isUnknown(a) || isUnknown(b) || sameDim(a, b);
}

export function shapeToString(s: Shape): string {
  return `[${s.join(', ')}]`;
}

// ---------------------------------------------------------------- helpers

export function t(inputs: readonly InferInput[], i: number, what = `input ${i}`): ValueType {
  const v = inputs[i]?.type;
  if (!v) fail(`missing ${what}`);
  return v;
}

export function constInts(inputs: readonly InferInput[], i: number, what: string): number[] {
  const c = inputs[i]?.constant;
  if (!c) fail(`${what} must be a constant`);
  return intsOf(c);
}

/**
 * Integer elements as numbers, int64 values beyond ±(2^53 − 1) clamped to it: exporters write
 * INT64_MAX / INT64_MIN for "to the end" in Slice, and every use of such a value clamps it anyway.
 */
export function intsOf(c: Tensor): number[] {
  if (!(c.data instanceof BigInt64Array)) return c.toNumbers();
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Array.from(c.data, (v) => Number(v > max ? max : v < -max ? -max : v));
}

export function ints(attrs: Readonly<Record<string, Attr>>, name: string, dflt?: number[]): number[] {
  const a = attrs[name];
  if (!a) { if (dflt) return dflt; fail(`missing attribute ${name}`); }
  if (a.kind !== 'ints') fail(`attribute ${name} must be ints`);
  return [...a.value];
}

export function int(attrs: Readonly<Record<string, Attr>>, name: string, dflt: number): number {
  const a = attrs[name];
  if (!a) return dflt;
  if (a.kind !== 'int') fail(`attribute ${name} must be int`);
  return a.value;
}

export function normAxis(axis: number, rank: number): number {
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
    else if (isUnknown(x)) out.push(y);
    else if (isUnknown(y)) out.push(x);
    else fail(`cannot broadcast ${shapeToString(a)} with ${shapeToString(b)}`);
  }
  return out;
}

export const same: InferFn = (ins) => [t(ins, 0)];

export const elementwise: InferFn = (ins) => {
  const a = t(ins, 0), b = t(ins, 1);
  if (a.dtype !== b.dtype) fail(`element types differ: ${a.dtype} vs ${b.dtype}`);
  return [{ dtype: a.dtype, shape: broadcast(a.shape, b.shape) }];
};

export function spatialOut(size: Dim, k: number, s: number, pb: number, pe: number, d: number, ceil = false): Dim {
  if (typeof size !== 'number') return k === 1 && s === 1 && d === 1 && pb + pe === 0 ? size : UNKNOWN;
  const eff = (k - 1) * d + 1;
  const span = size + pb + pe - eff;
  if (span < 0) fail(`kernel ${k} (dilation ${d}) does not fit input ${size} with pads ${pb}+${pe}`);
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= size + pb) o--; // last window must start inside the input or left pad
  return o;
}

/** Rank ≥ `min`, or a ShapeError naming the op. */
export function needRank(x: ValueType, min: number, op: string): void {
  if (x.shape.length < min) fail(`${op} needs an input of rank ≥ ${min}, got ${shapeToString(x.shape)}`);
}

/**
 * Output spatial dims of a Conv / pool window. auto_pad: NOTSET uses `pads`; VALID pads nothing;
 * SAME_UPPER / SAME_LOWER give out = ⌈in / stride⌉ (pads split with the odd one at the end / start,
 * which does not change the size). kernel_shape defaults to `kernel` (a Conv weight's spatial dims).
 */
export function convLike(x: ValueType, outC: Dim, attrs: Readonly<Record<string, Attr>>, ceil = false, kernel?: readonly Dim[]): Dim[] {
  const sp = x.shape.length - 2;
  const k = ints(attrs, 'kernel_shape', kernel?.every((d) => typeof d === 'number') ? kernel as number[] : undefined);
  const s = ints(attrs, 'strides', Array(sp).fill(1));
  const p = ints(attrs, 'pads', Array(2 * sp).fill(0));
  const d = ints(attrs, 'dilations', Array(sp).fill(1));
  const autoPad = attrs['auto_pad']?.kind === 'string' ? attrs['auto_pad'].value : 'NOTSET';
  if (k.length !== sp) fail(`kernel_shape has ${k.length} dims for a rank-${x.shape.length} input`);
  if (s.length !== sp || d.length !== sp || p.length !== 2 * sp) fail(`strides / dilations / pads do not match ${sp} spatial dims`);
  if ([...k, ...s, ...d].some((v) => v < 1) || p.some((v) => v < 0)) fail('kernel_shape, strides and dilations must be ≥ 1 and pads ≥ 0');
  const out: Dim[] = [x.shape[0]!, outC];
  for (let i = 0; i < sp; i++) {
    const n = x.shape[2 + i]!;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out.push(typeof n === 'number' ? Math.ceil(n / s[i]!) : s[i] === 1 ? n : UNKNOWN);
    } else if (autoPad === 'VALID') {
      out.push(spatialOut(n, k[i]!, s[i]!, 0, 0, d[i]!, ceil));
    } else if (autoPad === 'NOTSET') {
      out.push(spatialOut(n, k[i]!, s[i]!, p[i]!, p[sp + i]!, d[i]!, ceil));
    } else {
      fail(`unknown auto_pad ${autoPad}`);
    }
  }
  return out;
}
