/**
 * Fidelity of a quantized file against its float32 source, on held-out inputs:
 *
 *   cosine(a, b)   = a·b / (‖a‖‖b‖)                       per sample (one row of the output)
 *   pearson(a, b)  = cosine(a − mean(a), b − mean(b))       per sample
 *   max rel error  = max|a − b| / max|a|                    per sample
 *   top-1 / top-5  agreement of [rows, classes] outputs (top-5: same set of 5 classes)
 *
 * (a = float32, b = int8; the report keeps each metric's worst sample). Per layer: on the first
 * held-out sample, every tensor both files compute under the same name (verify/diff.ts's
 * bisection machinery) gets e = ‖a − b‖ / ‖a‖; the layer that loses most is the node whose e grows
 * most over the largest e of its compared inputs.
 */
import type { Graph, Value } from '../graph/ir.js';
import { parseOnnx } from '../onnx/parse.js';
import type { Feeds, Outputs } from '../runtime/backend.js';

/** Opens a session on a model (optimizations as the caller chose); sessions are reused across samples. */
export type Opener = (model: Uint8Array) => Promise<{ infer(feeds: Feeds, names?: readonly string[]): Promise<Outputs>; release(): Promise<void> }>;
import { commonValues, withExtraOutputs } from '../verify/diff.js';
import type { Samples } from './data.js';
import { feedFor } from './calibrate.js';

export interface SampleFidelity { name: string; cosine: number; pearson: number; maxRelError: number; top1: boolean | null; top5: boolean | null }
export interface LayerError { node: string; op: string; output: string; error: number; added: number }

export interface FidelityReport {
  output: string;
  samples: SampleFidelity[];
  worst: { cosine: number; pearson: number; maxRelError: number };
  top1Agreement: number | null;
  top5Agreement: number | null;
  layers: { compared: number; worst: LayerError[] };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>, ma = 0, mb = 0): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - ma) * (b[i]! - mb);
  return s;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>, centered = false): number {
  let ma = 0, mb = 0;
  if (centered) { for (let i = 0; i < a.length; i++) { ma += a[i]!; mb += b[i]!; } ma /= a.length; mb /= b.length; }
  const d = Math.sqrt(dot(a, a, ma, ma) * dot(b, b, mb, mb));
  return d === 0 ? (dot(a, b, ma, mb) === 0 ? 1 : 0) : dot(a, b, ma, mb) / d;
}

function topk(x: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: x.length }, (_, i) => i).sort((i, j) => x[j]! - x[i]! || i - j).slice(0, k);
}

export function compareRow(name: string, a: ArrayLike<number>, b: ArrayLike<number>, classes: boolean): SampleFidelity {
  let maxA = 0, maxD = 0;
  for (let i = 0; i < a.length; i++) { maxA = Math.max(maxA, Math.abs(a[i]!)); maxD = Math.max(maxD, Math.abs(a[i]! - b[i]!)); }
  const ta = classes ? topk(a, 5) : [], tb = classes ? topk(b, 5) : [];
  return {
    name, cosine: cosine(a, b), pearson: cosine(a, b, true), maxRelError: maxA > 0 ? maxD / maxA : maxD,
    top1: classes ? ta[0] === tb[0] : null,
    top5: classes ? ta.every((c) => tb.includes(c)) : null,
  };
}

/**
 * Runs both files on every held-out sample (sessions from `open`) and compares the first output;
 * per-layer errors use `openLayers` (optimizations off, so that every named tensor exists).
 */
export async function fidelity(floatModel: Uint8Array, int8Model: Uint8Array, heldOut: Samples, open: Opener, openLayers: Opener = open): Promise<FidelityReport> {
  const fg = parseOnnx(floatModel), qg = parseOnnx(int8Model);
  const out = fg.graph.outputs[0]!.name;
  const samples: SampleFidelity[] = [];
  const [sa, sb] = [await open(floatModel), await open(int8Model)];
  try {
    for (let i = 0; i < heldOut.data.length; i++) {
      const feeds = feedFor(fg.graph, heldOut, i);
      const a = (await sa.infer(feeds, [out]))[out]!, b = (await sb.infer(feeds, [out]))[out]!;
      const cols = a.dims[a.dims.length - 1]!;
      const row = (t: typeof a) => (t.data as Float32Array).subarray(0, cols); // sample i is row 0
      samples.push(compareRow(heldOut.names[i]!, row(a), row(b), a.dims.length === 2 && cols >= 5));
    }
  } finally {
    await sa.release(); await sb.release();
  }
  const agree = (k: 'top1' | 'top5') => (samples[0]?.[k] === null ? null : samples.filter((s) => s[k]).length / samples.length);
  const layers = await layerErrors(fg.graph, fg.opset, qg.graph, qg.opset, feedFor(fg.graph, heldOut, 0), openLayers);
  return {
    output: out, samples,
    worst: {
      cosine: Math.min(...samples.map((s) => s.cosine)),
      pearson: Math.min(...samples.map((s) => s.pearson)),
      maxRelError: Math.max(...samples.map((s) => s.maxRelError)),
    },
    top1Agreement: agree('top1'), top5Agreement: agree('top5'), layers,
  };
}

async function layerErrors(fg: Graph, fo: number, qg: Graph, qo: number, feeds: Feeds, open: Opener): Promise<FidelityReport['layers']> {
  const values = commonValues(fg, qg);
  const errors = new Map<string, number>();
  const chunks: string[][] = [];
  let cur: string[] = [], bytes = 0;
  for (const v of values) {
    const sz = 4 * v.shape.reduce<number>((n, d) => n * (typeof d === 'number' ? d : 1), 1);
    if (cur.length && bytes + sz > 256 << 20) { chunks.push(cur); cur = []; bytes = 0; }
    cur.push(v.name); bytes += sz;
  }
  if (cur.length) chunks.push(cur);
  const runOnce = async (m: Uint8Array, names: readonly string[]) => {
    const s = await open(m);
    try { return await s.infer(feeds, names); } finally { await s.release(); }
  };
  for (const names of chunks) {
    const a = await runOnce(withExtraOutputs(fg, fo, names), names);
    const b = await runOnce(withExtraOutputs(qg, qo, names), names);
    for (const n of names) {
      const x = a[n]!.data as Float32Array, y = b[n]!.data as Float32Array;
      let num = 0, den = 0;
      for (let j = 0; j < x.length; j++) { num += (x[j]! - y[j]!) ** 2; den += x[j]! ** 2; }
      errors.set(n, den > 0 ? Math.sqrt(num / den) : Math.sqrt(num));
    }
  }
  const byName = new Map(values.map((v) => [v.name, v]));
  const inputError = (v: Value): number => {
    const n = fg.value(v.name)?.producer;
    if (!n) return 0;
    let e = 0;
    for (const x of n.inputs) {
      if (!x || x.isConstant) continue;
      // follow single-input layout ops back to a compared value
      let y: Value | null = x;
      while (y && !errors.has(y.name) && y.producer && y.producer.inputs.filter((z) => z && !z.isConstant).length === 1) y = y.producer.inputs.find((z) => z && !z.isConstant) ?? null;
      e = Math.max(e, y ? errors.get(y.name) ?? 0 : 0);
    }
    return e;
  };
  const worst: LayerError[] = [];
  for (const [name, error] of errors) {
    const v = byName.get(name)!;
    const node = fg.value(name)!.producer!;
    worst.push({ node: node.name, op: node.op, output: name, error, added: error - inputError(v) });
  }
  worst.sort((p, q) => q.added - p.added);
  return { compared: values.length, worst: worst.slice(0, 5) };
}
