/**
 * safetensors reader and writer.
 *
 * Layout: 8-byte little-endian header length n, n bytes of UTF-8 JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, …, "__metadata__": {…}}, then the data block.
 * The reader rejects headers beyond the file, offsets out of range / overlapping / with gaps that
 * overlap, and byte counts that disagree with dtype × shape.
 */
import { type DType, Tensor } from '../graph/tensor.js';
import { printable } from '../printable.js';

export class SafetensorsError extends Error {
  /** Control characters (from names in the file) are escaped: the message stays one line. */
  constructor(message: string) { super(printable(message)); }
}

const ST_DTYPES: Record<string, DType> = {
  F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64', I64: 'int64', I32: 'int32', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const ST_NAMES: Partial<Record<DType, string>> = Object.fromEntries(Object.entries(ST_DTYPES).map(([k, v]) => [v, k]));
const SIZES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I8: 1, U8: 1, BOOL: 1 };

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

export function readSafetensors(bytes: Uint8Array, what = 'checkpoint'): SafetensorsFile {
  if (bytes.byteLength < 8) throw new SafetensorsError(`${what}: not a safetensors file (${bytes.byteLength} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(bytes.byteLength - 8)) throw new SafetensorsError(`${what}: header length ${n} runs past the end of the file (${bytes.byteLength} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + Number(n))));
  } catch {
    throw new SafetensorsError(`${what}: header is not valid UTF-8 JSON`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError(`${what}: header is not a JSON object`);
  const dataStart = 8 + Number(n);
  const dataLen = bytes.byteLength - dataStart;
  const tensors = new Map<string, Tensor>();
  const spans: [number, number, string][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        throw new SafetensorsError(`${what}: __metadata__ must be an object of strings`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new SafetensorsError(`${what}: tensor ${name}: header entry is not an object ({dtype, shape, data_offsets})`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof e.dtype === 'string' && Object.hasOwn(ST_DTYPES, e.dtype) ? ST_DTYPES[e.dtype] : undefined;
    if (!dtype) throw new SafetensorsError(`${what}: tensor ${name} has unsupported dtype ${String(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new SafetensorsError(`${what}: tensor ${name} has a bad shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new SafetensorsError(`${what}: tensor ${name} has bad data_offsets`);
    const [begin, end] = off as [number, number];
    if (begin > end || end > dataLen) throw new SafetensorsError(`${what}: tensor ${name} data_offsets [${begin}, ${end}] out of range (data block is ${dataLen} bytes)`);
    const shape = e.shape as number[];
    const want = shape.reduce((a, b) => a * b, 1) * SIZES[e.dtype as string]!;
    if (!Number.isSafeInteger(want)) throw new SafetensorsError(`${what}: tensor ${name} has a shape [${shape}] too large for any file`);
    if (end - begin !== want) throw new SafetensorsError(`${what}: tensor ${name} has ${end - begin} bytes but ${e.dtype as string}[${shape}] needs ${want}`);
    spans.push([begin, end, name]);
    tensors.set(name, Tensor.fromBytes(dtype, shape, bytes.subarray(dataStart + begin, dataStart + end)));
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) throw new SafetensorsError(`${what}: tensors ${spans[i - 1]![2]} and ${spans[i]![2]} overlap`);
  }
  return { tensors, metadata };
}

/** Writes tensors in the given order; header compact JSON padded with spaces to a multiple of 8. */
export function writeSafetensors(tensors: Iterable<[string, Tensor]>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const st = ST_NAMES[t.dtype];
    if (!st) throw new SafetensorsError(`cannot write ${t.dtype} tensor ${name}`);
    const b = t.bytes();
    header[name] = { dtype: st, shape: [...t.shape], data_offsets: [offset, offset + b.byteLength] };
    parts.push(b);
    offset += b.byteLength;
  }
  if (metadata) header['__metadata__'] = metadata;
  let json = JSON.stringify(header);
  while ((Buffer.byteLength(json, 'utf8')) % 8 !== 0) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.byteLength), true);
  out.set(hb, 8);
  let p = 8 + hb.byteLength;
  for (const b of parts) { out.set(b, p); p += b.byteLength; }
  return out;
}
