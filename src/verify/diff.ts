/**
 * `vitx diff a.onnx b.onnx` as a library: what changed between two ONNX files, and whether it
 * matters numerically.
 *
 * Structure is keyed on stable names: nodes by node name, initializers by tensor name (checkpoint
 * keys), inputs/outputs by name. For nodes present in both: op type, inputs (by value name),
 * attributes and output shapes; for initializers: dtype, shape, and the largest elementwise
 * difference. Numbers: both files run on the same backend with the same seeded inputs and every
 * output present in both is compared (a = b's output, reference = a's).
 *
 * Bisection: every node output of b whose name is also a node output of a (same dtype and shape)
 * is exposed as an extra graph output, in b's topological order, in chunks of bounded size; the
 * first one beyond tolerance is the first diverging node.
 */
import { attrText } from '../graph/print.js';
import { type Attr, type Graph, type Node, type Value } from '../graph/ir.js';
import { shapeToString } from '../graph/shapes.js';
import type { Tensor } from '../graph/tensor.js';
import { OnnxParseError, parseOnnx } from '../onnx/parse.js';
import { serialize } from '../onnx/serialize.js';
import { type Backend, firstLine, type Outputs } from '../runtime/backend.js';
import { asNumbers, compareTensors, type OutputComparison, type Tolerance, uncompared } from './compare.js';
import { readSignature, type Signature } from './inputs.js';
import { type Matching, matchInterfaces } from './match.js';

/** A node by name; a file's unnamed node as `#12 (Conv)` with its position in the file's node list. */
export interface NamedOp { name: string; op: string; unnamedIndex?: number }
export interface NodeChange extends NamedOp { changes: string[] }
export interface InitInfo { name: string; dtype: string; shape: number[] }
export interface InitChange { name: string; changes: string[]; maxAbsDiff: number | null; differing: number | null; count: number }
export interface IoChange { name: string; a: string; b: string }

export interface StructuralDiff {
  opset: { a: number; b: number } | null;
  inputs: { added: string[]; removed: string[]; changed: IoChange[] };
  outputs: { added: string[]; removed: string[]; changed: IoChange[] };
  nodes: { added: NamedOp[]; removed: NamedOp[]; changed: NodeChange[] };
  initializers: { added: InitInfo[]; removed: InitInfo[]; changed: InitChange[] };
  /** Op histogram differences: op, count in a, count in b. */
  ops: { op: string; a: number; b: number }[];
  identical: boolean;
}

function sameTensor(x: Tensor, y: Tensor): boolean {
  if (x.dtype !== y.dtype || x.shape.length !== y.shape.length || x.shape.some((d, i) => d !== y.shape[i])) return false;
  return Buffer.from(x.bytes()).equals(Buffer.from(y.bytes()));
}

function attrEqual(x: Attr, y: Attr): boolean {
  if (x.kind !== y.kind) return false;
  if (x.kind === 'tensor') return sameTensor(x.value, (y as typeof x).value);
  return JSON.stringify(x.value) === JSON.stringify(y.value);
}

const typeText = (v: Value) => `${v.dtype}${shapeToString(v.shape)}`;

function nodeChanges(x: Node, y: Node): string[] {
  const c: string[] = [];
  if (x.op !== y.op || x.domain !== y.domain) c.push(`op ${x.domain ? `${x.domain}.` : ''}${x.op} → ${y.domain ? `${y.domain}.` : ''}${y.op}`);
  const n = Math.max(x.inputs.length, y.inputs.length);
  for (let i = 0; i < n; i++) {
    const a = x.inputs[i]?.name ?? '', b = y.inputs[i]?.name ?? '';
    if (a !== b) c.push(`input ${i}: ${a || '(none)'} → ${b || '(none)'}`);
  }
  for (const k of [...new Set([...Object.keys(x.attrs), ...Object.keys(y.attrs)])].sort()) {
    const a = x.attrs[k], b = y.attrs[k];
    if (a && !b) c.push(`attribute ${k}=${attrText(a)} removed`);
    else if (!a && b) c.push(`attribute ${k}=${attrText(b)} added`);
    else if (a && b && !attrEqual(a, b)) c.push(`attribute ${k}: ${attrText(a)} → ${attrText(b)}`);
  }
  const m = Math.max(x.outputs.length, y.outputs.length);
  for (let i = 0; i < m; i++) {
    const a = x.outputs[i], b = y.outputs[i];
    if (!a || !b) c.push(`output ${i} ${a ? 'removed' : 'added'}`);
    else if (a.name !== b.name) c.push(`output ${i}: ${a.name} → ${b.name}`);
    else if (typeText(a) !== typeText(b)) c.push(`output ${a.name}: ${typeText(a)} → ${typeText(b)}`);
  }
  return c;
}

