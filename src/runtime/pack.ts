/**
 * Named tensors as one binary message (between this process and the browser page):
 *
 *   u32 LE n | n bytes of UTF-8 JSON [{name, dtype, dims, offset, length}] | padding to 8 | data
 *
 * Each tensor's bytes start at an offset (from the data start) that is a multiple of 8, so the page
 * can view them as typed arrays without copying. The page has its own copy of this code (page.ts).
 */
import type { DType } from '../graph/tensor.js';
import type { HostTensor } from './tensors.js';

interface Entry { name: string; dtype: DType; dims: number[]; offset: number; length: number }

const align8 = (n: number) => (n + 7) & ~7;

export function packTensors(tensors: Record<string, HostTensor>): Uint8Array {
  const entries: Entry[] = [];
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    entries.push({ name, dtype: t.dtype, dims: [...t.dims], offset: off, length: t.data.byteLength });
    off = align8(off + t.data.byteLength);
  }
  const header = new TextEncoder().encode(JSON.stringify(entries));
  const start = align8(4 + header.byteLength);
  const out = new Uint8Array(start + off);
  new DataView(out.buffer).setUint32(0, header.byteLength, true);
  out.set(header, 4);
  entries.forEach((e, i) => {
    const d = Object.values(tensors)[i]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), start + e.offset);
  });
  return out;
}

const VIEWS: Record<DType, (b: ArrayBuffer, o: number, n: number) => HostTensor['data']> = {
  float32: (b, o, n) => new Float32Array(b, o, n / 4),
  float64: (b, o, n) => new Float64Array(b, o, n / 8),
  float16: (b, o, n) => new Uint16Array(b, o, n / 2),
  bfloat16: (b, o, n) => new Uint16Array(b, o, n / 2),
  int64: (b, o, n) => new BigInt64Array(b, o, n / 8),
  int32: (b, o, n) => new Int32Array(b, o, n / 4),
  int8: (b, o, n) => new Int8Array(b, o, n),
  uint8: (b, o, n) => new Uint8Array(b, o, n),
  bool: (b, o, n) => new Uint8Array(b, o, n),
};

export function unpackTensors(bytes: Uint8Array): Record<string, HostTensor> {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const n = new DataView(copy.buffer).getUint32(0, true);
  if (4 + n > copy.byteLength) throw new Error('tensor message is truncated');
  const entries = JSON.parse(new TextDecoder().decode(copy.subarray(4, 4 + n))) as Entry[];
  const start = align8(4 + n);
  const out: Record<string, HostTensor> = {};
  for (const e of entries) {
    if (start + e.offset + e.length > copy.byteLength) throw new Error(`tensor ${e.name} runs past the end of the message`);
    const view = VIEWS[e.dtype];
    if (!view) throw new Error(`tensor ${e.name} has unknown dtype ${e.dtype}`);
    out[e.name] = { dtype: e.dtype, dims: e.dims, data: view(copy.buffer, start + e.offset, e.length) };
  }
  return out;
}
