/**
 * Issue 17 §3: calibration photos that exhaust memory. What a file declares is checked before a
 * decoder allocates (64 Mpixel, aspect ratio ≤ 32:1, PNG data that inflates to exactly its size,
 * JPEG frames backed by their bytes), and resampling computes only the center crop — checked here
 * to be exactly the full resize then the crop (an independent full resize written in this test).
 * Every crafted file is generated here; peak memory of each read is bounded.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeImage, ImageError, preprocessImage, type RgbImage } from '../../src/quant/images.js';
import type { PreprocessCfg } from '../../src/quant/pretrained-cfg.js';
import { legalize } from '../../src/onnx/legalize.js';
import { serialize } from '../../src/onnx/serialize.js';
import { measure } from '../helpers/budget.js';
import { ROOT, tempDir, vitx } from '../helpers/cli.js';
import { tinyVisionGraph } from '../helpers/tiny-model.js';

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])) >>> 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG from parts: 8-bit RGB unless told, `idat` the zlib stream as given. */
function png(w: number, h: number, idat: Uint8Array, o: { colour?: number; interlace?: number } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = o.colour ?? 2; ihdr[12] = o.interlace ?? 0;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array())]);
}

/** Filtered scanlines of a black w×h RGB image (filter byte 0 per row), deflated. */
const blackRows = (w: number, h: number) => deflateSync(Buffer.alloc((1 + 3 * w) * h), { level: 9 });

const CFG: PreprocessCfg = { size: [224, 224], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], cropPct: 0.875, cropMode: 'center', interpolation: 'bicubic', source: 'test' };

/** Decodes and preprocesses `bytes`; it must fail with one ImageError line naming `name`, in bounded memory. */
function expectRefused(bytes: Uint8Array, name: string, why: RegExp): void {
  const m = measure(() => preprocessImage(decodeImage(bytes, name), CFG));
  expect(m.error, 'the image was not refused').toBeInstanceOf(ImageError);
  expect((m.error as Error).message).toMatch(new RegExp(`^image ${name.replace('.', '\\.')}: `));
  expect((m.error as Error).message).toMatch(why);
  expect((m.error as Error).message).not.toContain('\n');
  if (m.peakGrowthMB !== null) expect(m.peakGrowthMB).toBeLessThan(256);
}

describe('photos that would exhaust memory are refused before allocating', () => {
  it('a 92-byte 4000×1 PNG (before: 4.1 GB while resizing) and a 1×60000 one (before: Node killed)', () => {
    const wide = png(4000, 1, blackRows(4000, 1));
    expect(wide.length).toBeLessThan(100);
    expectRefused(wide, 'wide.png', /4000×1 pixels: an aspect ratio beyond 32:1 is not a photo/);
    expectRefused(png(1, 60000, blackRows(1, 60000)), 'tall.png', /1×60000 pixels: an aspect ratio beyond 32:1/);
  });

  it('more than 64 Mpixel, declared in a small PNG', () => {
    expectRefused(png(9000, 9000, blackRows(10, 10)), 'huge.png', /9000×9000 pixels is more than vitx decodes \(64 Mpixel\)/);
  });

  it('a PNG whose data is shorter than its 8000×8000 header (before: the whole image allocated first)', () => {
    expectRefused(png(8000, 8000, blackRows(100, 100)), 'short.png', /cannot decode \(truncated PNG image data: \d+ of 192008000 bytes\)/);
  });

  it('an interlaced PNG whose zlib stream inflates far beyond its size (before: inflated without a limit)', () => {
    const bomb = deflateSync(Buffer.alloc(32 << 20), { level: 9 }); // 32 MB of zeros in ~32 KB
    expectRefused(png(100, 100, bomb, { interlace: 1 }), 'bomb.png', /image data inflates to more than the \d+ bytes 100×100 pixels take/);
  });

  it('a JPEG whose frame header claims 8000×8000 pixels in a few kB', () => {
    const jpg = Buffer.from(readFileSync(join(ROOT, 'fixtures', 'images', 'calibration', 'camera.jpg')));
    for (let p = 2; p < jpg.length; p += 2 + jpg.readUInt16BE(p + 2)) {
      if (jpg[p + 1] === 0xc0 || jpg[p + 1] === 0xc2) { jpg.writeUInt16BE(8000, p + 5); jpg.writeUInt16BE(8000, p + 7); break; }
    }
    expectRefused(jpg, 'big.jpg', /8000×8000 pixels in \d+ bytes: more than 256 pixels per byte/);
  });

  it('vitx quantize with such a photo in the calibration folder: one line, exit 1', () => {
    const dir = tempDir('vitx-images-');
    const g = tinyVisionGraph(16, 1);
    legalize(g, 17);
    writeFileSync(join(dir, 'm.onnx'), serialize(g, { opset: 17 }));
    mkdirSync(join(dir, 'cal'));
    writeFileSync(join(dir, 'cal', 'a.png'), png(4000, 1, blackRows(4000, 1)));
    const r = vitx(['quantize', join(dir, 'm.onnx'), '--calibration', join(dir, 'cal'), '--model', 'mobileone_s0']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^vitx: error: image .*cal\/a\.png: 4000×1 pixels: an aspect ratio beyond 32:1 is not a photo[^\n]*\n$/);
  });
});

