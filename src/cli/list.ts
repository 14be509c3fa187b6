/**
 * `vitx list`: registered models with parameter counts, default and accepted input sizes; `--pretrained`:
 * every pretrained tag. Builds no
 * graph: parameter counts come from the variant tables (timm's counts for timm architectures).
 */
import type { Command } from 'commander';
import { defaultPretrainedCfg, listPretrainedTags } from '../builders/pretrained.js';
import { listModels, type ModelSpec, specParams } from '../builders/registry.js';
import { TIMM_ZOO } from '../builders/timm-zoo.js';
import type { Io } from './main.js';

export interface ListRow {
  name: string;
  family: ModelSpec['family'];
  /** Trainable parameters with the default head (the default pretrained tag's, as `vitx export <name>` builds it). */
  params: number;
  /** Outputs of the default head (`--num-classes` default; MobileCLIP towers: the embedding width). */
  classes: number;
  /** Default input size, `HxW`. */
  size: string;
  /** Accepted input sizes, in words (`multiples of 32`) or a list (`224x224`). */
  sizes: string;
}

function acceptedSizes(s: ModelSpec): string {
  return s.fixedSizes ? s.fixedSizes.map(([h, w]) => `${h}x${w}`).join(',') : `multiples of ${s.sizeMultiple}`;
}

/**
 * Classes and parameters of what `vitx export <name>` builds: the head of timm's default tag when it
 * has one (maxvit_xlarge_tf_224's is in21k, 21843 classes), else the registry's.
 */
function defaultHead(s: ModelSpec): { classes: number; params: number } {
  const classes = defaultPretrainedCfg(s.name)?.num_classes ?? s.numClasses;
  if (classes === s.numClasses) return { classes, params: specParams(s) };
  return { classes, params: specParams(s) + (classes - s.numClasses) * (TIMM_ZOO[s.name]!.headInFeatures + 1) };
}

export function listRows(): ListRow[] {
  return listModels().map((s) => ({
    name: s.name, family: s.family, ...defaultHead(s),
    size: `${s.defaultSize[0]}x${s.defaultSize[1]}`, sizes: acceptedSizes(s),
  }));
}

function listTags(io: Io, json: boolean): void {
  const rows = listPretrainedTags().map(({ tag, arch, cfg }) => ({
    tag, model: arch, input_size: `${cfg.input_size[1]}x${cfg.input_size[2]}`, num_classes: cfg.num_classes,
    mean: cfg.mean, std: cfg.std, crop_pct: cfg.crop_pct, interpolation: cfg.interpolation, hf_hub_id: cfg.hf_hub_id ?? null,
  }));
  if (json) { io.out(`${JSON.stringify(rows, null, 2)}\n`); return; }
  const w = Math.max(...rows.map((r) => r.tag.length), 3);
  io.out(`${'tag'.padEnd(w)}  input    classes  crop   interp    mean / std\n`);
  for (const r of rows) {
    io.out(`${r.tag.padEnd(w)}  ${r.input_size.padEnd(7)}  ${String(r.num_classes).padStart(7)}  ${String(r.crop_pct).padEnd(5)}  ${r.interpolation.padEnd(8)}  ${r.mean.join(',')} / ${r.std.join(',')}\n`);
  }
}

export function registerList(program: Command, io: Io): void {
  program
    .command('list')
    .description('list the models vitx can export (--pretrained: their pretrained tags, usable as model names)')
    .option('--pretrained', "every pretrained tag of the registered models (timm's pretrained_cfg: input size, classes, preprocessing)")
    .option('--json', 'machine-readable output')
    .action((f: { json?: boolean; pretrained?: boolean }) => {
      if (f.pretrained) { listTags(io, f.json === true); return; }
      const rows = listRows();
      if (f.json) { io.out(`${JSON.stringify(rows, null, 2)}\n`); return; }
      const w = Math.max(...rows.map((r) => r.name.length), 5);
      io.out(`${'model'.padEnd(w)}  ${'family'.padEnd(9)}  ${'params'.padStart(12)}  ${'head'.padStart(4)}  default  input sizes\n`);
      for (const r of rows) {
        io.out(`${r.name.padEnd(w)}  ${r.family.padEnd(9)}  ${r.params.toLocaleString('en-US').padStart(12)}  ${String(r.classes).padStart(4)}  ${r.size.padEnd(7)}  ${r.sizes}\n`);
      }
    });
}
