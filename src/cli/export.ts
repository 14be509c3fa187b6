/** `vitx export <model>`: build, load weights, optimize, write ONNX atomically, summarize. */
import type { Command } from 'commander';
import { basename } from 'node:path';
import { getModel } from '../builders/registry.js';
import { exportModel } from '../pipeline.js';
import { readSafetensors } from '../weights/safetensors.js';
import { UsageError } from './errors.js';
import { checkWritable, readInput, writeAtomic } from './files.js';
import type { Io } from './main.js';
import { parseBatch, parseOpset, parseSize } from './options.js';

interface ExportFlags {
  output?: string; weights?: string; opset: number; batch: number | 'dynamic'; size?: [number, number];
  optimize: boolean; reparam: boolean; quiet?: boolean;
}

function histogramLine(before: Map<string, number>, after: Map<string, number>): string {
  const ops = [...new Set([...before.keys(), ...after.keys()])].sort();
  return ops.map((op) => {
    const a = before.get(op) ?? 0, b = after.get(op) ?? 0;
    return a === b ? `${op} ${a}` : `${op} ${a}→${b}`;
  }).join(', ');
}

const total = (h: Map<string, number>) => [...h.values()].reduce((a, b) => a + b, 0);

export function registerExport(program: Command, io: Io): void {
  program
    .command('export')
    .description('export a model as an optimized ONNX file')
    .argument('<model>', "model name (see 'vitx list')")
    .option('-o, --output <file>', 'output path (default: <model>.onnx)')
    .option('-w, --weights <file>', 'checkpoint (.safetensors, timm names); default: deterministic init')
    .option('--opset <n>', 'ONNX opset, 13…21', parseOpset, 17)
    .option('--batch <n|dynamic>', "static batch size or 'dynamic'", parseBatch, 1)
    .option('--size <H|HxW>', 'input size (default: the model\'s)', parseSize)
    .option('--no-optimize', 'write the train-time graph as built (no passes)')
    .option('--no-reparam', 'keep BatchNorms and multi-branch blocks (clean-up passes only)')
    .option('-q, --quiet', 'print nothing on success')
    .action((model: string, f: ExportFlags) => {
      const t0 = performance.now();
      const spec = getModel(model);
      const output = f.output ?? `${spec.name}.onnx`;
      if (!output.endsWith('.onnx')) throw new UsageError(`output file must end in .onnx: ${output}`);
      checkWritable(output, f.weights ? [f.weights] : []);
      let checkpoint;
      if (f.weights) checkpoint = readSafetensors(readInput(f.weights, 'weights file'), `weights file ${f.weights}`).tensors;
      const r = exportModel(spec.name, {
        checkpoint, checkpointName: f.weights ? basename(f.weights) : undefined,
        opset: f.opset, batch: f.batch, size: f.size, optimize: f.optimize, reparam: f.reparam,
      });
      writeAtomic(output, [r.bytes]);
      if (f.quiet) return;
      const secs = ((performance.now() - t0) / 1000).toFixed(2);
      const mb = (r.bytes.byteLength / 1e6).toFixed(1);
      const size = r.graph.inputs[0]!.shape.join('×');
      io.out(`wrote ${output} (${mb} MB, opset ${r.opset}, input ${size}, ${f.weights ? `weights ${f.weights}` : 'deterministic init'})\n`);
      io.out(`  params   ${r.params.toLocaleString('en-US')} (exported tensors: ${r.exportedParams.toLocaleString('en-US')} values)\n`);
      io.out(`  nodes    ${total(r.nodesBefore)} → ${total(r.nodesAfter)}: ${histogramLine(r.nodesBefore, r.nodesAfter)}\n`);
      const fired = r.passes.flatMap((p) => Object.entries(p.stats.counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ×${n}`));
      io.out(`  passes   ${f.optimize ? (fired.length ? fired.join(', ') : 'none fired') : 'skipped (--no-optimize)'}\n`);
      io.out(`  time     ${secs} s (build ${(r.ms.build / 1000).toFixed(2)} s, optimize ${(r.ms.optimize / 1000).toFixed(2)} s, write ${(r.ms.serialize / 1000).toFixed(2)} s)\n`);
    });
}
