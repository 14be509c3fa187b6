/**
 * The browser host (a page or a Web Worker): the portable SHA-256 and CRC-32 (platform/index.ts;
 * Web Crypto's digest is asynchronous and the writer needs it synchronously) and onnxruntime-web,
 * whose `wasm` and `webgpu` execution providers are the backends `wasm` (the reference) and
 * `webgpu`. No Node built-in is imported here or below (test/platform/browser-bundle.test.ts).
 */
import { type Backend, BackendUnavailableError, type BackendName, firstLine } from '../runtime/backend.js';
import { fromOrtOutputs, type HostTensor, type TensorCtor, toOrtFeeds } from '../runtime/tensors.js';
import { checkProbe, probeFeeds, probeModel } from '../runtime/probe.js';
import { crc32Portable, type ModelSession, type Platform, sha256Portable } from './index.js';

export type OrtWeb = typeof import('onnxruntime-web');

export interface BrowserPlatformOptions {
  /**
   * Loads onnxruntime-web (default: `import('onnxruntime-web')`). A page that serves the .wasm
   * files from its own path passes a loader that sets `ort.env.wasm.wasmPaths` first.
   */
  loadOrt?: () => Promise<OrtWeb>;
}

type WebEp = 'wasm' | 'webgpu';

async function session(ort: OrtWeb, model: Uint8Array, ep: WebEp): Promise<ModelSession> {
  const s = await ort.InferenceSession.create(model, { executionProviders: [ep], graphOptimizationLevel: 'disabled' });
  const Tensor = ort.Tensor as TensorCtor<InstanceType<OrtWeb['Tensor']>>;
  return {
    async run(feeds: Record<string, HostTensor>, names?: readonly string[]) {
      const f = toOrtFeeds(Tensor, feeds);
      return fromOrtOutputs(names ? await s.run(f, [...names]) : await s.run(f));
    },
    release: () => s.release(),
  };
}

async function openWeb(ort: OrtWeb, ep: WebEp): Promise<Backend> {
  const run = async (model: Uint8Array, feeds: Record<string, HostTensor>, names?: readonly string[]) => {
    const s = await session(ort, model, ep);
    try { return await s.run(feeds, names); } finally { await s.release(); }
  };
  try {
    const r = await run(probeModel(), probeFeeds());
    if (!checkProbe(r['y']?.data as Float32Array)) throw new Error('wrong result on the probe model');
  } catch (e) {
    throw new BackendUnavailableError(`${ep}: onnxruntime-web does not run (${firstLine(e)})`);
  }
  return { name: ep, description: `onnxruntime-web, ${ep === 'wasm' ? 'WebAssembly' : 'WebGPU'} execution provider`, run, async close() { /* sessions are released after each run */ } };
}

export function browserPlatform(o: BrowserPlatformOptions = {}): Platform {
  let ortPromise: Promise<OrtWeb> | null = null;
  const load = () => (ortPromise ??= (o.loadOrt ?? (async () => {
    const m = await import('onnxruntime-web');
    return ((m as unknown as { default?: OrtWeb }).default ?? m) as OrtWeb;
  }))());
  const backends: readonly BackendName[] = ['wasm', 'webgpu'];
  return {
    name: 'browser',
    sha256: sha256Portable,
    crc32: crc32Portable,
    backends,
    backendOpener: () => ({
      async open(name) {
        if (name !== 'wasm' && name !== 'webgpu') throw new BackendUnavailableError(`${name}: not in a browser (backends here: ${backends.join(', ')})`);
        let ort: OrtWeb;
        try { ort = await load(); } catch (e) { throw new BackendUnavailableError(`${name}: cannot load onnxruntime-web (${firstLine(e)})`); }
        return openWeb(ort, name);
      },
      close: async () => undefined,
    }),
    openSession: async (model) => session(await load(), model, 'wasm'),
  };
}
