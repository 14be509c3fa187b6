/**
 * Output comparison with Polygraphy's semantics.
 *
 * An element passes when |a − b| ≤ atol + rtol·|b| (a = candidate, b = reference). Both NaN, or
 * the same infinity, also pass; any other non-finite element fails. For each output we report:
 *
 *   abs error  |a − b|               max, mean, median over the finite pairs
 *   rel error  |a − b| / |b|         max, mean, median over the finite pairs with b ≠ 0
 *   failing    elements beyond tolerance, and the worst one (largest excess over its bound)
 *   needs      the smallest atol that would pass at the given rtol: max(0, max_i |a−b| − rtol·|b|),
 *              and the smallest rtol at the given atol: max over b ≠ 0 of (|a−b| − atol)/|b|
 *              (infinite when an element with b = 0 exceeds atol, or a non-finite pair mismatches)
 *   non-finite NaN and ±Inf counts in both tensors
 *   classes    for [rows, classes] float outputs (logits): rows whose argmax agrees, rows whose
 *              top-5 sets agree (reported, not a pass criterion)
 *
 * Integer and bool outputs (class indices of a top-k, counts, masks) must be equal: tolerance 0.
 */
import { bf16ToFloat, halfToFloat } from '../graph/tensor.js';
import type { HostTensor } from '../runtime/tensors.js';

export interface Tolerance { atol: number; rtol: number }

export interface ErrorStats { max: number; mean: number; median: number }

export interface NonFinite { nan: number; inf: number }

export interface ClassAgreement {
  rows: number;
  k: number;
  argmaxAgree: number;
  topkAgree: number;
}

export interface OutputComparison {
  name: string;
  dims: number[];
  expectedDims: number[];
  pass: boolean;
  /** Why the comparison could not be made or failed in a way the statistics do not show. */
  problem?: string;
  count: number;
  failing: number;
  abs: ErrorStats;
  rel: ErrorStats;
  worst: { index: number; got: number; expected: number } | null;
  needsAtol: number;
  needsRtol: number;
  nonFinite: { got: NonFinite; expected: NonFinite };
  classes?: ClassAgreement;
}

/** Any host tensor as numbers (float16/bfloat16 decoded, int64 converted). */
export function asNumbers(t: HostTensor): Float32Array | Float64Array {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  if (t.dtype === 'float16') return Float64Array.from(d as Uint16Array, halfToFloat);
  if (t.dtype === 'bfloat16') return Float64Array.from(d as Uint16Array, bf16ToFloat);
  if (d instanceof BigInt64Array) return Float64Array.from(d, (v) => Number(v));
  return Float64Array.from(d as ArrayLike<number>);
}

function median(xs: Float64Array, n: number): number {
  if (n === 0) return 0;
  const s = xs.subarray(0, n).sort();
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

function countNonFinite(x: ArrayLike<number>): NonFinite {
  let nan = 0, inf = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) nan++;
    else if (!Number.isFinite(v)) inf++;
  }
  return { nan, inf };
}

function topk(x: ArrayLike<number>, off: number, n: number, k: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((i, j) => (x[off + j]! - x[off + i]!) || i - j);
  return idx.slice(0, k);
}

function classAgreement(a: ArrayLike<number>, b: ArrayLike<number>, dims: readonly number[]): ClassAgreement | undefined {
  if (dims.length !== 2 || dims[1]! < 2) return undefined;
  const [rows, c] = dims as [number, number];
  const k = Math.min(5, c);
  let argmaxAgree = 0, topkAgree = 0;
  for (let r = 0; r < rows; r++) {
    const ta = topk(a, r * c, c, k), tb = topk(b, r * c, c, k);
    if (ta[0] === tb[0]) argmaxAgree++;
    const sb = new Set(tb);
    if (ta.every((i) => sb.has(i))) topkAgree++;
  }
  return { rows, k, argmaxAgree, topkAgree };
}

const FLOAT_DTYPES: ReadonlySet<string> = new Set(['float32', 'float16', 'bfloat16', 'float64']);

const ZERO: ErrorStats = { max: 0, mean: 0, median: 0 };

