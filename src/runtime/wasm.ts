/**
 * `wasm` backend: onnxruntime-web's WebAssembly build inside this Node process. One thread, so
 * that runs are reproducible and no worker threads outlive the run.
 */
import { type Backend, BackendUnavailableError, firstLine, type Outputs } from './backend.js';
import { fromOrtOutputs, type HostTensor, type TensorCtor, toOrtFeeds } from './tensors.js';
import { checkProbe, probeFeeds, probeModel } from './probe.js';

type OrtWeb = typeof import('onnxruntime-web');

async function loadOrtWeb(): Promise<OrtWeb> {
  const m = await import('onnxruntime-web');
  const ort = ((m as unknown as { default?: OrtWeb }).default ?? m) as OrtWeb;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  return ort;
}

/** One session kept open (int8 calibration runs every sample through it), optimizations off. */
export async function openWasmSession(model: Uint8Array): Promise<{ run(feeds: Record<string, HostTensor>, names?: readonly string[]): Promise<Outputs>; release(): Promise<void> }> {
  const ort = await loadOrtWeb();
  const s = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'disabled' });
  const Tensor = ort.Tensor as TensorCtor<InstanceType<OrtWeb['Tensor']>>;
  return {
    async run(feeds, names) {
      const f = toOrtFeeds(Tensor, feeds);
      return fromOrtOutputs(names ? await s.run(f, [...names]) : await s.run(f));
    },
    release: () => s.release(),
  };
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
      const f = toOrtFeeds(ort.Tensor as TensorCtor<InstanceType<OrtWeb['Tensor']>>, feeds);
      return fromOrtOutputs(outputNames ? await s.run(f, [...outputNames]) : await s.run(f));
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
