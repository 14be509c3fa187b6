/**
 * Preprocessing facts for calibration images: the pretrained_cfg of a model name or tag as
 * builders/pretrained.ts resolves it (input size, mean/std, crop_pct, crop_mode, interpolation);
 * for an architecture timm has no weights for, its registered mean/std with timm's default crop.
 */
import { resolveModelName } from '../builders/pretrained.js';
import { getModel, IMAGENET_MEAN, IMAGENET_STD } from '../builders/registry.js';

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

/** timm's defaults (IMAGENET_DEFAULT_*, crop_pct 0.875, bicubic) for a graph of unknown origin. */
function defaults(size: [number, number], mean: readonly number[], std: readonly number[], source: string): PreprocessCfg {
  return { size, mean: [...mean] as PreprocessCfg['mean'], std: [...std] as PreprocessCfg['std'], cropPct: 0.875, cropMode: 'center', interpolation: 'bicubic', source };
}

/**
 * The cfg of `name` (an architecture: its default tag; or a tag), at `size` when given. Without a
 * name (a file vitx did not write), ImageNet defaults. An unknown name is the resolver's usage error.
 */
export function preprocessCfg(name: string | undefined, size?: readonly [number, number]): PreprocessCfg {
  if (!name) return defaults(size ? [size[0], size[1]] : [224, 224], IMAGENET_MEAN, IMAGENET_STD, 'ImageNet defaults');
  const { arch, tag, cfg: c } = resolveModelName(name);
  if (!c || !tag) {
    const spec = getModel(arch);
    return defaults(size ? [size[0], size[1]] : [spec.defaultSize[0], spec.defaultSize[1]], spec.mean, spec.std, `${arch} (no timm tag)`);
  }
  return {
    size: size ? [size[0], size[1]] : [c.input_size[1], c.input_size[2]], mean: c.mean, std: c.std, cropPct: c.crop_pct,
    cropMode: c.crop_mode === 'squash' ? 'squash' : 'center',
    interpolation: c.interpolation === 'bilinear' ? 'bilinear' : 'bicubic',
    source: `timm ${tag}`,
  };
}
