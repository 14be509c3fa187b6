/**
 * Model names as timm and the Hugging Face hub spell them: an architecture (`nextvit_small`) or a
 * pretrained tag (`nextvit_small.bd_in1k_384`). A tag names one checkpoint of timm v1.0.28 and its
 * pretrained_cfg (timm-zoo.ts): input size, classes, mean/std, crop_pct, interpolation, hub repo.
 * A bare architecture name means timm's default tag for it (`pretrained=True` without a tag), or
 * no tag when timm has no weights for it (then the registry's own mean/std apply).
 */
import { getModel, listModels, type ModelSpec, suggest as suggestArch, UnknownModelError } from './registry.js';
import { TIMM_ZOO, type TimmPretrainedCfg } from './timm-zoo.js';

export interface ResolvedModel {
  /** Registered architecture (`nextvit_small`). */
  arch: string;
  /** Full tag (`nextvit_small.bd_in1k_384`): the one named, else the architecture's default; null when there is none. */
  tag: string | null;
  /** The tag's timm pretrained_cfg; null without a tag. */
  cfg: TimmPretrainedCfg | null;
}

/** The pretrained_cfg of `arch`'s default tag (timm's `pretrained=True`); null when timm has no weights for it. */
export function defaultPretrainedCfg(arch: string): TimmPretrainedCfg | null {
  const zoo = TIMM_ZOO[arch];
  return zoo?.defaultTag ? zoo.pretrained[zoo.defaultTag] ?? null : null;
}

/** Every pretrained tag of the registered architectures, in registry order, tags sorted by name. */
export function listPretrainedTags(): { tag: string; arch: string; cfg: TimmPretrainedCfg }[] {
  return listModels().flatMap((s) => Object.entries(TIMM_ZOO[s.name]?.pretrained ?? {}).map(([tag, cfg]) => ({ tag, arch: s.name, cfg })));
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Closest tags of the named (or closest) architecture. */
function suggestTags(name: string, n = 3): string[] {
  const q = name.toLowerCase();
  return listPretrainedTags()
    .map(({ tag }) => ({ tag, d: editDistance(q, tag) }))
    .sort((a, b) => a.d - b.d || (a.tag < b.tag ? -1 : 1))
    .slice(0, n)
    .map((x) => x.tag);
}

/**
 * `arch` or `arch.tag` → the architecture, the tag and its pretrained_cfg. Throws
 * UnknownModelError (a usage error) naming the closest architectures or tags.
 */
export function resolveModelName(name: string): ResolvedModel {
  const dot = name.indexOf('.');
  if (dot < 0) {
    const spec = getModel(name);
    return { arch: spec.name, tag: TIMM_ZOO[spec.name]?.defaultTag ?? null, cfg: defaultPretrainedCfg(spec.name) };
  }
  const arch = name.slice(0, dot);
  let spec: ModelSpec;
  try {
    spec = getModel(arch);
  } catch {
    throw new UnknownModelError(`unknown model '${name}' (did you mean ${[...suggestArch(arch, 2), ...suggestTags(name, 2)].join(', ')}? 'vitx list --pretrained' shows all tags)`);
  }
  const cfg = TIMM_ZOO[spec.name]?.pretrained[name];
  if (!cfg) {
    const tags = Object.keys(TIMM_ZOO[spec.name]?.pretrained ?? {});
    const known = tags.length ? `its tags: ${suggestTags(name, 3).filter((t) => t.startsWith(`${arch}.`)).join(', ') || tags.slice(0, 3).join(', ')}` : 'timm has no pretrained tags for it';
    throw new UnknownModelError(`unknown pretrained tag '${name}' of ${spec.name} (${known}; 'vitx list --pretrained' shows all tags)`);
  }
  return { arch: spec.name, tag: name, cfg };
}

/**
 * Preprocessing metadata of a resolved name, with exactly timm's pretrained_cfg values: `vitx.mean`,
 * `vitx.std` (comma-separated), `vitx.crop_pct`, `vitx.interpolation`, `vitx.pretrained_tag`.
 * (`vitx.input_size` is the exported input, written by the registry.) Without a tag: mean and std
 * from the registry only.
 */
export function preprocessingMetadata(r: ResolvedModel): [string, string][] {
  const spec = getModel(r.arch);
  if (!r.cfg) return [['vitx.mean', spec.mean.join(',')], ['vitx.std', spec.std.join(',')]];
  return [
    ['vitx.mean', r.cfg.mean.join(',')],
    ['vitx.std', r.cfg.std.join(',')],
    ['vitx.crop_pct', String(r.cfg.crop_pct)],
    ['vitx.interpolation', r.cfg.interpolation],
    ['vitx.pretrained_tag', r.tag!],
  ];
}
