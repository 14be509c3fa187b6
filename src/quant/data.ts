/**
 * Calibration / evaluation inputs: a folder of photos (JPEG / PNG, preprocessed as the model's
 * pretrained cfg says, images.ts) or one .npy file of input tensors ([N, C, H, W] or [C, H, W]).
 * Samples are [C, H, W] float32; files in a folder are read in name order.
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { readInput } from '../platform/files.js';
import { decodeImage, preprocessImage } from './images.js';
import { readNpy } from './npy.js';
import type { PreprocessCfg } from './pretrained-cfg.js';

export { DataError, type Samples, splitHeldOut } from './samples.js';
import { DataError, type Samples } from './samples.js';

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png']);

/** Reads `path` (folder or .npy) into samples of shape `chw`. */
export function loadSamples(path: string, chw: readonly [number, number, number], cfg: PreprocessCfg, what: string): Samples {
  let isDir = false;
  try { isDir = statSync(path).isDirectory(); } catch { throw new DataError(`cannot read ${what} ${path}: no such file or folder`); }
  if (isDir) {
    const files = readdirSync(path).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort();
    if (files.length === 0) throw new DataError(`${what} folder ${path} has no .jpg/.jpeg/.png files`);
    if (chw[0] !== 3) throw new DataError(`${what} ${path}: photos give 3 channels, the model takes ${chw[0]}`);
    if (chw[1] !== cfg.size[0] || chw[2] !== cfg.size[1]) cfg = { ...cfg, size: [chw[1], chw[2]] };
    const data = files.map((f) => preprocessImage(decodeImage(readInput(join(path, f), 'image'), join(path, f)), cfg));
    return { description: `${files.length} image${files.length === 1 ? '' : 's'} from ${path} (${cfg.source}: ${cfg.interpolation}, crop_pct ${cfg.cropPct})`, names: files, shape: [...chw], data };
  }
  if (!path.endsWith('.npy')) throw new DataError(`${what} ${path}: give a folder of JPEG/PNG photos or a .npy file`);
  const a = readNpy(readInput(path, what), `${what} ${path}`);
  const s = a.shape.length === 4 ? a.shape.slice(1) : a.shape;
  const n = a.shape.length === 4 ? a.shape[0]! : 1;
  if ((a.shape.length !== 3 && a.shape.length !== 4) || s.some((d, i) => d !== chw[i])) {
    throw new DataError(`${what} ${path}: shape (${a.shape.join(', ')}) does not match the model input [N, ${chw.join(', ')}]`);
  }
  if (n === 0) throw new DataError(`${what} ${path}: no samples (N = 0)`);
  const k = chw[0] * chw[1] * chw[2];
  const data = Array.from({ length: n }, (_, i) => a.data.slice(i * k, (i + 1) * k));
  for (const [i, d] of data.entries()) if (!d.every(Number.isFinite)) throw new DataError(`${what} ${path}: sample ${i} has NaN or Inf values`);
  return { description: `${n} tensor${n === 1 ? '' : 's'} from ${path}`, names: data.map((_, i) => `${path}[${i}]`), shape: [...chw], data };
}