function failed(name: string, got: HostTensor | undefined, expected: HostTensor, problem: string): OutputComparison {
  const inf: ErrorStats = { max: Infinity, mean: Infinity, median: Infinity };
  return {
    name, dims: got ? [...got.dims] : [], expectedDims: [...expected.dims], pass: false, problem,
    count: 0, failing: 0, abs: inf, rel: inf, worst: null, needsAtol: Infinity, needsRtol: Infinity,
    nonFinite: { got: { nan: 0, inf: 0 }, expected: countNonFinite(asNumbers(expected)) },
  };
}

/** Compares candidate `got` with reference `expected` elementwise. */
export function compareTensors(name: string, got: HostTensor | undefined, expected: HostTensor, tol: Tolerance): OutputComparison {
  if (!got) return failed(name, got, expected, 'output missing');
  const sameDims = got.dims.length === expected.dims.length && got.dims.every((d, i) => d === expected.dims[i]);
  if (!sameDims) return failed(name, got, expected, `shape [${got.dims.join(',')}] differs from the reference's [${expected.dims.join(',')}]`);
  const exact = !FLOAT_DTYPES.has(expected.dtype); // integer outputs: equal, whatever the tolerance
  if (exact) tol = { atol: 0, rtol: 0 };
  const a = asNumbers(got), b = asNumbers(expected);
  const n = a.length;
  const absErr = new Float64Array(n), relErr = new Float64Array(n);
  let nAbs = 0, nRel = 0, sumAbs = 0, sumRel = 0, maxAbs = 0, maxRel = 0;
  let failing = 0, needsAtol = 0, needsRtol = 0;
  let worst: OutputComparison['worst'] = null, worstExcess = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = a[i]!, y = b[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      const same = (Number.isNaN(x) && Number.isNaN(y)) || x === y;
      if (!same) {
        failing++;
        needsAtol = Infinity; needsRtol = Infinity; maxAbs = Infinity; maxRel = Infinity;
        if (worstExcess < Infinity) { worstExcess = Infinity; worst = { index: i, got: x, expected: y }; }
      }
      continue;
    }
    const d = Math.abs(x - y), ay = Math.abs(y);
    absErr[nAbs++] = d; sumAbs += d; if (d > maxAbs) maxAbs = d;
    if (ay > 0) { const r = d / ay; relErr[nRel++] = r; sumRel += r; if (r > maxRel) maxRel = r; }
    const excess = d - (tol.atol + tol.rtol * ay);
    if (excess > 0) failing++;
    if (excess > worstExcess) { worstExcess = excess; worst = { index: i, got: x, expected: y }; }
    needsAtol = Math.max(needsAtol, d - tol.rtol * ay);
    if (d > tol.atol) needsRtol = ay > 0 ? Math.max(needsRtol, (d - tol.atol) / ay) : Infinity;
  }
  const abs = nAbs ? { max: maxAbs, mean: sumAbs / nAbs, median: median(absErr, nAbs) } : { ...ZERO, max: maxAbs };
  const rel = nRel ? { max: maxRel, mean: sumRel / nRel, median: median(relErr, nRel) } : { ...ZERO, max: maxRel };
  const nonFinite = { got: countNonFinite(a), expected: countNonFinite(b) };
  const c: OutputComparison = {
    name, dims: [...got.dims], expectedDims: [...expected.dims], pass: failing === 0, count: n, failing, abs, rel,
    worst, needsAtol: Math.max(0, needsAtol), needsRtol: Math.max(0, needsRtol), nonFinite,
  };
  const classes = exact ? undefined : classAgreement(a, b, got.dims);
  if (classes) c.classes = classes;
  if (failing && (nonFinite.got.nan || nonFinite.got.inf) && !(nonFinite.expected.nan || nonFinite.expected.inf)) {
    c.problem = `${nonFinite.got.nan} NaN and ${nonFinite.got.inf} Inf values where the reference is finite`;
  }
  return c;
}

/** Compares every output of the reference (by name) with the candidate's. */
export function compareOutputs(got: Readonly<Record<string, HostTensor>>, expected: Readonly<Record<string, HostTensor>>, tol: Tolerance): OutputComparison[] {
  return Object.keys(expected).map((name) => compareTensors(name, Object.hasOwn(got, name) ? got[name] : undefined, expected[name]!, tol));
}

/** Short number for reports: 3 significant digits, exponent form for small/large values. */
export function fmt(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return '0';
  const ax = Math.abs(x);
  return ax >= 1e-3 && ax < 1e4 ? String(Number(x.toPrecision(3))) : x.toExponential(2).replace(/\.?0+e/, 'e');
}
