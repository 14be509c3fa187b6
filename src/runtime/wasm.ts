/**
 * `wasm` backend: onnxruntime-web's WebAssembly build inside this Node process. One thread, so
 * that runs are reproducible and no worker threads outlive the run.
 */
import { type Backend, BackendUnavailableError, firstLine, type Outputs } from './backend.js';
import { dtypeFromOrt, type HostTensor, ortType } from './ort.js';
import { checkProbe, probeFeeds, probeModel } from './probe.js';

type OrtWeb = typeof import('onnxruntime-web');

async function loadOrtWeb(): Promise<OrtWeb> {
  const m = await import('onnxruntime-web');
  const ort = ((m as unknown as { default?: OrtWeb }).default ?? m) as OrtWeb;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  return ort;
}

export async function openWasmBackend(): Promise<Backend> {
  let ort: OrtWeb;
  try {
    ort = await loadOrtWeb();
  } catch (e) {
    throw new BackendUnavailableError(`wasm: cannot load onnxruntime-web (${firstLine(e)})`);
  }
  const run = async (model: Uint8Array, feeds: Record<string, HostTensor>, outputNames?: readonly string[]): Promise<Outputs> => {
    const s = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'disabled' });
    try {
      const f: Record<string, InstanceType<OrtWeb['Tensor']>> = {};
      for (const [k, t] of Object.entries(feeds)) f[k] = new ort.Tensor(ortType(t.dtype) as 'float32', t.data as Float32Array, [...t.dims]);
      const res = outputNames ? await s.run(f, [...outputNames]) : await s.run(f);
      const out: Outputs = {};
      for (const [k, v] of Object.entries(res)) out[k] = { dtype: dtypeFromOrt(v.type), dims: [...v.dims], data: v.data as HostTensor['data'] };
      return out;
    } finally {
      await s.release();
    }
  };
  try {
    const r = await run(probeModel(), probeFeeds());
    if (!checkProbe(r['y']?.data as Float32Array)) throw new Error('wrong result on the probe model');
  } catch (e) {
    throw new BackendUnavailableError(`wasm: onnxruntime-web does not run (${firstLine(e)})`);
  }
  return { name: 'wasm', description: 'onnxruntime-web (WebAssembly, 1 thread) in Node', run, async close() { /* nothing held */ } };
}
