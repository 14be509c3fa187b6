/**
 * onnxruntime-web in the worker: loaded on first use from ../ort/ (web/build.ts keeps it out of
 * the bundle), WebAssembly with one thread (as the CLI's `wasm` and calibration run it: the same
 * results bit for bit), WebGPU where the browser has an adapter.
 */
import type { HostTensor } from '../../../src/runtime/ort.js';
import type { Ep } from '../protocol.js';

type OrtWeb = typeof import('onnxruntime-web');
export type OrtSession = Awaited<ReturnType<OrtWeb['InferenceSession']['create']>>;

let ortWeb: Promise<OrtWeb> | null = null;

export function loadOrt(): Promise<OrtWeb> {
  ortWeb ??= import('onnxruntime-web').then((m) => {
    const ort = ((m as unknown as { default?: OrtWeb }).default ?? m) as OrtWeb;
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    return ort;
  });
  return ortWeb;
}

/** Why WebGPU is not there, or null when an adapter answers. */
export async function webgpuMissing(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return 'this browser has no WebGPU (navigator.gpu is missing)';
  try {
    return (await gpu.requestAdapter()) ? null : 'no WebGPU adapter (requestAdapter() returned null)';
  } catch (e) {
    return `no WebGPU adapter (${(e as Error).message})`;
  }
}

export async function openSession(model: Uint8Array, ep: Ep, optimized: boolean): Promise<OrtSession> {
  const ort = await loadOrt();
  return ort.InferenceSession.create(model, { executionProviders: [ep], graphOptimizationLevel: optimized ? 'all' : 'disabled' });
}

export async function runFeeds(s: OrtSession, feeds: Record<string, HostTensor>, names?: readonly string[]): Promise<Record<string, HostTensor>> {
  const ort = await loadOrt();
  const f: Record<string, InstanceType<OrtWeb['Tensor']>> = {};
  for (const [k, t] of Object.entries(feeds)) f[k] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, [...t.dims]);
  const res = names ? await s.run(f, [...names]) : await s.run(f);
  const out: Record<string, HostTensor> = {};
  for (const [k, v] of Object.entries(res)) out[k] = { dtype: v.type as HostTensor['dtype'], dims: [...v.dims], data: (await v.getData()) as HostTensor['data'] };
  return out;
}

/** The `Opener` quant/fidelity.ts takes: sessions on `ep`, onnxruntime's optimizations as asked. */
export function opener(ep: Ep, optimized: boolean) {
  return async (model: Uint8Array) => {
    const s = await openSession(model, ep, optimized);
    return { infer: (feeds: Record<string, HostTensor>, names?: readonly string[]) => runFeeds(s, feeds, names), release: () => s.release() };
  };
}
