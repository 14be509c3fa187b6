/**
 * onnxruntime's profiler output (chrome trace events, one JSON array) summed into node types and
 * nodes by time, for every `vitx bench` backend. Where the events come from (onnxruntime 1.30):
 *
 *   cpu, webgpu      onnxruntime-node writes `<profileFilePrefix>_<date>.json` at endProfiling()
 *   wasm, browser-*  onnxruntime-web's profiler writes the same array to std::cout at endProfiling()
 *                    (profiler.h: the wasm build has no file system to write to): emscripten prints
 *                    it line by line, in Node with fs.writeSync(1, …), in a page with console.log
 *
 * Events used:
 *
 *   cat "Session", name "model_run"        one per session.run(): [ts, ts + dur] bounds a run (µs)
 *   cat "Node", name "<node>_kernel_time"  a kernel's host time, args.op_name / args.provider;
 *                                          on the WebGPU provider only the time to record the
 *                                          dispatch (the GPU runs it later), so not used there
 *   cat "Api", name "<node>&<op>&<program>" WebGPU provider: one GPU program's time from timestamp
 *                                          queries (webgpu_context.cc CollectProfilingData); a node
 *                                          may run several programs. Written only when the device
 *                                          has the timestamp-query feature.
 *
 * Only the last `runs` model_run intervals count (the timed runs, not the warm-up), so the sum of
 * node times is at most the wall time of the timed runs.
 */
import fs from 'node:fs';

export interface ProfileEvent { cat: string; name: string; ts?: number; dur: number; args?: { op_name?: string; provider?: string } }

export interface ProfileSummary {
  /** 'kernel': host kernel times (CPU, WebAssembly); 'gpu': WebGPU timestamp queries (+ nodes the CPU provider ran). */
  source: 'kernel' | 'gpu';
  /** Timed runs covered; totalMs sums every node over them. */
  runs: number;
  totalMs: number;
  byType: { op: string; ms: number; share: number }[];
  byNode: { node: string; op: string; ms: number }[];
}

/** A backend whose profiler gives no per-node times: why, in one line. */
export interface ProfileUnavailable { unavailable: string }

interface Timed { node: string; op: string; ts: number; dur: number; gpu: boolean }

const WEBGPU_PROVIDER = 'WebGpuExecutionProvider';

/** The node times of the events, host kernels and WebGPU programs separately. */
function nodeTimes(events: readonly ProfileEvent[]): { host: Timed[]; gpu: Timed[]; webgpuNodes: number } {
  const host: Timed[] = [], gpu: Timed[] = [];
  let webgpuNodes = 0;
  for (const e of events) {
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
      if (e.args?.provider === WEBGPU_PROVIDER) { webgpuNodes++; continue; }
      host.push({ node: e.name.slice(0, -'_kernel_time'.length), op: e.args?.op_name ?? '?', ts: e.ts ?? 0, dur: e.dur, gpu: false });
    } else if (e.cat === 'Api') {
      const parts = e.name.split('&');
      if (parts.length >= 3) gpu.push({ node: parts.slice(0, -2).join('&'), op: parts.at(-2)!, ts: e.ts ?? 0, dur: e.dur, gpu: true });
    }
  }
  return { host, gpu, webgpuNodes };
}

/**
 * The events of the last `runs` runs: those that start inside one of the last `runs` model_run
 * intervals. When a category's events mostly start outside every run (their clock is not the
 * session's: onnxruntime marks aligning GPU timestamps with it as a TODO), every run dispatches
 * the same programs, so the last runs/allRuns share of them, in time order, is taken.
 */
function lastRuns(xs: readonly Timed[], all: readonly [number, number][], runs: number): Timed[] {
  const inside = (t: Timed, iv: readonly [number, number][]) => iv.some(([a, b]) => t.ts >= a && t.ts <= b);
  const timed = all.slice(all.length - runs);
  if (2 * xs.filter((t) => inside(t, all)).length >= xs.length) return xs.filter((t) => inside(t, timed));
  if (xs.length % all.length !== 0) return [];
  return [...xs].sort((a, b) => a.ts - b.ts).slice(xs.length - (xs.length / all.length) * runs);
}

