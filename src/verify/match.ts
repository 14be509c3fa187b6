/**
 * How two ONNX files of the same model are fed and compared when they were written by different
 * tools (`vitx diff torch_export.onnx vitx_export.onnx`): inputs and outputs are matched by name,
 * or by position when the names differ (and the counts agree) — which is stated in the report —
 * and every dimension gets one concrete size: a static size from either file, the batch for a
 * symbolic axis 0 in both.
 */
import type { Feeds } from '../runtime/backend.js';
import { checkInputBudget, type IoSpec, seededTensor, type Signature } from './inputs.js';

export interface Matching {
  /** Feeds for a and for b: the same tensors under each file's input names. */
  feedsA: Feeds;
  feedsB: Feeds;
  /** [a's output name, b's output name] compared with each other. */
  outputs: [string, string][];
  /** What was matched by position instead of by name, in words. */
  notes: string[];
}

function pair<T extends IoSpec>(xs: readonly T[], ys: readonly T[], what: string, notes: string[]): [T, T][] | string {
  const byName = xs.filter((x) => ys.some((y) => y.name === x.name));
  if (byName.length === xs.length && xs.length === ys.length) return xs.map((x) => [x, ys.find((y) => y.name === x.name)!]);
  if (what === 'outputs' && byName.length > 0) return byName.map((x) => [x, ys.find((y) => y.name === x.name)!]);
  if (xs.length !== ys.length) return `the files have different ${what} (${xs.map((x) => x.name).join(', ')} vs ${ys.map((y) => y.name).join(', ')})`;
  const moved = xs.map((x, i): [T, T] => [x, ys[i]!]);
  notes.push(`${what} matched by position: ${moved.map(([x, y]) => (x.name === y.name ? x.name : `${x.name} ↔ ${y.name}`)).join(', ')}`);
  return moved;
}

const text = (s: IoSpec) => `${s.name}:${s.dtype}[${s.shape.join(',')}]`;

/** One concrete shape for a pair of inputs, or why there is none. */
function unify(a: IoSpec, b: IoSpec, batch: number): number[] | string {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length) return `the files take different inputs (${text(a)} vs ${text(b)})`;
  const dims: number[] = [];
  for (const [i, x] of a.shape.entries()) {
    const y = b.shape[i]!;
    if (typeof x === 'number' && typeof y === 'number' && x !== y) return `the files take different inputs (${text(a)} vs ${text(b)})`;
    if (typeof x === 'number') dims.push(x);
    else if (typeof y === 'number') dims.push(y);
    else if (i === 0) dims.push(batch);
    else return `input ${a.name} has a symbolic dimension '${x}' at axis ${i} in both files; only the batch (axis 0) can be chosen (--batch)`;
  }
  return dims;
}

export function matchInterfaces(a: Signature, b: Signature, o: { seed: number; batch: number; maxBytes?: number; what?: string }): Matching | string {
  const notes: string[] = [];
  const ins = pair(a.inputs, b.inputs, 'inputs', notes);
  if (typeof ins === 'string') return ins;
  const outs = pair(a.outputs, b.outputs, 'outputs', notes);
  if (typeof outs === 'string') return outs;
  const feedsA: Feeds = {}, feedsB: Feeds = {};
  const dims: number[][] = [];
  for (const [x, y] of ins) {
    const d = unify(x, y, o.batch);
    if (typeof d === 'string') return d;
    dims.push(d);
  }
  checkInputBudget(ins.map(([x], i) => ({ name: x.name, dtype: x.dtype, dims: dims[i]! })), o); // before anything is allocated
  for (const [i, [x, y]] of ins.entries()) {
    const t = seededTensor(x.name, x.dtype, dims[i]!, o.seed);
    feedsA[x.name] = t;
    feedsB[y.name] = t;
  }
  return { feedsA, feedsB, outputs: outs.map(([x, y]) => [x.name, y.name]), notes };
}
