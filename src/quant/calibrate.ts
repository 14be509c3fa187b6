/**
 * Activation ranges from calibration data: the float graph runs on onnxruntime CPU with the
 * tensors to quantize exposed as extra outputs (in chunks of bounded size), and each tensor's
 * range comes from one of
 *
 *   minmax      [min, max] over all calibration samples
 *   percentile  T = the p-quantile of |x| (p = 99.999 %); range [max(min, −T), min(max, T)]
 *   entropy     T minimizing KL(P‖Q) between the |x| histogram P (2048 bins, outliers folded into
 *               the last kept bin) and its 128-level quantization Q (TensorRT's calibrator);
 *               range as for percentile
 *
 * The graph runs on the host's session (platform/: onnxruntime-web's WASM in Node and in a page,
 * which compute the same activations bit for bit: the same ranges, so the same int8 bytes). percentile and entropy need a second pass (histograms over [0, max|x|] of the first pass).
 */
import type { Graph, Value } from '../graph/ir.js';
import { serialize } from '../onnx/serialize.js';
import { platform } from '../platform/index.js';
import type { Samples } from './data.js';

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

export interface Range { lo: number; hi: number }

const BINS = 2048;
const PERCENTILE = 0.99999;

interface Acc { min: number; max: number; hist: Float64Array | null }

function numelOf(v: Value, batch: number): number {
  return v.shape.reduce<number>((n, d, i) => n * (typeof d === 'number' ? d : i === 0 ? batch : 1), 1);
}

/** Feeds for sample i: the graph's one input, batch filled by cycling through the samples. */
export function feedFor(g: Graph, s: Samples, i: number): Record<string, { dtype: 'float32'; dims: number[]; data: Float32Array }> {
  const input = g.inputs[0]!;
  const b = typeof input.shape[0] === 'number' ? input.shape[0] : 1;
  const k = s.data[0]!.length;
  const data = new Float32Array(b * k);
  for (let j = 0; j < b; j++) data.set(s.data[(i + j) % s.data.length]!, j * k);
  return { [input.name]: { dtype: 'float32', dims: [b, ...s.shape], data } };
}

/** Runs the float graph on every sample, exposing `values`; returns each value's range. */
export async function calibrate(g: Graph, opset: number, values: readonly Value[], samples: Samples, method: CalibrationMethod,
  onProgress?: (s: string) => void): Promise<Map<string, Range>> {
  const chunks: Value[][] = [];
  let cur: Value[] = [], bytes = 0;
  for (const v of values) {
    const sz = numelOf(v, 1) * 4;
    if (cur.length && bytes + sz > 192 << 20) { chunks.push(cur); cur = []; bytes = 0; }
    cur.push(v); bytes += sz;
  }
  if (cur.length) chunks.push(cur);
  const acc = new Map<string, Acc>(values.map((v) => [v.name, { min: Infinity, max: -Infinity, hist: null }]));
  const passes = method === 'minmax' ? 1 : 2;
  for (const [ci, chunk] of chunks.entries()) {
    const names = chunk.map((v) => v.name);
    const before = g.outputs.length;
    for (const v of chunk) if (!g.outputs.includes(v)) g.outputs.push(v);
    let model: Uint8Array;
    try { model = serialize(g, { opset }); } finally { g.outputs.length = before; }
    const session = await platform().openSession(model);
    try {
      for (let pass = 0; pass < passes; pass++) {
        onProgress?.(`calibration: ${names.length} tensors, part ${ci + 1} of ${chunks.length}, pass ${pass + 1} of ${passes}`);
        for (let i = 0; i < samples.data.length; i++) {
          const out = await session.run(feedFor(g, samples, i), names);
          for (const n of names) {
            const a = acc.get(n)!, d = out[n]!.data as Float32Array;
            if (pass === 0) {
              let lo = a.min, hi = a.max;
              for (let j = 0; j < d.length; j++) { const x = d[j]!; if (x < lo) lo = x; if (x > hi) hi = x; }
              a.min = lo; a.max = hi;
            } else {
              const amax = Math.max(Math.abs(a.min), Math.abs(a.max));
              a.hist ??= new Float64Array(BINS);
              if (amax === 0) { a.hist[0]! += d.length; continue; }
              const k = BINS / amax;
              for (let j = 0; j < d.length; j++) a.hist[Math.min(BINS - 1, Math.floor(Math.abs(d[j]!) * k))]! += 1;
            }
          }
        }
      }
    } finally {
      await session.release();
    }
  }
  const ranges = new Map<string, Range>();
  for (const [n, a] of acc) {
    if (!Number.isFinite(a.min) || !Number.isFinite(a.max)) throw new Error(`calibration: tensor ${n} has NaN or Inf values`);
    if (method === 'minmax' || !a.hist) { ranges.set(n, { lo: a.min, hi: a.max }); continue; }
    const amax = Math.max(Math.abs(a.min), Math.abs(a.max));
    const t = method === 'percentile' ? percentileThreshold(a.hist, amax, PERCENTILE) : entropyThreshold(a.hist, amax);
    ranges.set(n, { lo: Math.max(a.min, -t), hi: Math.min(a.max, t) });
  }
  return ranges;
}

/** Smallest bin edge below which a fraction p of |x| lies. */
export function percentileThreshold(hist: Float64Array, amax: number, p: number): number {
  const total = hist.reduce((a, b) => a + b, 0);
  let c = 0;
  for (let i = 0; i < hist.length; i++) {
    c += hist[i]!;
    if (c >= p * total) return ((i + 1) / hist.length) * amax;
  }
  return amax;
}

/** TensorRT's entropy calibration over an |x| histogram: the threshold with the least KL divergence. */
export function entropyThreshold(hist: Float64Array, amax: number, levels = 128): number {
  const n = hist.length;
  let best = n, bestKl = Infinity;
  for (let i = levels; i <= n; i += 16) {
    const p = Float64Array.from(hist.subarray(0, i));
    for (let j = i; j < n; j++) p[i - 1]! += hist[j]!;
    const total = p.reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    // Q: merge i bins into `levels` groups, spread each group's mass over its non-empty bins
    const q = new Float64Array(i);
    for (let l = 0; l < levels; l++) {
      const s = Math.floor((l * i) / levels), e = Math.floor(((l + 1) * i) / levels);
      let mass = 0, nz = 0;
      for (let j = s; j < e; j++) { mass += hist[j]!; if (hist[j]! > 0) nz++; }
      for (let j = s; j < e; j++) if (hist[j]! > 0) q[j] = mass / nz;
    }
    const qt = q.reduce((a, b) => a + b, 0);
    let kl = 0;
    for (let j = 0; j < i; j++) {
      const pj = p[j]! / total;
      if (pj === 0) continue;
      const qj = q[j]! / qt;
      kl += qj > 0 ? pj * Math.log(pj / qj) : pj * 30; // an empty Q bin under P mass: large penalty
    }
    if (kl < bestKl) { bestKl = kl; best = i; }
  }
  return ((best + 0.5) / n) * amax;
}
