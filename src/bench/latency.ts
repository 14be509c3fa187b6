/**
 * Latency measurement as a user deploys: onnxruntime's graph optimizations ON (level 'all': QDQ
 * fusion, Conv+activation fusion…), unlike verification, which disables them. Sessions are
 * created once; runs are timed one at a time with performance.now().
 *
 *   cpu, webgpu  onnxruntime-node (intra-op threads = --threads; 0 = onnxruntime's default)
 *   wasm         onnxruntime-web in this process (SIMD; --threads sets ort.env.wasm.numThreads,
 *                which onnxruntime-web reads once per process)
 *   browser-*    onnxruntime-web in headless Chromium, WebAssembly (1 thread) or WebGPU
 *
 * Thread spinning is off (`session.intra_op.allow_spinning = 0`) so that interleaved runs of two
 * files do not steal each other's cores.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Feeds, Outputs } from '../runtime/backend.js';
import { dtypeFromOrt, fromOrtOutputs, loadOrt, type TensorCtor, toOrtFeeds } from '../runtime/ort.js';
import { webGpuEnvProbed } from '../runtime/node.js';
import { captureWasmStdout, parseProfileText, type ProfileEvent } from './profile.js';
import { latencyStats } from './stats.js';

export { type LatencyStats, latencyStats, quantile } from './stats.js';

export type { ProfileEvent };

export const BENCH_EPS = ['cpu', 'webgpu', 'wasm', 'browser-wasm', 'browser-webgpu'] as const;
/** Backends timed in this process. */
export type BenchEp = 'cpu' | 'webgpu' | 'wasm';
export type AnyBenchEp = (typeof BENCH_EPS)[number];

/**
 * browser-wasm / browser-webgpu: onnxruntime-web in headless Chromium (runtime/browser.ts), timed
 * inside the page with performance.now() (session created once, optimizations on). One browser per
 * call. With `profile`, also the text onnxruntime-web's profiler printed in the page (profile.ts parses it).
 */
export async function browserLatency(model: Uint8Array, ep: 'browser-wasm' | 'browser-webgpu', feeds: Feeds,
  o: { runs: number; warmup: number; profile?: boolean }): Promise<{ ms: number[]; profileText?: string }> {
  const { BrowserHost } = await import('../runtime/browser.js');
  let host;
  try {
    host = await BrowserHost.start();
  } catch (e) {
    const { BackendUnavailableError, firstLine } = await import('../runtime/backend.js');
    throw new BackendUnavailableError(`${ep}: ${firstLine(e)}`);
  }
  try {
    return await host.bench(ep === 'browser-webgpu' ? 'webgpu' : 'wasm', model, feeds, o);
  } finally {
    await host.close();
  }
}

export interface TimedSession {
  run(feeds: Feeds): Promise<number>;
  /** One run that returns the outputs (all, or `names`). */
  infer(feeds: Feeds, names?: readonly string[]): Promise<Outputs>;
  /** With `profile`: onnxruntime's profiler events (chrome trace JSON), after the runs (profile.ts). */
  endProfiling(): Promise<ProfileEvent[]>;
  release(): Promise<void>;
}

export interface SessionOptions {
  threads?: number; profile?: boolean; optimizedModelFilePath?: string;
  /** Turn onnxruntime's graph optimizations off (default: on, as deployed). */
  noOptimizations?: boolean;
}

let wasmThreads: number | null = null;