function initChange(name: string, x: Tensor, y: Tensor): InitChange | null {
  const shapeSame = x.shape.length === y.shape.length && x.shape.every((d, i) => d === y.shape[i]);
  const changes: string[] = [];
  if (x.dtype !== y.dtype) changes.push(`dtype ${x.dtype} → ${y.dtype}`);
  if (!shapeSame) changes.push(`shape [${x.shape.join(',')}] → [${y.shape.join(',')}]`);
  if (changes.length) return { name, changes, maxAbsDiff: null, differing: null, count: y.size };
  if (sameTensor(x, y)) return null;
  const a = asNumbers({ dtype: x.dtype, dims: x.shape, data: x.data as Float32Array });
  const b = asNumbers({ dtype: y.dtype, dims: y.shape, data: y.data as Float32Array });
  let max = 0, differing = 0;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], b[i])) continue;
    differing++;
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  if (differing === 0) return null; // e.g. only NaN payload bits differ
  return { name, changes: ['values'], maxAbsDiff: max, differing, count: a.length };
}

function ioDiff(xs: readonly Value[], ys: readonly Value[]): StructuralDiff['inputs'] {
  const bx = new Map(xs.map((v) => [v.name, v])), by = new Map(ys.map((v) => [v.name, v]));
  return {
    added: ys.filter((v) => !bx.has(v.name)).map((v) => v.name),
    removed: xs.filter((v) => !by.has(v.name)).map((v) => v.name),
    changed: xs.filter((v) => by.has(v.name) && typeText(v) !== typeText(by.get(v.name)!)).map((v) => ({ name: v.name, a: typeText(v), b: typeText(by.get(v.name)!) })),
  };
}

const named = (n: Node): NamedOp => (n.unnamedIndex === null ? { name: n.name, op: n.op } : { name: n.label, op: n.op, unnamedIndex: n.unnamedIndex });

export function structuralDiff(a: Graph, b: Graph, opsets: { a: number; b: number }): StructuralDiff {
  const na = new Map([...a.nodes].map((n) => [n.name, n])), nb = new Map([...b.nodes].map((n) => [n.name, n]));
  const nodes: StructuralDiff['nodes'] = {
    added: [...b.nodes].filter((n) => !na.has(n.name)).map(named),
    removed: [...a.nodes].filter((n) => !nb.has(n.name)).map(named),
    changed: [],
  };
  for (const x of a.nodes) {
    const y = nb.get(x.name);
    if (!y) continue;
    const c = nodeChanges(x, y);
    if (c.length) nodes.changed.push({ ...named(x), op: y.op, changes: c });
  }
  const info = (v: Value): InitInfo => ({ name: v.name, dtype: v.dtype, shape: [...v.constant!.shape] });
  const initializers: StructuralDiff['initializers'] = {
    added: [...b.initializers.values()].filter((v) => !a.initializers.has(v.name)).map(info),
    removed: [...a.initializers.values()].filter((v) => !b.initializers.has(v.name)).map(info),
    changed: [],
  };
  for (const [name, x] of a.initializers) {
    const y = b.initializers.get(name);
    if (!y) continue;
    const c = initChange(name, x.constant!, y.constant!);
    if (c) initializers.changed.push(c);
  }
  const ha = a.opHistogram(), hb = b.opHistogram();
  const ops = [...new Set([...ha.keys(), ...hb.keys()])].sort()
    .filter((op) => (ha.get(op) ?? 0) !== (hb.get(op) ?? 0)).map((op) => ({ op, a: ha.get(op) ?? 0, b: hb.get(op) ?? 0 }));
  const d: StructuralDiff = {
    opset: opsets.a === opsets.b ? null : opsets,
    inputs: ioDiff(a.inputs, b.inputs),
    outputs: ioDiff(a.outputs, b.outputs),
    nodes, initializers, ops, identical: false,
  };
  const lists = [d.inputs.added, d.inputs.removed, d.inputs.changed, d.outputs.added, d.outputs.removed, d.outputs.changed,
    nodes.added, nodes.removed, nodes.changed, initializers.added, initializers.removed, initializers.changed];
  d.identical = d.opset === null && lists.every((l) => l.length === 0);
  return d;
}

