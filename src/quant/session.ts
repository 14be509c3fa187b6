/**
 * The runtime calibration runs on: onnxruntime-web's WebAssembly build, one thread, in Node and in
 * browsers alike. The same WebAssembly binary gives the same float32 results bit for bit wherever
 * it runs (checked: every intermediate tensor of mobileone_s0 and mobilevit_xxs, Node vs headless
 * Chromium), so the same calibration photos give the same activation ranges and the int8 file is
 * byte-identical from `vitx export` and from the web app. onnxruntime-node's CPU kernels do not
 * (they differ from WASM in the last bits, and between machines with AVX2 or AVX-512), so they are
 * not used here. onnxruntime's graph optimizations are off: the ranges are of vitx's graph.
 */
import type { HostTensor } from '../runtime/ort.js';

type OrtWeb = typeof import('onnxruntime-web');

let ortWeb: Promise<OrtWeb> | null = null;

function loadOrtWeb(): Promise<OrtWeb> {
  ortWeb ??= import('onnxruntime-web').then((m) => {
    const ort = ((m as unknown as { default?: OrtWeb }).default ?? m) as OrtWeb;
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    return ort;
  });
  return ortWeb;
}

export interface CalibrationSession {
  run(feeds: Record<string, HostTensor>, outputNames: readonly string[]): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

export async function openCalibrationSession(model: Uint8Array): Promise<CalibrationSession> {
  const ort = await loadOrtWeb();
  const s = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'disabled' });
  return {
    async run(feeds, outputNames) {
      const f: Record<string, InstanceType<OrtWeb['Tensor']>> = {};
      for (const [k, t] of Object.entries(feeds)) f[k] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, [...t.dims]);
      const res = await s.run(f, [...outputNames]);
      const out: Record<string, HostTensor> = {};
      for (const [k, v] of Object.entries(res)) out[k] = { dtype: v.type as HostTensor['dtype'], dims: [...v.dims], data: v.data as HostTensor['data'] };
      return out;
    },
    release: () => s.release(),
  };
}