export async function openTimed(model: Uint8Array, ep: BenchEp, o: SessionOptions = {}): Promise<TimedSession> {
  if (ep === 'wasm') return openWasm(model, o);
  const ort = await loadOrt();
  if (ep === 'webgpu') webGpuEnvProbed(); // SwiftShader when the system driver gives no adapter
  const dir = o.profile ? mkdtempSync(join(tmpdir(), 'vitx-profile-')) : null;
  const s = await ort.InferenceSession.create(model, {
    executionProviders: [ep], graphOptimizationLevel: o.noOptimizations ? 'disabled' : 'all', intraOpNumThreads: o.threads ?? 0, interOpNumThreads: 1,
    logSeverityLevel: 3, enableProfiling: Boolean(o.profile), profileFilePrefix: dir ? join(dir, 'ort') : undefined,
    ...(o.optimizedModelFilePath ? { optimizedModelFilePath: o.optimizedModelFilePath } : {}),
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  return {
    async run(feeds) {
      const f = toOrtFeeds(ort.Tensor as TensorCtor<InstanceType<typeof ort.Tensor>>, feeds);
      const t0 = performance.now();
      const r = await s.run(f);
      const ms = performance.now() - t0;
      for (const v of Object.values(r)) dtypeFromOrt(v.type);
      return ms;
    },
    async infer(feeds, names) {
      const f = toOrtFeeds(ort.Tensor as TensorCtor<InstanceType<typeof ort.Tensor>>, feeds);
      const r = names ? await s.run(f, [...names]) : await s.run(f);
      return fromOrtOutputs(r);
    },
    async endProfiling() {
      if (!dir) return [];
      s.endProfiling();
      const file = readdirSync(dir).find((f) => f.endsWith('.json'));
      const events = file ? JSON.parse(readFileSync(join(dir, file), 'utf8')) as ProfileEvent[] : [];
      rmSync(dir, { recursive: true, force: true });
      return events;
    },
    release: () => s.release(),
  };
}

async function openWasm(model: Uint8Array, o: SessionOptions): Promise<TimedSession> {
  const m = await import('onnxruntime-web');
  const ort = ((m as unknown as { default?: typeof m }).default ?? m) as typeof m;
  wasmThreads ??= o.threads && o.threads > 0 ? o.threads : 1;
  ort.env.wasm.numThreads = wasmThreads;
  ort.env.logLevel = 'error';
  const s = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: o.noOptimizations ? 'disabled' : 'all', enableProfiling: Boolean(o.profile) });
  return {
    async run(feeds) {
      const f = toOrtFeeds(ort.Tensor as TensorCtor<InstanceType<typeof ort.Tensor>>, feeds);
      const t0 = performance.now();
      await s.run(f);
      return performance.now() - t0;
    },
    async infer(feeds, names) {
      const f = toOrtFeeds(ort.Tensor as TensorCtor<InstanceType<typeof ort.Tensor>>, feeds);
      const r = names ? await s.run(f, [...names]) : await s.run(f);
      return fromOrtOutputs(r);
    },
    async endProfiling() {
      if (!o.profile) return [];
      // onnxruntime-web prints the profile synchronously inside endProfiling(); its promise only reports failure
      let done: Promise<void> | void = undefined;
      const text = captureWasmStdout(() => { done = s.endProfiling(); });
      await done;
      return parseProfileText(text);
    },
    release: () => s.release(),
  };
}


/**
 * Interleaved timing of several files on one backend: warm-up runs, then round-robin runs so that
 * machine load affects every file alike. `VITX_TEST_LATENCY_MS=name=ms,…` (tests only) replaces the
 * measured times by fixed ones, so decisions that depend on latency can be tested deterministically.
 */
export async function interleaved(files: readonly { name: string; model: Uint8Array }[], feeds: Feeds, ep: BenchEp,
  o: { runs: number; warmup?: number; threads?: number }): Promise<Map<string, number[]>> {
  const injected = parseInjected(process.env['VITX_TEST_LATENCY_MS']);
  const sessions = [];
  for (const f of files) sessions.push(await openTimed(f.model, ep, { threads: o.threads }));
  const out = new Map<string, number[]>(files.map((f) => [f.name, []]));
  try {
    for (let w = 0; w < (o.warmup ?? 2); w++) for (const s of sessions) await s.run(feeds);
    for (let r = 0; r < o.runs; r++) {
      for (const [i, s] of sessions.entries()) {
        const ms = await s.run(feeds);
        out.get(files[i]!.name)!.push(injected.get(files[i]!.name) ?? ms);
      }
    }
  } finally {
    for (const s of sessions) await s.release();
  }
  return out;
}

function parseInjected(v: string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const part of (v ?? '').split(',')) {
    const [k, x] = part.split('=');
    if (k && x && Number.isFinite(Number(x))) m.set(k.trim(), Number(x));
  }
  return m;
}