// ---------------------------------------------------------------- crop-only resampling

const FILTER = {
  bilinear: [1, (x: number) => { x = Math.abs(x); return x < 1 ? 1 - x : 0; }],
  bicubic: [2, (x: number) => { const a = -0.5; x = Math.abs(x); return x < 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : x < 2 ? (((x - 5) * x + 8) * x - 4) * a : 0; }],
} as const;

/** The whole resized image, as PIL's two passes compute it (float planes [3][oh][ow]). */
function fullResize(img: RgbImage, ow: number, oh: number, kind: keyof typeof FILTER): Float32Array {
  const coeffs = (inSize: number, outSize: number) => Array.from({ length: outSize }, (_, i) => {
    const [support, f] = FILTER[kind];
    const scale = inSize / outSize, fs = Math.max(scale, 1), center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support * fs + 0.5)), hi = Math.min(inSize, Math.floor(center + support * fs + 0.5));
    const ws = Array.from({ length: hi - lo }, (_, k) => f((lo + k - center + 0.5) / fs));
    const total = ws.reduce((a, b) => a + b, 0);
    return { lo, ws: total !== 0 ? ws.map((v) => v / total) : ws };
  });
  const cx = coeffs(img.width, ow), cy = coeffs(img.height, oh);
  const tmp = new Float32Array(3 * img.height * ow), out = new Float32Array(3 * oh * ow);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < img.height; y++) for (let x = 0; x < ow; x++) {
      let acc = 0;
      cx[x]!.ws.forEach((wk, k) => { acc += wk * img.data[(y * img.width + cx[x]!.lo + k) * 3 + c]!; });
      tmp[(c * img.height + y) * ow + x] = acc;
    }
    for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
      let acc = 0;
      cy[y]!.ws.forEach((wk, k) => { acc += wk * tmp[(c * img.height + cy[y]!.lo + k) * ow + x]!; });
      out[(c * oh + y) * ow + x] = acc;
    }
  }
  return out;
}

describe('resampling only the center crop', () => {
  it('equals the full resize then the crop, bit for bit (both filters, center and squash, up- and downscaling)', () => {
    let seed = 7;
    const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 8; };
    for (const [w, h] of [[37, 23], [23, 37], [5, 90], [300, 17], [64, 64], [1, 1]]) {
      const img: RgbImage = { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => rand() & 0xff) };
      for (const kind of ['bilinear', 'bicubic'] as const) {
        for (const cropMode of ['center', 'squash'] as const) {
          const cfg: PreprocessCfg = { ...CFG, size: [20, 28], cropPct: 0.9, cropMode, interpolation: kind };
          const [H, W] = cfg.size;
          let rw: number, rh: number;
          if (cropMode === 'squash') { rh = Math.floor(H / 0.9); rw = Math.floor(W / 0.9); } else {
            const scale = Math.floor(Math.min(H, W) / 0.9);
            if (w <= h) { rw = scale; rh = Math.floor((scale * h) / w); } else { rh = scale; rw = Math.floor((scale * w) / h); }
          }
          rw = Math.max(rw, W); rh = Math.max(rh, H);
          const full = fullResize(img, rw, rh, kind);
          const top = Math.round((rh - H) / 2), left = Math.round((rw - W) / 2);
          const want = new Float32Array(3 * H * W);
          for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
            const v = Math.min(255, Math.max(0, full[(c * rh + top + y) * rw + left + x]!)) / 255;
            want[(c * H + y) * W + x] = (v - cfg.mean[c]!) / cfg.std[c]!;
          }
          expect(Array.from(preprocessImage(img, cfg)), `${w}×${h} ${kind} ${cropMode}`).toEqual(Array.from(want));
        }
      }
    }
  });
});