export interface Divergence {
  /** The node's name, or `#12 (Conv)` for a file's unnamed node (then with `unnamedIndex`). */
  node: string;
  op: string;
  unnamedIndex?: number;
  output: string;
  comparison: OutputComparison;
  /** Inputs of the node: compared and within tolerance, a changed or b-only initializer, or not comparable. */
  inputs: { name: string; status: 'matched' | 'initializer changed' | 'only in b' | 'graph input' | 'constant' | 'not compared' }[];
}

export interface BisectResult {
  /** Intermediate values compared (common to both files by name). */
  compared: number;
  runs: number;
  first: Divergence | null;
  /** Why no bisection ran. */
  skipped?: string;
}

export interface DiffOptions {
  backend: Backend;
  tolerance: Tolerance;
  seed?: number;
  batch?: number;
  bisect?: boolean;
  /** Bound on the generated inputs' total size in bytes (default 1 GiB; the CLI's --max-input-mb). */
  maxInputBytes?: number;
  /** Upper bound on the bytes of extra outputs exposed per bisection run (default 256 MB). */
  chunkBytes?: number;
  onProgress?: (what: string) => void;
}

export interface DiffReport {
  a: string;
  b: string;
  structure: StructuralDiff;
  numeric: { backend: string; seed: number; tolerance: Tolerance; outputs: OutputComparison[]; pass: boolean; error?: string; matching?: string[] };
  bisect?: BisectResult;
  /** Outputs within tolerance and the same interface (structure may differ). */
  equivalent: boolean;
}

export class DiffError extends Error {}

interface Side { path: string; bytes: Uint8Array; graph: Graph; opset: number; sig: Signature }

/** Parses one side; `bytes` are self-contained (external data already inline: see onnx/external.ts). */
function load(path: string, bytes: Uint8Array): Side {
  try {
    const sig = readSignature(bytes);
    const p = parseOnnx(bytes);
    return { path, bytes, graph: p.graph, opset: p.opset, sig };
  } catch (e) {
    if (e instanceof OnnxParseError) throw new OnnxParseError(`${path}: ${e.message}`);
    throw e;
  }
}

function numel(v: Value, batch: number): number | null {
  let n = 1;
  for (const [i, d] of v.shape.entries()) {
    if (typeof d === 'number') n *= d;
    else if (i === 0) n *= batch;
    else return null;
  }
  return n;
}

/** b's node outputs that a also computes (same name, dtype and shape), in b's topological order. */
export function commonValues(a: Graph, b: Graph): Value[] {
  b.topoSort();
  const out: Value[] = [];
  for (const n of b.nodes) {
    for (const v of n.outputs) {
      const w = a.value(v.name);
      if (!w || !w.producer || !v.dtype.startsWith('float') || w.dtype !== v.dtype) continue;
      if (shapeToString(w.shape) !== shapeToString(v.shape)) continue;
      out.push(v);
    }
  }
  return out;
}

function withOutputs(s: Side, names: readonly string[]): Uint8Array {
  return withExtraOutputs(s.graph, s.opset, names);
}

/** `g` serialized with the named values as extra graph outputs (g is left as it was). */
export function withExtraOutputs(g: Graph, opset: number, names: readonly string[]): Uint8Array {
  const before = g.outputs.length;
  for (const n of names) {
    const v = g.value(n)!;
    if (!g.outputs.includes(v)) g.outputs.push(v);
  }
  try {
    return serialize(g, { opset });
  } finally {
    g.outputs.length = before;
  }
}

async function bisect(a: Side, b: Side, m: Matching, o: DiffOptions, changedInits: ReadonlySet<string>): Promise<BisectResult> {
  const batch = o.batch ?? 1;
  const values = commonValues(a.graph, b.graph);
  if (values.every((v) => b.graph.outputs.includes(v))) {
    return { compared: 0, runs: 0, first: null, skipped: 'the files share no intermediate value names (written by different tools?), so there is nothing to bisect on; only the outputs were compared' };
  }
  const limit = o.chunkBytes ?? 256 << 20;
  const chunks: Value[][] = [];
  let cur: Value[] = [], bytes = 0;
  for (const v of values) {
    const sz = (numel(v, batch) ?? limit / 4) * 4; // a value of unknown size gets a chunk of its own
    if (cur.length && bytes + sz > limit) { chunks.push(cur); cur = []; bytes = 0; }
    cur.push(v); bytes += sz;
  }
  if (cur.length) chunks.push(cur);
  const matched = new Set<string>();
  let runs = 0;
  for (const [ci, chunk] of chunks.entries()) {
    o.onProgress?.(`bisect: comparing ${chunk.length} intermediate values (part ${ci + 1} of ${chunks.length})`);
    const names = chunk.map((v) => v.name);
    const [ra, rb] = [await o.backend.run(withOutputs(a, names), m.feedsA, names), await o.backend.run(withOutputs(b, names), m.feedsB, names)];
    runs += 2;
    for (const v of chunk) {
      const c = compareTensors(v.name, rb[v.name], ra[v.name]!, o.tolerance);
      if (c.pass) { matched.add(v.name); continue; }
      const n = v.producer!;
      const inputs = n.inputs.filter((x): x is Value => x !== null).map((x) => ({
        name: x.name,
        status: matched.has(x.name) ? 'matched' as const
          : x.isConstant ? (changedInits.has(x.name) ? 'initializer changed' as const : a.graph.initializers.has(x.name) ? 'constant' as const : 'only in b' as const)
            : x.isGraphInput ? 'graph input' as const : 'not compared' as const,
      }));
      return { compared: values.length, runs, first: { node: n.label, op: n.op, ...(n.unnamedIndex === null ? {} : { unnamedIndex: n.unnamedIndex }), output: v.name, comparison: c, inputs } };
    }
  }
  return { compared: values.length, runs, first: null };
}

