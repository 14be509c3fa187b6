/**
 * `vitx list`: registered models with parameter counts, default and accepted input sizes; `--pretrained`:
 * every pretrained tag. Builds no
 * graph: parameter counts come from the variant tables (timm's counts for timm architectures).
 */
import type { Command } from 'commander';
import { listModels, listPretrained } from '../library.js';
import type { Io } from './main.js';

function listTags(io: Io, json: boolean): void {
  const rows = listPretrained();
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
      const rows = listModels();
      if (f.json) { io.out(`${JSON.stringify(rows, null, 2)}\n`); return; }
      const w = Math.max(...rows.map((r) => r.name.length), 5);
      io.out(`${'model'.padEnd(w)}  ${'family'.padEnd(9)}  ${'params'.padStart(12)}  ${'head'.padStart(4)}  default  input sizes\n`);
      for (const r of rows) {
        io.out(`${r.name.padEnd(w)}  ${r.family.padEnd(9)}  ${r.params.toLocaleString('en-US').padStart(12)}  ${String(r.classes).padStart(4)}  ${r.size.padEnd(7)}  ${r.sizes}\n`);
      }
    });
}
