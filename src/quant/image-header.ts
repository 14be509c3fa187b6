/**
 * What a JPEG or PNG file declares, read before any decoder allocates for it, and the limits a
 * calibration photo must meet (images.ts):
 *
 *   MAX_PIXELS     64 Mpixel (2^26) decoded at most
 *   MAX_ASPECT     the longer side at most 32 × the shorter (a center crop of anything longer is a
 *                  sliver of the picture; a 4000×1 PNG of 92 bytes is not a photo)
 *   JPEG density   jpeg-js allocates and decodes every block of the declared frame whatever the scan
 *                  holds, so beyond 1 Mpixel a JPEG must hold a byte per 256 pixels (photos hold one
 *                  per 3–10 pixels, a flat synthetic picture one per 50–100)
 *   PNG data       the zlib stream must inflate to exactly the bytes the header's size, bit depth,
 *                  colour type and interlacing imply (inflated with that as the output limit), so
 *                  a decompression bomb or truncated data is refused before pngjs allocates
 *
 * PNG: signature, chunks (length, type, data, CRC), IHDR first (width, height, bit depth, colour
 * type, compression, filter, interlace), IDAT data concatenated (ISO/IEC 15948, W3C PNG §5, §11.2).
 * JPEG: markers from SOI; the first SOFn (C0–CF except C4 DHT, C8 JPG, CC DAC) holds precision,
 * height, width (ITU T.81 §B.2.2); standalone markers (01, D0–D7) have no length.
 * Plain Uint8Array reads (no Buffer) and the host's inflate (platform layer): no Node built-in.
 */
import { platform } from '../platform/index.js';

export const MAX_PIXELS = 64 * 2 ** 20;
export const MAX_ASPECT = 32;
const JPEG_FREE_PIXELS = 2 ** 20;
const JPEG_PIXELS_PER_BYTE = 256;

/** A reason the file is refused (the caller names the file). */
export class HeaderError extends Error {}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const isPng = (b: Uint8Array) => b.length >= 8 && PNG_SIGNATURE.every((x, i) => b[i] === x);
const u32 = (b: Uint8Array, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;
export const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/** The size limits every photo meets before it is decoded. */
function checkSize(w: number, h: number): void {
  if (w < 1 || h < 1) throw new HeaderError(`empty image (${w}×${h} pixels)`);
  if (w * h > MAX_PIXELS) throw new HeaderError(`${w}×${h} pixels is more than vitx decodes (${MAX_PIXELS / 2 ** 20} Mpixel)`);
  if (Math.max(w, h) > MAX_ASPECT * Math.min(w, h)) throw new HeaderError(`${w}×${h} pixels: an aspect ratio beyond ${MAX_ASPECT}:1 is not a photo (its center crop would be a sliver)`);
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

/** Bytes of filtered scanlines (a filter byte per row) the IDAT stream must inflate to. */
function pngDataBytes(w: number, h: number, bitsPerPixel: number, interlaced: boolean): number {
  const rows = (pw: number, ph: number) => (pw && ph ? ph * (1 + Math.ceil((pw * bitsPerPixel) / 8)) : 0);
  if (!interlaced) return rows(w, h);
  let n = 0;
  for (const [x0, y0, dx, dy] of ADAM7) n += rows(Math.max(0, Math.ceil((w - x0) / dx)), Math.max(0, Math.ceil((h - y0) / dy)));
  return n;
}

/** Checks a PNG's header and that its image data inflates to exactly what the header implies. */
export function checkPng(b: Uint8Array): { width: number; height: number } {
  const idat: Uint8Array[] = [];
  let ihdr: Uint8Array | null = null;
  for (let p = 8; ;) {
    if (p + 12 > b.length) throw new HeaderError('cannot decode (truncated PNG: no IEND chunk)');
    const len = u32(b, p), type = String.fromCharCode(b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
    if (len > b.length - p - 12) throw new HeaderError(`cannot decode (truncated PNG: chunk ${JSON.stringify(type)} runs past the end)`);
    const data = b.subarray(p + 8, p + 8 + len);
    if (!ihdr && (type !== 'IHDR' || len !== 13)) throw new HeaderError('cannot decode (PNG does not start with an IHDR chunk)');
    if (type === 'IHDR') ihdr ??= data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    p += 12 + len;
  }
  const w = u32(ihdr!, 0), h = u32(ihdr!, 4), depth = ihdr![8]!, colour = ihdr![9]!, interlace = ihdr![12]!;
  checkSize(w, h);
  const channels = CHANNELS[colour];
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(depth) || interlace > 1) throw new HeaderError(`cannot decode (PNG colour type ${colour}, bit depth ${depth}, interlace ${interlace})`);
  const want = pngDataBytes(w, h, channels * depth, interlace === 1);
  const inflate = platform().inflate;
  if (!inflate) throw new HeaderError('cannot decode PNG photos on this host (no zlib); use the Node entry');
  const all = new Uint8Array(idat.reduce((a, d) => a + d.length, 0));
  idat.reduce((o, d) => { all.set(d, o); return o + d.length; }, 0);
  let got: Uint8Array | null;
  try {
    got = inflate(all, want);
  } catch (e) {
    throw new HeaderError(`cannot decode (corrupt PNG image data: ${String((e as Error).message).split('\n')[0]})`);
  }
  if (got === null) throw new HeaderError(`image data inflates to more than the ${want} bytes ${w}×${h} pixels take (a decompression bomb?)`);
  if (got.length < want) throw new HeaderError(`cannot decode (truncated PNG image data: ${got.length} of ${want} bytes)`);
  return { width: w, height: h };
}

/** SOFn markers: C0–CF except C4 (DHT), C8 (JPG) and CC (DAC). */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/** Reads a JPEG's frame size from its first SOF marker and checks it before jpeg-js allocates. */
export function checkJpeg(b: Uint8Array): { width: number; height: number } {
  for (let p = 2; p + 4 <= b.length;) {
    if (b[p] !== 0xff) throw new HeaderError(`cannot decode (corrupt JPEG: no marker at byte ${p})`);
    const m = b[p + 1]!;
    if (m === 0xff) { p++; continue; } // fill byte
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) { p += 2; continue; } // standalone
    if (m === 0xd9 || m === 0xda) break; // EOI, or the scan before any frame header
    const len = u16(b, p + 2);
    if (len < 2 || p + 2 + len > b.length) throw new HeaderError(`cannot decode (truncated JPEG: marker 0x${m.toString(16)} at byte ${p})`);
    if (isSof(m)) {
      if (len < 8) throw new HeaderError('cannot decode (short JPEG frame header)');
      const h = u16(b, p + 5), w = u16(b, p + 7);
      checkSize(w, h);
      if (w * h > Math.max(JPEG_FREE_PIXELS, JPEG_PIXELS_PER_BYTE * b.length)) {
        throw new HeaderError(`${w}×${h} pixels in ${b.length} bytes: more than ${JPEG_PIXELS_PER_BYTE} pixels per byte (photos hold under 10); truncated or crafted`);
      }
      return { width: w, height: h };
    }
    p += 2 + len;
  }
  throw new HeaderError('cannot decode (JPEG without a frame header)');
}
