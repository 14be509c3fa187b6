/**
 * Preprocessing facts for a model: timm's default pretrained tag's pretrained_cfg (input size,
 * mean/std, crop_pct, crop_mode, interpolation). This is the one place calibration asks; point it at
 * the pretrained-tag resolver (builders/pretrained.ts) when that lands.
 */
import { TIMM_ZOO } from '../builders/timm-zoo.js';

export interface PreprocessCfg {
  /** Network input [H, W]. */
  size: [number, number];
  mean: [number, number, number];
  std: [number, number, number];
  cropPct: number;
  cropMode: 'center' | 'squash';
  interpolation: 'bilinear' | 'bicubic';
  /** Where the facts come from, e.g. `timm fastvit_t8.apple_in1k`. */
  source: string;
}

const IMAGENET = { mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] };

/** The cfg of `arch`'s default tag (`tag` overrides); ImageNet defaults at `size` when timm has none. */
export function preprocessCfg(arch: string, size?: readonly [number, number], tag?: string): PreprocessCfg {
  const a = TIMM_ZOO[arch];
  const key = tag ?? a?.defaultTag ?? null;
  const c = key ? a?.pretrained[key] : undefined;
  const s: [number, number] = size ? [size[0], size[1]] : c ? [c.input_size[1], c.input_size[2]] : [224, 224];
  if (!c) return { size: s, ...IMAGENET, cropPct: 0.875, cropMode: 'center', interpolation: 'bicubic', source: 'ImageNet defaults' };
  return {
    size: s, mean: c.mean, std: c.std, cropPct: c.crop_pct,
    cropMode: c.crop_mode === 'squash' ? 'squash' : 'center',
    interpolation: c.interpolation === 'bilinear' ? 'bilinear' : 'bicubic',
    source: `timm ${key}`,
  };
}
