/**
 * Pretrained tags and their weights: `arch` or `arch.tag` → timm's pretrained_cfg
 * (src/builders/timm-zoo.ts), and `--pretrained`'s download of the tag's checkpoint the way timm's
 * `pretrained=True` fetches it: `model.safetensors` (or the cfg's `hf_hub_filename`) of the hub
 * repository `hf_hub_id` (`org/name[@revision]`, timm's hf_split).
 */
import { UsageError } from '../cli/errors.js';
import { resolveModelName } from '../builders/pretrained.js';
import type { TimmPretrainedCfg } from '../builders/timm-zoo.js';
import { hubDownload, type HubFile, type Progress } from './download.js';
import type { HubEnv } from './env.js';

export interface ResolvedName {
  /** The registered architecture (`nextvit_small`). */
  arch: string;
  /** Full tag name (`nextvit_small.bd_in1k_384`): the one named, else timm's default; null if timm has none. */
  tag: string | null;
  cfg: TimmPretrainedCfg | null;
  /** Whether the name carried the tag (then the tag's input size is the default size). */
  named: boolean;
}

/** A model name or tag (builders/pretrained.ts `resolveModelName`), and whether it named its tag. */
export function resolvePretrainedName(name: string): ResolvedName {
  return { ...resolveModelName(name), named: name.includes('.') };
}

/** The hub file timm's `pretrained=True` loads for a tag. */
export function pretrainedFile(r: ResolvedName): { repo: string; revision?: string; filename: string } {
  if (!r.cfg?.hf_hub_id) throw new UsageError(`${r.arch} has no pretrained weights on the Hugging Face Hub in timm v1.0.28; use --weights`);
  const [repo, revision] = r.cfg.hf_hub_id.split('@') as [string, string | undefined];
  const filename = typeof r.cfg['hf_hub_filename'] === 'string' ? r.cfg['hf_hub_filename'] : 'model.safetensors';
  if (!filename.endsWith('.safetensors')) throw new UsageError(`${r.tag}'s checkpoint ${filename} is not a safetensors file; download and convert it, then use --weights`);
  return { repo, revision, filename };
}

export async function downloadPretrained(r: ResolvedName, env: HubEnv, progress?: Progress): Promise<HubFile & { repo: string; filename: string }> {
  const f = pretrainedFile(r);
  return { ...(await hubDownload(f, env, progress)), repo: f.repo, filename: f.filename };
}
