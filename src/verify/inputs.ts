/**
 * What a model file takes and returns (read straight from the ModelProto, so any single-graph ONNX
 * file works, not only files vitx can parse into its IR), and seeded inputs for it.
 *
 * Seeded inputs use the weight recipe's hash generator (weights/recipe.ts): input `name` with seed
 * S is recipeInput(dims, S === 0 ? name : `${name}#${S}`), values in [−2, 2). Seed 0 for the input
 * named "input" is exactly the reference input of fixtures/reference. Integer inputs get values
 * 0…3, booleans u > 0.
 */
import type { Dim } from '../graph/ir.js';
import { BYTES_PER_ELEMENT, dtypeFromOnnx, type DType } from '../graph/tensor.js';
import { OnnxParseError } from '../onnx/parse.js';
import { onnx, type OnnxNs, toNum } from '../onnx/proto.js';
import type { HostTensor } from '../runtime/tensors.js';
import { recipeInput } from '../weights/recipe.js';

export interface IoSpec { name: string; dtype: DType; shape: Dim[] }
export interface Signature { inputs: IoSpec[]; outputs: IoSpec[]; opset: number }

export class InputError extends Error {}

function spec(vi: OnnxNs.IValueInfoProto): IoSpec {
  const tt = vi.type?.tensorType;
  if (!tt || !tt.elemType) throw new OnnxParseError(`graph input/output ${vi.name} is not a tensor`);
  let dtype: DType;
  try { dtype = dtypeFromOnnx(tt.elemType); } catch (e) { throw new OnnxParseError(`${vi.name}: ${(e as Error).message}`); }
  const shape = (tt.shape?.dim ?? []).map((d, i): Dim => (d.dimValue != null && toNum(d.dimValue) > 0 ? toNum(d.dimValue) : d.dimParam || `?${i}`));
  return { name: vi.name ?? '', dtype, shape };
}

export function readSignature(bytes: Uint8Array): Signature {
  let m: OnnxNs.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxParseError(`not a valid ONNX file (${(e as Error).message})`);
  }
  const g = m.graph;
  if (!g) throw new OnnxParseError('not a valid ONNX file (no graph)');
  const opset = toNum((m.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0);
  if (!opset) throw new OnnxParseError('not a valid ONNX file (no default-domain opset)');
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const inputs = (g.input ?? []).filter((vi) => !inits.has(vi.name ?? '')).map(spec);
  const outputs = (g.output ?? []).map(spec);
  if (outputs.length === 0) throw new OnnxParseError('the model has no outputs');
  return { inputs, outputs, opset };
}

/** Static dims for an input: a symbolic first dimension is the batch; any other is an error. */
export function concreteDims(s: IoSpec, batch: number): number[] {
  return s.shape.map((d, i) => {
    if (typeof d === 'number') return d;
    if (i === 0) return batch;
    throw new InputError(`input ${s.name} has a symbolic dimension '${d}' at axis ${i}; only the batch (axis 0) can be chosen (--batch)`);
  });
}

export function seededTensor(name: string, dtype: DType, dims: readonly number[], seed: number): HostTensor {
  const u = recipeInput(dims, seed === 0 ? name : `${name}#${seed}`); // 4·u in [−2, 2)
  switch (dtype) {
    case 'float32': return { dtype, dims: [...dims], data: u };
    case 'float64': return { dtype, dims: [...dims], data: Float64Array.from(u) };
    case 'int64': return { dtype, dims: [...dims], data: BigInt64Array.from(u, (v) => BigInt(Math.floor(v + 2))) };
    case 'int32': return { dtype, dims: [...dims], data: Int32Array.from(u, (v) => Math.floor(v + 2)) };
    case 'int8': return { dtype, dims: [...dims], data: Int8Array.from(u, (v) => Math.floor(v + 2)) };
    case 'uint8': return { dtype, dims: [...dims], data: Uint8Array.from(u, (v) => Math.floor(v + 2)) };
    case 'bool': return { dtype, dims: [...dims], data: Uint8Array.from(u, (v) => (v > 0 ? 1 : 0)) };
    default: throw new InputError(`input ${name} has dtype ${dtype}, for which vitx cannot generate inputs; give them with --load-outputs`);
  }
}

/** Default bound on the generated inputs' total size (the CLI's --max-input-mb). */
export const DEFAULT_MAX_INPUT_BYTES = 1024 * 2 ** 20;

/**
 * Seeded inputs for every input of `sig`. Their total size is checked against `maxBytes` before
 * anything is allocated, so a small file declaring a huge input fails in one line.
 */
export function seededInputs(sig: Signature, o: { seed: number; batch: number; maxBytes?: number; what?: string }): Record<string, HostTensor> {
  let dims: number[][];
  try {
    dims = sig.inputs.map((s) => concreteDims(s, o.batch));
  } catch (e) {
    if (e instanceof InputError && o.what) throw new InputError(`${o.what}: ${e.message}`);
    throw e;
  }
  checkInputBudget(sig.inputs.map((s, i) => ({ name: s.name, dtype: s.dtype, dims: dims[i]! })), o);
  return Object.fromEntries(sig.inputs.map((s, i) => [s.name, seededTensor(s.name, s.dtype, dims[i]!, o.seed)]));
}

/** Refuses, before anything is allocated, inputs whose total size is above `maxBytes` (--max-input-mb). */
export function checkInputBudget(inputs: readonly { name: string; dtype: Signature['inputs'][number]['dtype']; dims: readonly number[] }[], o: { maxBytes?: number; what?: string }): void {
  const max = o.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  let total = 0;
  for (const s of inputs) {
    total += s.dims.reduce((a, d) => a * d, 1) * BYTES_PER_ELEMENT[s.dtype];
    if (total > max) {
      const mb = (n: number) => `${(n / 2 ** 20).toFixed(n < 2 ** 20 ? 3 : 0)} MB`;
      throw new InputError(`${o.what ? `${o.what}: ` : ''}input ${s.name} ${s.dtype}[${s.dims.join(',')}] needs ${mb(total)} of inputs, more than the limit of ${mb(max)} (raise it with --max-input-mb)`);
    }
  }
}

/** Checks that given inputs (e.g. from a goldens file) fit the model's signature. */
export function checkInputs(sig: Signature, feeds: Record<string, HostTensor>, what: string): void {
  for (const s of sig.inputs) {
    const t = Object.hasOwn(feeds, s.name) ? feeds[s.name] : undefined;
    if (!t) throw new InputError(`${what} has no input '${s.name}' (the model takes ${sig.inputs.map((i) => i.name).join(', ')})`);
    const ok = t.dtype === s.dtype && t.dims.length === s.shape.length && s.shape.every((d, i) => typeof d !== 'number' || d === t.dims[i]);
    if (!ok) throw new InputError(`${what}: input '${s.name}' is ${t.dtype}[${t.dims.join(',')}] but the model takes ${s.dtype}[${s.shape.join(',')}]`);
  }
  const extra = Object.keys(feeds).filter((k) => !sig.inputs.some((s) => s.name === k));
  if (extra.length) throw new InputError(`${what} has inputs the model does not take: ${extra.join(', ')}`);
}