/** Sums node times over the last `runs` runs per op type and per node (top `top` of each). */
export function summarizeProfile(events: readonly ProfileEvent[], o: { runs: number; top?: number }): ProfileSummary | ProfileUnavailable {
  const top = o.top ?? 10;
  const runEvents = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  if (runEvents.length < o.runs) return { unavailable: `the profiler recorded ${runEvents.length} runs, expected at least ${o.runs}` };
  const intervals = runEvents.map((e): [number, number] => [e.ts ?? 0, (e.ts ?? 0) + e.dur]);
  const { host, gpu, webgpuNodes } = nodeTimes(events);
  if (webgpuNodes > 0 && gpu.length === 0) return { unavailable: 'no per-node GPU times: the WebGPU device lacks the timestamp-query feature, so onnxruntime records only when each kernel was dispatched' };
  const timed = [...lastRuns(host, intervals, o.runs), ...lastRuns(gpu, intervals, o.runs)];
  if (timed.length === 0) return { unavailable: 'the profiler recorded no node times' };
  const types = new Map<string, number>(), nodes = new Map<string, { op: string; us: number }>();
  for (const t of timed) {
    types.set(t.op, (types.get(t.op) ?? 0) + t.dur);
    const n = nodes.get(t.node) ?? { op: t.op, us: 0 };
    n.us += t.dur;
    nodes.set(t.node, n);
  }
  const total = timed.reduce((a, t) => a + t.dur, 0);
  return {
    source: gpu.length > 0 ? 'gpu' : 'kernel',
    runs: o.runs,
    totalMs: total / 1000,
    byType: [...types].sort((a, b) => b[1] - a[1]).slice(0, top).map(([op, us]) => ({ op, ms: us / 1000, share: us / (total || 1) })),
    byNode: [...nodes].sort((a, b) => b[1].us - a[1].us).slice(0, top).map(([node, v]) => ({ node, op: v.op, ms: v.us / 1000 })),
  };
}

/** The summary of the events `read` returns; a failure to read or parse them becomes a one-line reason. */
export async function profileOf(read: () => Promise<ProfileEvent[]> | ProfileEvent[], runs: number): Promise<ProfileSummary | ProfileUnavailable> {
  let events: ProfileEvent[];
  try {
    events = await read();
  } catch (e) {
    return { unavailable: (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim() };
  }
  return summarizeProfile(events, { runs });
}

/**
 * The profiler's JSON array as printed by onnxruntime-web (text between the first '[' and the
 * last ']'). onnxruntime writes node names unescaped, so a name with a quote makes it invalid JSON.
 */
export function parseProfileText(text: string): ProfileEvent[] {
  const a = text.indexOf('['), b = text.lastIndexOf(']');
  if (a < 0 || b < a) throw new Error('onnxruntime-web printed no profile');
  let events: unknown;
  try {
    events = JSON.parse(text.slice(a, b + 1));
  } catch {
    throw new Error('onnxruntime\'s profile is not valid JSON (a node name with a quote or backslash?)');
  }
  if (!Array.isArray(events)) throw new Error('onnxruntime\'s profile is not an array of events');
  return events as ProfileEvent[];
}

/**
 * Runs `f` (synchronous) while catching what onnxruntime-web's WebAssembly module writes to
 * stdout: in Node, emscripten prints each line with `fs.writeSync(1, line)` through the module's
 * own `require('fs')`, the same object as this module's `fs`.
 */
export function captureWasmStdout(f: () => void): string {
  const original = fs.writeSync;
  const chunks: string[] = [];
  const capture = function (this: unknown, fd: number, data: unknown, ...rest: unknown[]): number {
    if (fd === 1 && typeof data === 'string') { chunks.push(data); return Buffer.byteLength(data); }
    return (original as (...a: unknown[]) => number).call(this, fd, data, ...rest);
  };
  (fs as { writeSync: unknown }).writeSync = capture;
  try {
    f();
  } finally {
    (fs as { writeSync: unknown }).writeSync = original;
  }
  return chunks.join('');
}
