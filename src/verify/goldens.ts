/**
 * Saved outputs ("goldens"): the inputs a run used and the reference outputs it produced, so a
 * later `vitx verify --load-outputs` compares against exactly these numbers.
 *
 *   .json          {"format": "vitx-outputs-1", "meta": {…}, "inputs": {name: {dtype, dims, data}}, "outputs": {…}}
 *                  (floats are written exactly — float32 → double → shortest text — non-finite
 *                  values as "NaN" / "Infinity" / "-Infinity"; int64 beyond 2^53 as strings)
 *   .safetensors   tensors "inputs/<name>" and "outputs/<name>" (a tensor without either prefix is
 *                  an output); meta in __metadata__
 */
import type { DType } from '../graph/tensor.js';
import { floatToBf16, floatToHalf, Tensor } from '../graph/tensor.js';
import type { HostTensor } from '../runtime/tensors.js';
import { readSafetensors, writeSafetensors } from '../weights/safetensors.js';
import { asNumbers } from './compare.js';

export const GOLDENS_FORMAT = 'vitx-outputs-1';

export interface Goldens {
  meta: Record<string, string>;
  inputs: Record<string, HostTensor>;
  outputs: Record<string, HostTensor>;
}

export class GoldensError extends Error {
  /** Control characters (from names in the file) are escaped: the message stays one line. */
  constructor(message: string) { super(message.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)); }
}

export type GoldensFormat = 'json' | 'safetensors';

export function goldensFormat(path: string): GoldensFormat | null {
  if (/\.json$/i.test(path)) return 'json';
  if (/\.safetensors$/i.test(path)) return 'safetensors';
  return null;
}

const DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16', 'float64', 'int64', 'int32', 'int8', 'uint8', 'bool'];

function jsonNumber(v: number | bigint): number | string {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return v;
}

function tensorJson(t: HostTensor): unknown {
  const data = t.data instanceof BigInt64Array ? Array.from(t.data, jsonNumber) : Array.from(asNumbers(t), jsonNumber);
  return { dtype: t.dtype, dims: [...t.dims], data };
}

function parseJsonNumber(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  throw new GoldensError(`${what}: ${JSON.stringify(v)} is not a number`);
}

function tensorFromJson(x: unknown, what: string): HostTensor {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new GoldensError(`${what}: expected an object {dtype, dims, data}`);
  const o = x as { dtype?: unknown; dims?: unknown; data?: unknown };
  const dtype = (o.dtype ?? 'float32') as DType;
  if (!DTYPES.includes(dtype)) throw new GoldensError(`${what}: unknown dtype ${String(o?.dtype)}`);
  if (!Array.isArray(o.data)) throw new GoldensError(`${what}: "data" must be an array of numbers`);
  const dims = o.dims === undefined ? [o.data.length] : o.dims;
  if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new GoldensError(`${what}: "dims" must be an array of non-negative integers`);
  const n = dims.reduce((p: number, d: number) => p * d, 1);
  if (n !== o.data.length) throw new GoldensError(`${what}: dims [${dims.join(',')}] need ${n} values, "data" has ${o.data.length}`);
  const raw = o.data;
  let data: HostTensor['data'];
  if (dtype === 'int64') {
    data = BigInt64Array.from(raw, (v) => {
      const b = typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : Number.isSafeInteger(v) ? BigInt(v as number) : null;
      if (b === null || b !== BigInt.asIntN(64, b)) throw new GoldensError(`${what}: ${JSON.stringify(v)} is not an int64`);
      return b;
    });
  }
  else {
    const nums = raw.map((v) => parseJsonNumber(v, what));
    switch (dtype) {
      case 'float16': data = Uint16Array.from(nums, floatToHalf); break;
      case 'bfloat16': data = Uint16Array.from(nums, floatToBf16); break;
      default: data = new Tensor(dtype, [nums.length]).data as HostTensor['data']; (data as { set(a: ArrayLike<number>): void }).set(nums);
    }
  }
  return { dtype, dims: dims as number[], data };
}

export function writeGoldens(g: Goldens, format: GoldensFormat): Uint8Array {
  if (format === 'json') {
    const obj = {
      format: GOLDENS_FORMAT,
      meta: g.meta,
      inputs: Object.fromEntries(Object.entries(g.inputs).map(([k, t]) => [k, tensorJson(t)])),
      outputs: Object.fromEntries(Object.entries(g.outputs).map(([k, t]) => [k, tensorJson(t)])),
    };
    return new TextEncoder().encode(`${JSON.stringify(obj)}\n`);
  }
  const entries: [string, Tensor][] = [];
  for (const [k, t] of Object.entries(g.inputs)) entries.push([`inputs/${k}`, new Tensor(t.dtype, t.dims, t.data)]);
  for (const [k, t] of Object.entries(g.outputs)) entries.push([`outputs/${k}`, new Tensor(t.dtype, t.dims, t.data)]);
  return writeSafetensors(entries, { format: GOLDENS_FORMAT, ...g.meta });
}

export function readGoldens(bytes: Uint8Array, format: GoldensFormat, what: string): Goldens {
  if (format === 'safetensors') {
    const f = readSafetensors(bytes, what);
    const g: Goldens = { meta: { ...f.metadata }, inputs: {}, outputs: {} };
    for (const [k, t] of f.tensors) {
      const h: HostTensor = { dtype: t.dtype, dims: [...t.shape], data: t.data };
      if (k.startsWith('inputs/')) g.inputs[k.slice(7)] = h;
      else g.outputs[k.startsWith('outputs/') ? k.slice(8) : k] = h;
    }
    if (Object.keys(g.outputs).length === 0) throw new GoldensError(`${what}: holds no outputs`);
    return g;
  }
  let obj: unknown;
  try {
    obj = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new GoldensError(`${what}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const o = obj as { outputs?: unknown; inputs?: unknown; meta?: unknown };
  if (typeof o !== 'object' || o === null || typeof o.outputs !== 'object' || o.outputs === null) {
    throw new GoldensError(`${what}: expected an object with "outputs" ({name: {dtype, dims, data}})`);
  }
  const section = (s: unknown, kind: string): Record<string, HostTensor> =>
    Object.fromEntries(Object.entries((typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>).map(([k, v]) => [k, tensorFromJson(v, `${what}: ${kind} ${k}`)]));
  const g: Goldens = {
    meta: Object.fromEntries(Object.entries((typeof o.meta === 'object' && o.meta !== null ? o.meta : {}) as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? String(v)])),
    inputs: section(o.inputs, 'input'),
    outputs: section(o.outputs, 'output'),
  };
  if (Object.keys(g.outputs).length === 0) throw new GoldensError(`${what}: holds no outputs`);
  return g;
}
