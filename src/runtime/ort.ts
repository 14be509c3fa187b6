/**
 * onnxruntime-node sessions (CPU, and the bundled WebGPU execution provider).
 */
import type { DType } from '../graph/tensor.js';
import { prepareWebGpuEnv } from './webgpu-env.js';

export interface HostTensor {
  dtype: DType;
  dims: readonly number[];
  data: Float32Array | BigInt64Array | Uint16Array | Int32Array | Float64Array | Int8Array | Uint8Array;
}

/** onnxruntime's tensor type names for vitx dtypes (bfloat16 has none in onnxruntime-node). */
export function ortType(dtype: DType): string {
  if (dtype === 'bfloat16') throw new Error('bfloat16 inputs are not supported by onnxruntime-node');
  return dtype;
}

export function dtypeFromOrt(type: string): DType {
  const known: readonly string[] = ['float32', 'float16', 'float64', 'int64', 'int32', 'int8', 'uint8', 'bool'];
  if (!known.includes(type)) throw new Error(`onnxruntime returned a ${type} tensor, which vitx does not handle`);
  return type as DType;
}

/** The Tensor constructor onnxruntime-node and onnxruntime-web share. */
export type TensorCtor<T> = new (type: 'float32', data: Float32Array, dims: readonly number[]) => T;

/** Host tensors as feeds of either onnxruntime package (pass its `Tensor`). */
export function toOrtFeeds<T>(Tensor: TensorCtor<T>, feeds: Record<string, HostTensor>): Record<string, T> {
  const f: Record<string, T> = {};
  for (const [k, t] of Object.entries(feeds)) f[k] = new Tensor(ortType(t.dtype) as 'float32', t.data as Float32Array, [...t.dims]);
  return f;
}

/** A session's results as host tensors. */
export function fromOrtOutputs(res: Readonly<Record<string, { type: string; dims: readonly number[]; data: unknown }>>): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [k, v] of Object.entries(res)) out[k] = { dtype: dtypeFromOrt(v.type), dims: [...v.dims], data: v.data as HostTensor['data'] };
  return out;
}

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
let ortPromise: Promise<Ort> | null = null;
export function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then((m) => ((m as unknown as { default?: Ort }).default ?? m) as Ort);
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
