/**
 * `-w/--weights` for `export` and `verify`: read the file by content (safetensors or a PyTorch
 * checkpoint), choose the state dict (`--checkpoint-key`), remap an official layout to timm names
 * (`--checkpoint-layout`, default: detected from the keys), and say in one line what was done.
 */
import { basename } from 'node:path';
import type { Tensor } from '../graph/tensor.js';
import { type Checkpoint, readCheckpoint } from '../library.js';
import type { LayoutChoice } from '../weights/layouts.js';
import { UsageError } from './errors.js';
import { readInput } from './files.js';

export interface WeightFlags { weights?: string; checkpointKey?: string; checkpointLayout?: LayoutChoice }

export function parseCheckpointLayout(v: string): LayoutChoice {
  if (v !== 'official' && v !== 'timm') throw new UsageError(`--checkpoint-layout must be official or timm, not ${JSON.stringify(v)}`);
  return v;
}

/** The checkpoint's tensors under timm's names, and a summary line; undefined without --weights. */
export function loadWeights(model: string, f: WeightFlags): (Checkpoint & { tensors: Map<string, Tensor> }) | undefined {
  if (!f.weights) {
    if (f.checkpointKey !== undefined) throw new UsageError('--checkpoint-key needs --weights');
    if (f.checkpointLayout !== undefined) throw new UsageError('--checkpoint-layout needs --weights');
    return undefined;
  }
  // messages name the path; the file's metadata and reports its base name
  const c = readCheckpoint(readInput(f.weights, 'weights file'), { name: f.weights, key: f.checkpointKey, layout: f.checkpointLayout ?? 'auto', model });
  return { ...c, name: basename(f.weights) };
}
