/**
 * PyTorch checkpoints for tests, rebuilt without torch: fixtures/pth/<case>/data.pkl is the pickle
 * torch.save wrote (scripts/gen-pth-fixtures.py) and archive.json says how to refill every storage
 * `data/<key>` from the reference weights (checked against torch's bytes by the generator). The
 * zip is written here: STORED entries with 64-byte-aligned data, as torch writes them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { floatToBf16, floatToHalf, Tensor } from '../../src/graph/tensor.js';
import { FIXTURES, referenceCheckpoint } from './reference.js';

export interface Fill { hex?: string; ref?: string; scale?: number; zeros?: boolean; int?: number; tensor?: string }
export interface ArchiveDesc {
  case: string; top: string; entries: string[]; files: Record<string, string>;
  storages: { key: string; dtype: 'float32' | 'float16' | 'bfloat16' | 'int64'; numel: number; fill: Fill; sha256: string }[];
}

export function pthFixture(name: string): { desc: ArchiveDesc; pkl: Uint8Array } {
  const dir = join(FIXTURES, 'pth', name);
  return { desc: JSON.parse(readFileSync(join(dir, 'archive.json'), 'utf8')) as ArchiveDesc, pkl: readFileSync(join(dir, 'data.pkl')) };
}

/** A zip of STORED entries, each entry's data aligned to 64 bytes (torch's PyTorchStreamWriter layout). */
export function writeZip(entries: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = new TextEncoder().encode(name);
    const pad = (64 - ((offset + 30 + nameBytes.length + 4) % 64)) % 64;
    const local = new Uint8Array(30 + nameBytes.length + 4 + pad);
    const dv = new DataView(local.buffer);
    const crc = crc32(data) >>> 0;
    dv.setUint32(0, 0x04034b50, true); dv.setUint16(4, 20, true); dv.setUint16(8, 0, true);
    dv.setUint32(14, crc, true); dv.setUint32(18, data.length, true); dv.setUint32(22, data.length, true);
    dv.setUint16(26, nameBytes.length, true); dv.setUint16(28, 4 + pad, true);
    local.set(nameBytes, 30);
    dv.setUint16(30 + nameBytes.length, 0x5346, true); dv.setUint16(32 + nameBytes.length, pad, true); // 'FS' padding field, as torch
    const c = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true); cv.setUint16(4, 20, true); cv.setUint16(6, 20, true);
    cv.setUint32(16, crc, true); cv.setUint32(20, data.length, true); cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true); cv.setUint32(42, offset, true);
    c.set(nameBytes, 46);
    parts.push(local, data);
    central.push(c);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true); ev.setUint16(8, entries.length, true); ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true); ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const x of [...parts, ...central, end]) { out.set(x, p); p += x.length; }
  return out;
}

function storageBytes(s: ArchiveDesc['storages'][number], tensors: (name: string) => Tensor): Uint8Array {
  const f = s.fill;
  if (f.hex !== undefined) return new Uint8Array(Buffer.from(f.hex, 'hex'));
  if (f.int !== undefined) return new Uint8Array(BigInt64Array.from({ length: s.numel }, () => BigInt(f.int!)).buffer);
  const el = s.dtype === 'float32' ? 4 : s.dtype === 'int64' ? 8 : 2;
  if (f.zeros) return new Uint8Array(s.numel * el);
  const src = tensors((f.ref ?? f.tensor)!).toFloat32();
  if (src.length !== s.numel) throw new Error(`storage ${s.key}: ${f.ref} has ${src.length} elements, archive says ${s.numel}`);
  const scale = f.scale ?? 1;
  if (s.dtype === 'float32') return scale === 1 ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : new Uint8Array(Float32Array.from(src, (v) => v * scale).buffer);
  const conv = s.dtype === 'float16' ? floatToHalf : floatToBf16;
  return new Uint8Array(Uint16Array.from(src, (v) => conv(Math.fround(v * scale))).buffer);
}

/**
 * The checkpoint of fixture `name` as torch.save would have written it. Storages fill from the
 * model's reference weights, or from `extra` (name → tensor) for fills named `tensor`.
 */
export function buildPth(name: string, model?: string, extra?: ReadonlyMap<string, Tensor>): Uint8Array {
  const { desc, pkl } = pthFixture(name);
  let ref: Map<string, Tensor> | undefined;
  const get = (n: string) => extra?.get(n) ?? (ref ??= referenceCheckpoint(model!)).get(n) ?? (() => { throw new Error(`${name}: no tensor ${n}`); })();
  const byKey = new Map(desc.storages.map((s) => [s.key, s]));
  const entries: [string, Uint8Array][] = desc.entries.map((e) => {
    const rel = e.slice(desc.top.length + 1);
    if (rel === 'data.pkl') return [e, pkl];
    if (rel.startsWith('data/')) {
      const s = byKey.get(rel.slice(5))!;
      const b = storageBytes(s, get);
      // bit-exact with what torch wrote (fills that name a `tensor` come from the caller: not checked here)
      if (!s.fill.tensor && createHash('sha256').update(b).digest('hex') !== s.sha256) throw new Error(`${name}: rebuilt storage ${s.key} differs from torch's`);
      return [e, b];
    }
    return [e, new Uint8Array(Buffer.from(desc.files[rel]!, 'latin1'))];
  });
  return writeZip(entries);
}
