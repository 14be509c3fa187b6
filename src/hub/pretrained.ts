/**
 * `--pretrained`: the download of a resolved name's checkpoint (builders/pretrained.ts resolves
 * `arch` or `arch.tag` to timm's pretrained_cfg), the way timm's `pretrained=True` fetches it: `model.safetensors` (or the cfg's `hf_hub_filename`) of the hub
 * repository `hf_hub_id` (`org/name[@revision]`, timm's hf_split).
 */
import { UsageError } from '../errors.js';
import type { ResolvedModel } from '../builders/pretrained.js';
import { hubDownload, type HubFile, type Progress } from './download.js';
import type { HubEnv } from './env.js';

/** The hub file timm's `pretrained=True` loads for a tag. */
export function pretrainedFile(r: ResolvedModel): { repo: string; revision?: string; filename: string } {
  if (!r.cfg?.hf_hub_id) throw new UsageError(`${r.arch} has no pretrained weights on the Hugging Face Hub in timm v1.0.28; use --weights`);
  const [repo, revision] = r.cfg.hf_hub_id.split('@') as [string, string | undefined];
  const filename = typeof r.cfg['hf_hub_filename'] === 'string' ? r.cfg['hf_hub_filename'] : 'model.safetensors';
  if (!filename.endsWith('.safetensors')) throw new UsageError(`${r.tag}'s checkpoint ${filename} is not a safetensors file; download and convert it, then use --weights`);
  return { repo, revision, filename };
}

export async function downloadPretrained(r: ResolvedModel, env: HubEnv, progress?: Progress): Promise<HubFile & { repo: string; filename: string }> {
  const f = pretrainedFile(r);
  return { ...(await hubDownload(f, env, progress)), repo: f.repo, filename: f.filename };
}
