/** `vitx list`: registered models with parameter counts and default input sizes. */
import type { Command } from 'commander';
import { buildModel, listModels } from '../builders/registry.js';
import { trainableParams } from '../pipeline.js';
import type { Io } from './main.js';

export function registerList(program: Command, io: Io): void {
  program
    .command('list')
    .description('list the models vitx can export')
    .option('--json', 'machine-readable output')
    .action((f: { json?: boolean }) => {
      const rows = listModels().map((s) => ({
        name: s.name, family: s.family, params: trainableParams(buildModel(s.name)),
        size: `${s.defaultSize[0]}x${s.defaultSize[1]}`,
        sizes: s.fixedSizes ? s.fixedSizes.map(([h, w]) => `${h}x${w}`).join(',') : `multiples of ${s.sizeMultiple}`,
      }));
      if (f.json) { io.out(`${JSON.stringify(rows, null, 2)}\n`); return; }
      const w = Math.max(...rows.map((r) => r.name.length), 5);
      io.out(`${'model'.padEnd(w)}  ${'family'.padEnd(9)}  ${'params'.padStart(12)}  default  input sizes\n`);
      for (const r of rows) {
        io.out(`${r.name.padEnd(w)}  ${r.family.padEnd(9)}  ${r.params.toLocaleString('en-US').padStart(12)}  ${r.size.padEnd(7)}  ${r.sizes}\n`);
      }
    });
}
