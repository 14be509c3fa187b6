/**
 * Photos → network inputs, as timm's eval transform does it (PIL + torchvision):
 *
 *   scale = floor(size / crop_pct); shorter side → scale (longer: floor(scale·long/short)),
 *   antialiased bilinear or bicubic (a = −0.5) resampling as PIL's ImagingResample;
 *   center crop size (top = round((h − H)/2)); x/255; (x − mean)/std; NCHW float32.
 *   crop_mode 'squash': both sides → scale, then the center crop.
 *
 * Decoding: JPEG (jpeg-js) and PNG (pngjs); grayscale becomes RGB by repetition, alpha is dropped.
 * Sizes are checked before decoding allocates (≤ 64 Mpixel).
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { PreprocessCfg } from './pretrained-cfg.js';

export class ImageError extends Error {}

export interface RgbImage { width: number; height: number; /** RGB, row-major, 3 bytes per pixel */ data: Uint8Array }

const MAX_PIXELS = 64 * 2 ** 20;

export function decodeImage(bytes: Uint8Array, name: string): RgbImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let w: number, h: number, rgba: Uint8Array;
  try {
    if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
      const d = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 64, maxMemoryUsageInMB: 1024 });
      w = d.width; h = d.height; rgba = d.data;
    } else if (buf.length >= 8 && buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      if (buf.length >= 24) {
        const pw = buf.readUInt32BE(16), ph = buf.readUInt32BE(20);
        if (pw * ph > MAX_PIXELS) throw new ImageError(`${pw}×${ph} pixels is too large`);
      }
      const d = PNG.sync.read(buf);
      w = d.width; h = d.height; rgba = d.data;
    } else {
      throw new ImageError('not a JPEG or PNG file');
    }
  } catch (e) {
    throw new ImageError(`image ${name}: ${e instanceof ImageError ? e.message : `cannot decode (${String((e as Error).message ?? e).split('\n')[0]})`}`);
  }
  if (w < 1 || h < 1) throw new ImageError(`image ${name}: empty image`);
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) { data[3 * i] = rgba[4 * i]!; data[3 * i + 1] = rgba[4 * i + 1]!; data[3 * i + 2] = rgba[4 * i + 2]!; }
  return { width: w, height: h, data };
}

// ---------------------------------------------------------------- PIL-style separable resampling

const FILTERS = {
  bilinear: { support: 1, f: (x: number) => { x = Math.abs(x); return x < 1 ? 1 - x : 0; } },
  bicubic: {
    support: 2,
    f: (x: number) => {
      const a = -0.5; x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

/** Per output index: first input index and normalized weights (PIL's precompute_coeffs). */
function coefficients(inSize: number, outSize: number, kind: keyof typeof FILTERS): { start: number[]; w: Float64Array[] } {
  const { support, f } = FILTERS[kind];
  const scale = inSize / outSize;
  const fs = Math.max(scale, 1);
  const sup = support * fs;
  const start: number[] = [], w: Float64Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - sup + 0.5)), hi = Math.min(inSize, Math.floor(center + sup + 0.5));
    const ws = new Float64Array(hi - lo);
    let total = 0;
    for (let j = lo; j < hi; j++) { const v = f((j - center + 0.5) / fs); ws[j - lo] = v; total += v; }
    if (total !== 0) for (let k = 0; k < ws.length; k++) ws[k]! /= total;
    start.push(lo); w.push(ws);
  }
  return { start, w };
}

/** Resizes float planes [3][h][w] to [3][oh][ow] (horizontal pass, then vertical). */
function resize(src: Float32Array, w: number, h: number, ow: number, oh: number, kind: keyof typeof FILTERS): Float32Array {
  const cx = coefficients(w, ow, kind), cy = coefficients(h, oh, kind);
  const tmp = new Float32Array(3 * h * ow), out = new Float32Array(3 * oh * ow);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < ow; x++) {
        const s = cx.start[x]!, ws = cx.w[x]!;
        let acc = 0;
        for (let k = 0; k < ws.length; k++) acc += ws[k]! * src[(c * h + y) * w + s + k]!;
        tmp[(c * h + y) * ow + x] = acc;
      }
    }
    for (let y = 0; y < oh; y++) {
      const s = cy.start[y]!, ws = cy.w[y]!;
      for (let x = 0; x < ow; x++) {
        let acc = 0;
        for (let k = 0; k < ws.length; k++) acc += ws[k]! * tmp[(c * h + s + k) * ow + x]!;
        out[(c * oh + y) * ow + x] = acc;
      }
    }
  }
  return out;
}

/** The network input for one photo: Float32Array [3, H, W] (C order). */
export function preprocessImage(img: RgbImage, cfg: PreprocessCfg): Float32Array {
  const [H, W] = cfg.size;
  const planes = new Float32Array(3 * img.width * img.height);
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) planes[c * n + i] = img.data[3 * i + c]!;
  let rw: number, rh: number;
  if (cfg.cropMode === 'squash') {
    rh = Math.floor(H / cfg.cropPct); rw = Math.floor(W / cfg.cropPct);
  } else {
    const scale = Math.floor(Math.min(H, W) / cfg.cropPct);
    if (img.width <= img.height) { rw = scale; rh = Math.floor((scale * img.height) / img.width); }
    else { rh = scale; rw = Math.floor((scale * img.width) / img.height); }
  }
  rw = Math.max(rw, W); rh = Math.max(rh, H);
  const r = resize(planes, img.width, img.height, rw, rh, cfg.interpolation);
  const top = Math.round((rh - H) / 2), left = Math.round((rw - W) / 2);
  const out = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = Math.min(255, Math.max(0, r[(c * rh + top + y) * rw + left + x]!)) / 255;
        out[(c * H + y) * W + x] = (v - cfg.mean[c]!) / cfg.std[c]!;
      }
    }
  }
  return out;
}
