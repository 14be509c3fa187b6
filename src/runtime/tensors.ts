/**
 * Host tensors (typed arrays with a dtype and dims) and their conversion to and from either
 * onnxruntime package's tensors (onnxruntime-node and onnxruntime-web share the Tensor API).
 * Platform-free: the packages themselves are loaded by the host (platform/).
 */
import type { DType } from '../graph/tensor.js';

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

