/**
 * onnxruntime-node sessions (CPU, and the bundled WebGPU execution provider).
 */
import { fromOrtOutputs, type HostTensor, type TensorCtor, toOrtFeeds } from './tensors.js';
import { prepareWebGpuEnv } from './webgpu-env.js';

export { dtypeFromOrt, fromOrtOutputs, type HostTensor, ortType, type TensorCtor, toOrtFeeds } from './tensors.js';

export interface RunOptions {
  /** Execution provider; default 'cpu'. */
  ep?: 'cpu' | 'webgpu';
  /** Disable onnxruntime's own graph optimizations (default true: we test *our* graph). */
  disableOptimizations?: boolean;
  intraOpThreads?: number;
  /** Outputs to fetch (default: all graph outputs). */
  outputNames?: readonly string[];
}

type Ort = typeof import('onnxruntime-node');

/** onnxruntime-node (an optional peer dependency of the package) is not installed. */
export class OrtMissingError extends Error {}

export const ORT_MISSING = 'onnxruntime-node is not installed — run `npm install onnxruntime-node` (an optional peer dependency of vitx: '
  + 'the cpu and webgpu backends, int8 calibration and bench use it; its CPU and WebGPU binaries come in the npm package)';

let ortPromise: Promise<Ort> | null = null;
export function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then(
    (m) => ((m as unknown as { default?: Ort }).default ?? m) as Ort,
    (e: unknown) => {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new OrtMissingError(ORT_MISSING);
      throw e;
    },
  );
  return ortPromise;
}

export type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

export async function createSession(model: Uint8Array | string, o: RunOptions = {}): Promise<Session> {
  const ort = await loadOrt();
  if (o.ep === 'webgpu') prepareWebGpuEnv();
  const options = {
    executionProviders: [o.ep ?? 'cpu'],
    graphOptimizationLevel: (o.disableOptimizations ?? true) ? 'disabled' : 'all',
    intraOpNumThreads: o.intraOpThreads ?? 0,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  } as const;
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

export async function runSession(session: Session, feeds: Record<string, HostTensor>, outputNames?: readonly string[]): Promise<Record<string, HostTensor>> {
  const ort = await loadOrt();
  const ortFeeds = toOrtFeeds(ort.Tensor as TensorCtor<InstanceType<Ort['Tensor']>>, feeds);
  return fromOrtOutputs(outputNames ? await session.run(ortFeeds, outputNames as string[]) : await session.run(ortFeeds));
}

/** One-shot: create a session, run once, release it. */
export async function runOnnx(model: Uint8Array | string, feeds: Record<string, HostTensor>, o: RunOptions = {}): Promise<Record<string, HostTensor>> {
  const s = await createSession(model, o);
  try {
    return await runSession(s, feeds, o.outputNames);
  } finally {
    await s.release();
  }
}
