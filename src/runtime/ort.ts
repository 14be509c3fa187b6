/**
 * onnxruntime-node sessions (CPU, and the bundled WebGPU execution provider).
 */
import type { DType } from '../graph/tensor.js';

export interface HostTensor {
  dtype: DType;
  dims: readonly number[];
  data: Float32Array | BigInt64Array | Uint16Array | Int32Array;
}

export interface RunOptions {
  /** Execution provider; default 'cpu'. */
  ep?: 'cpu' | 'webgpu';
  /** Disable onnxruntime's own graph optimizations (default true: we test *our* graph). */
  disableOptimizations?: boolean;
  intraOpThreads?: number;
  /** Directory against which external-data locations resolve (file-based sessions). */
  outputNames?: readonly string[];
}

type Ort = typeof import('onnxruntime-node');
let ortPromise: Promise<Ort> | null = null;
export function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then((m) => ((m as unknown as { default?: Ort }).default ?? m) as Ort);
  return ortPromise;
}

export type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

export async function createSession(model: Uint8Array | string, o: RunOptions = {}): Promise<Session> {
  const ort = await loadOrt();
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
  const ortFeeds: Record<string, InstanceType<Ort['Tensor']>> = {};
  for (const [k, t] of Object.entries(feeds)) {
    const type = t.dtype === 'float32' ? 'float32' : t.dtype === 'float16' ? 'float16' : t.dtype === 'int64' ? 'int64' : 'int32';
    ortFeeds[k] = new ort.Tensor(type, t.data as never, t.dims as number[]);
  }
  const res = outputNames ? await session.run(ortFeeds, outputNames as string[]) : await session.run(ortFeeds);
  const out: Record<string, HostTensor> = {};
  for (const [k, v] of Object.entries(res)) {
    const dtype: DType = v.type === 'float16' ? 'float16' : v.type === 'int64' ? 'int64' : v.type === 'int32' ? 'int32' : 'float32';
    out[k] = { dtype, dims: [...v.dims], data: v.data as HostTensor['data'] };
  }
  return out;
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
