/**
 * Photos → network inputs, as timm's eval transform does it (PIL + torchvision):
 *
 *   scale = floor(size / crop_pct); shorter side → scale (longer: floor(scale·long/short)),
 *   antialiased bilinear or bicubic (a = −0.5) resampling as PIL's ImagingResample;
 *   center crop size (top = round((h − H)/2)); x/255; (x − mean)/std; NCHW float32.
 *   crop_mode 'squash': both sides → scale, then the center crop.
 *
 * Decoding: JPEG (jpeg-js) and PNG (pngjs); grayscale becomes RGB by repetition, alpha is dropped.
 * The file's declared size is checked before a decoder allocates (image-header.ts: at most
 * 64 Mpixel, aspect ratio at most 32:1, PNG data that inflates to exactly its size, JPEG frames
 * backed by their bytes). Resampling computes only the pixels of the center crop (each output
 * pixel is a function of its own index, so this is exactly the full resize then the crop): memory
 * is the photo plus the crop and the input rows the crop reads, never the resized image.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { checkJpeg, checkPng, HeaderError, isJpeg, isPng } from './image-header.js';
import type { PreprocessCfg } from './pretrained-cfg.js';

export class ImageError extends Error {}

export interface RgbImage { width: number; height: number; /** RGB, row-major, 3 bytes per pixel */ data: Uint8Array }

/** A decoder's own message, or — for a JavaScript error inside it (a crafted file) — what it means. */
function decoderReason(e: unknown): string {
  if (e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError) return 'corrupt image data';
  return String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 200);
}

export function decodeImage(bytes: Uint8Array, name: string): RgbImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let w: number, h: number, rgba: Uint8Array;
  try {
    if (isJpeg(buf)) {
      checkJpeg(buf);
      const d = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 70, maxMemoryUsageInMB: 1024 });
      w = d.width; h = d.height; rgba = d.data;
    } else if (isPng(buf)) {
      checkPng(buf);
      const d = PNG.sync.read(buf);
      w = d.width; h = d.height; rgba = d.data;
    } else {
      throw new HeaderError('not a JPEG or PNG file');
    }
  } catch (e) {
    throw new ImageError(`image ${name}: ${e instanceof HeaderError ? e.message : `cannot decode (${decoderReason(e)})`}`);
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

/**
 * Weights of outputs first … first + count − 1 of a resize from inSize to outSize: for each, the
 * first input index and the normalized weights (PIL's precompute_coeffs, per output index).
 */
function coefficients(inSize: number, outSize: number, kind: keyof typeof FILTERS, first: number, count: number): { start: number[]; w: Float64Array[] } {
  const { support, f } = FILTERS[kind];
  const scale = inSize / outSize;
  const fs = Math.max(scale, 1);
  const sup = support * fs;
  const start: number[] = [], w: Float64Array[] = [];
  for (let i = first; i < first + count; i++) {
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

/**
 * The W×H window at (left, top) of `img` resized to rw×rh, as float planes [3][H][W]: the
 * horizontal pass on the input rows the window's vertical filters read, then the vertical pass.
 */
function resizeCrop(img: RgbImage, rw: number, rh: number, left: number, top: number, W: number, H: number, kind: keyof typeof FILTERS): Float32Array {
  const { width: w, height: h, data } = img;
  const cx = coefficients(w, rw, kind, left, W), cy = coefficients(h, rh, kind, top, H);
  let y0 = h, y1 = 0;
  for (let y = 0; y < H; y++) { y0 = Math.min(y0, cy.start[y]!); y1 = Math.max(y1, cy.start[y]! + cy.w[y]!.length); }
  const rows = Math.max(0, y1 - y0);
  const tmp = new Float32Array(3 * rows * W), out = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < rows; y++) {
      const row = (y0 + y) * w;
      for (let x = 0; x < W; x++) {
        const s = cx.start[x]!, ws = cx.w[x]!;
        let acc = 0;
        for (let k = 0; k < ws.length; k++) acc += ws[k]! * data[(row + s + k) * 3 + c]!;
        tmp[(c * rows + y) * W + x] = acc;
      }
    }
    for (let y = 0; y < H; y++) {
      const s = cy.start[y]! - y0, ws = cy.w[y]!;
      for (let x = 0; x < W; x++) {
        let acc = 0;
        for (let k = 0; k < ws.length; k++) acc += ws[k]! * tmp[(c * rows + s + k) * W + x]!;
        out[(c * H + y) * W + x] = acc;
      }
    }
  }
  return out;
}

/** The network input for one photo: Float32Array [3, H, W] (C order). */
export function preprocessImage(img: RgbImage, cfg: PreprocessCfg): Float32Array {
  const [H, W] = cfg.size;
  let rw: number, rh: number;
  if (cfg.cropMode === 'squash') {
    rh = Math.floor(H / cfg.cropPct); rw = Math.floor(W / cfg.cropPct);
  } else {
    const scale = Math.floor(Math.min(H, W) / cfg.cropPct);
    if (img.width <= img.height) { rw = scale; rh = Math.floor((scale * img.height) / img.width); }
    else { rh = scale; rw = Math.floor((scale * img.width) / img.height); }
  }
  rw = Math.max(rw, W); rh = Math.max(rh, H);
  const top = Math.round((rh - H) / 2), left = Math.round((rw - W) / 2);
  const r = resizeCrop(img, rw, rh, left, top, W, H, cfg.interpolation);
  const out = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < H * W; i++) {
      const v = Math.min(255, Math.max(0, r[c * H * W + i]!)) / 255;
      out[c * H * W + i] = (v - cfg.mean[c]!) / cfg.std[c]!;
    }
  }
  return out;
}