/**
 * Every output of both files: each matched pair compared (b's under a's name; an output a run did not
 * return fails as missing), then each output of one file only, as a failed comparison naming the file.
 */
function compareAll(sa: Signature, sb: Signature, pairs: readonly [string, string][], ra: Outputs, rb: Outputs, tol: Tolerance): OutputComparison[] {
  const got = (r: Outputs, k: string) => (Object.hasOwn(r, k) ? r[k] : undefined);
  const out = pairs.map(([x, y]) => {
    const a = got(ra, x), b = got(rb, y);
    return a ? compareTensors(x, b, a, tol) : uncompared(x, b, 'missing from a\'s run');
  });
  for (const s of sa.outputs) if (!pairs.some(([x]) => x === s.name)) out.push(uncompared(s.name, got(ra, s.name), 'only in a: nothing to compare it with'));
  for (const s of sb.outputs) if (!pairs.some(([, y]) => y === s.name)) out.push(uncompared(s.name, got(rb, s.name), 'only in b: nothing to compare it with'));
  return out;
}

export async function diffModels(a: { path: string; bytes: Uint8Array }, b: { path: string; bytes: Uint8Array }, o: DiffOptions): Promise<DiffReport> {
  const A = load(a.path, a.bytes), B = load(b.path, b.bytes);
  const structure = structuralDiff(A.graph, B.graph, { a: A.opset, b: B.opset });
  const seed = o.seed ?? 0;
  const numeric: DiffReport['numeric'] = { backend: o.backend.name, seed, tolerance: o.tolerance, outputs: [], pass: false };
  const matched = matchInterfaces(A.sig, B.sig, { seed, batch: o.batch ?? 1, maxBytes: o.maxInputBytes, what: a.path });
  let feeds: Matching | null = null;
  if (typeof matched === 'string') numeric.error = matched;
  else {
    feeds = matched;
    if (matched.notes.length) numeric.matching = matched.notes;
    try {
      o.onProgress?.(`running both files on ${o.backend.name}`);
      const ra = await o.backend.run(A.bytes, matched.feedsA);
      const rb0 = await o.backend.run(B.bytes, matched.feedsB);
      numeric.outputs = compareAll(A.sig, B.sig, matched.outputs, ra, rb0, o.tolerance);
      const onlyOne = numeric.outputs.filter((c) => c.problem?.startsWith('only in ')).map((c) => c.name);
      if (onlyOne.length) numeric.error = `outputs in only one file: ${onlyOne.join(', ')}`;
      // a pass means every output of both files was compared: none only in one file, none missing from a run
      numeric.pass = !numeric.error && numeric.outputs.length > 0 && numeric.outputs.every((c) => c.pass);
    } catch (e) {
      numeric.error = firstLine(e);
    }
  }
  const report: DiffReport = { a: a.path, b: b.path, structure, numeric, equivalent: numeric.pass };
  if (o.bisect && feeds && !numeric.pass && !numeric.error) {
    const changed = new Set(structure.initializers.changed.map((c) => c.name));
    try {
      report.bisect = await bisect(A, B, feeds, o, changed);
    } catch (e) {
      throw new DiffError(`bisection failed: ${firstLine(e)}`);
    }
  } else if (o.bisect) {
    report.bisect = { compared: 0, runs: 0, first: null, skipped: numeric.error ? 'the outputs could not be compared' : 'the outputs agree within tolerance' };
  }
  return report;
}
