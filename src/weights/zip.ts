/**
 * A bounds-checked reader for the zip archives `torch.save` writes (PKWARE APPNOTE 6.3, the subset
 * PyTorch's `PyTorchStreamWriter` uses): a central directory (zip64 when large), every entry
 * STORED (method 0, no compression) with its data aligned to 64 bytes by padding in the local
 * header's extra field.
 *
 * Entries are read in place: `entryData` returns a view into the file's bytes after checking the
 * local header, the declared sizes and the CRC-32, so a 500 MB checkpoint costs no second copy and a
 * "zip bomb" (sizes declared beyond the file, or a compressed entry) is refused before any
 * allocation. Why not an npm zip library: see README ("Reading PyTorch checkpoints").
 */
import { platform } from '../platform/index.js';
import { printable } from './pickle.js';

export class ZipError extends Error {
  constructor(message: string) { super(printable(message)); }
}

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG = { local: 0x04034b50, central: 0x02014b50, end: 0x06054b50, end64: 0x06064b50, locator64: 0x07064b50 };
const MAX_ENTRIES = 1_000_000;

/** True when the bytes start like a zip archive (a local file header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly dv: DataView;

  constructor(readonly bytes: Uint8Array, private readonly what: string) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readCentralDirectory();
  }

  private fail(msg: string): never { throw new ZipError(`${this.what}: ${msg}`); }

  private u16(p: number): number { this.need(p, 2); return this.dv.getUint16(p, true); }
  private u32(p: number): number { this.need(p, 4); return this.dv.getUint32(p, true); }
  private u64(p: number): number {
    this.need(p, 8);
    const v = this.dv.getBigUint64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`zip field at byte ${p} is out of range (${v})`);
    return Number(v);
  }
  private need(p: number, n: number): void {
    if (p < 0 || p + n > this.bytes.byteLength) this.fail(`truncated zip archive (needs byte ${p + n}, file has ${this.bytes.byteLength})`);
  }

  private findEnd(): number {
    const len = this.bytes.byteLength;
    const stop = Math.max(0, len - 22 - 0xffff);
    for (let p = len - 22; p >= stop; p--) {
      if (this.dv.getUint32(p, true) === SIG.end) return p;
    }
    return this.fail('truncated zip archive (no end-of-central-directory record)');
  }

  private readCentralDirectory(): void {
    const end = this.findEnd();
    let count = this.u16(end + 10);
    let cdSize = this.u32(end + 12);
    let cdOffset = this.u32(end + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = end - 20;
      if (loc < 0 || this.u32(loc) !== SIG.locator64) this.fail('zip64 archive without a zip64 locator');
      const end64 = this.u64(loc + 8);
      if (this.u32(end64) !== SIG.end64) this.fail('bad zip64 end-of-central-directory record');
      count = this.u64(end64 + 32);
      cdSize = this.u64(end64 + 40);
      cdOffset = this.u64(end64 + 48);
    }
    if (cdOffset + cdSize > end) this.fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) runs past its end record at byte ${end}`);
    if (count > MAX_ENTRIES || count * 46 > cdSize) this.fail(`central directory declares ${count} entries in ${cdSize} bytes`);
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (this.u32(p) !== SIG.central) this.fail(`central directory entry ${i} has a bad signature`);
      const method = this.u16(p + 10);
      const crc = this.u32(p + 16);
      let compressedSize = this.u32(p + 20);
      let size = this.u32(p + 24);
      const nameLen = this.u16(p + 28), extraLen = this.u16(p + 30), commentLen = this.u16(p + 32);
      let localHeaderOffset = this.u32(p + 42);
      this.need(p + 46, nameLen + extraLen + commentLen);
      const name = new TextDecoder().decode(this.bytes.subarray(p + 46, p + 46 + nameLen));
      // zip64 extended information (header id 1): the fields that were 0xffffffff, in this order
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = this.u16(e), n = this.u16(e + 2);
        if (e + 4 + n > extraEnd) this.fail(`entry ${name}: extra field runs past its header`);
        if (id === 1) {
          let q = e + 4;
          const take = () => { if (q + 8 > e + 4 + n) this.fail(`entry ${name}: short zip64 extra field`); const v = this.u64(q); q += 8; return v; };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
        }
        e += 4 + n;
      }
      if (this.entries.has(name)) this.fail(`zip archive has two entries named ${name}`);
      this.entries.set(name, { name, method, crc, compressedSize, size, localHeaderOffset });
      p = extraEnd + commentLen;
    }
  }

  /** The stored bytes of one entry, a view into the file (checked: STORED, in range, CRC-32). */
  entryData(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) this.fail(`zip archive has no entry ${name}`);
    if (e.method !== 0) this.fail(`entry ${name} is compressed (method ${e.method}); torch.save writes uncompressed entries — re-save the checkpoint with torch.save`);
    if (e.compressedSize !== e.size) this.fail(`entry ${name} is stored but declares ${e.compressedSize} bytes stored and ${e.size} bytes of data`);
    const p = e.localHeaderOffset;
    if (this.u32(p) !== SIG.local) this.fail(`entry ${name}: bad local header signature at byte ${p}`);
    const start = p + 30 + this.u16(p + 26) + this.u16(p + 28);
    if (start + e.size > this.bytes.byteLength) this.fail(`entry ${name} declares ${e.size} bytes at byte ${start}, beyond the end of the file (${this.bytes.byteLength} bytes)`);
    const data = this.bytes.subarray(start, start + e.size);
    if ((platform().crc32(data) >>> 0) !== e.crc) this.fail(`entry ${name} is corrupt (CRC-32 mismatch)`);
    return data;
  }
}
