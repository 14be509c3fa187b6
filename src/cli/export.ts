/**
 * `vitx export <model>`: build, load weights, optimize, apply a target profile, convert to fp16,
 * write ONNX (and its external data) atomically, summarize. A target whose lint reports errors
 * gets no file: the findings are listed on stderr, one per line, and the exit code is 1.
 */
import type { Command } from 'commander';
import { basename } from 'node:path';
import { getModel } from '../builders/registry.js';
import { exportModel } from '../pipeline.js';
import { readSafetensors } from '../weights/safetensors.js';
import { UsageError } from './errors.js';
import { countErrors, formatFinding, type TargetName } from '../targets/index.js';
import { checkWritable, readInput, writeAtomicMany } from './files.js';
import type { Io } from './main.js';
import { parseBatch, parseOpset, parsePrecision, parseSize, parseTarget } from './options.js';
import { finishInt8, formatInt8Report, type Int8Flags, int8Options, quantizeWithReport } from './quantize.js';

interface ExportFlags extends Partial<Int8Flags> {
  output?: string; weights?: string; opset?: number; batch: number | 'dynamic'; size?: [number, number];
  optimize: boolean; reparam: boolean; quiet?: boolean;
  dtype: 'fp32' | 'fp16' | 'int8'; io: 'fp32' | 'fp16'; target?: TargetName; externalData?: boolean;
}

export class LintFailure extends Error {}

function histogramLine(before: Map<string, number>, after: Map<string, number>): string {
  const ops = [...new Set([...before.keys(), ...after.keys()])].sort();
  return ops.map((op) => {
    const a = before.get(op) ?? 0, b = after.get(op) ?? 0;
    return a === b ? `${op} ${a}` : `${op} ${a}→${b}`;
  }).join(', ');
}

const total = (h: Map<string, number>) => [...h.values()].reduce((a, b) => a + b, 0);

function parseDtype(v: string): 'fp32' | 'fp16' | 'int8' {
  if (v !== 'fp32' && v !== 'fp16' && v !== 'int8') throw new UsageError(`--dtype must be fp32 or fp16, got '${v}' (or int8, with --calibration)`);
  return v;
}

export function registerExport(program: Command, io: Io): void {
  int8Options(program
    .command('export')
    .description('export a model as an optimized ONNX file')
    .argument('<model>', "model name (see 'vitx list')")
    .option('-o, --output <file>', 'output path (default: <model>.onnx)')
    .option('-w, --weights <file>', 'checkpoint (.safetensors, timm names); default: deterministic init')
    .option('--opset <n>', 'ONNX opset, 13…21 (default: the target\'s, 17)', parseOpset)
    .option('--batch <n|dynamic>', "static batch size or 'dynamic'", parseBatch, 1)
    .option('--size <H|HxW>', 'input size (default: the model\'s)', parseSize)
    .option('--no-optimize', 'write the train-time graph as built (no passes)')
    .option('--no-reparam', 'keep BatchNorms and multi-branch blocks (clean-up passes only)')
    .option('--dtype <fp32|fp16|int8>', 'weights and compute precision (int8: static QDQ, needs --calibration)', parseDtype, 'fp32')
    .option('--io <fp32|fp16>', 'input/output element type with --dtype fp16', parsePrecision('--io'), 'fp32')
    .option('--target <name>', 'deployment profile and lint: ort, tensorrt, coreml, web', parseTarget)
    .option('--external-data', 'weights in <output>.data next to the .onnx (automatic above 2 GB)')
    .option('-q, --quiet', 'print nothing on success'))
    .action(async (model: string, f: ExportFlags) => {
      const t0 = performance.now();
      const spec = getModel(model);
      const output = f.output ?? `${spec.name}.onnx`;
      if (!output.endsWith('.onnx')) throw new UsageError(`output file must end in .onnx: ${output}`);
      if (f.io === 'fp16' && f.dtype !== 'fp16') throw new UsageError('--io fp16 needs --dtype fp16');
      const int8 = f.dtype === 'int8';
      if (int8 && !f.calibration) throw new UsageError('--dtype int8 needs --calibration <folder of photos | file.npy>');
      if (!int8 && (f.calibration || f.eval)) throw new UsageError('--calibration and --eval go with --dtype int8');
      if (int8 && (f.target === 'coreml')) throw new UsageError('--dtype int8 supports --target ort, web or tensorrt');
      if (int8 && f.externalData) throw new UsageError('--dtype int8 writes one file; --external-data is not supported with it');
      const dataPath = `${output}.data`;
      checkWritable(output, f.weights ? [f.weights] : []);
      checkWritable(dataPath, f.weights ? [f.weights] : []);
      let checkpoint;
      if (f.weights) checkpoint = readSafetensors(readInput(f.weights, 'weights file'), `weights file ${f.weights}`).tensors;
      const r = exportModel(spec.name, {
        checkpoint, checkpointName: f.weights ? basename(f.weights) : undefined,
        opset: f.opset, batch: f.batch, size: f.size, optimize: f.optimize, reparam: f.reparam,
        dtype: f.dtype === 'int8' ? 'fp32' : f.dtype, io: f.io, target: int8 && !f.target ? 'ort' : f.target, externalData: int8 ? false : f.externalData ? true : 'auto', dataLocation: basename(dataPath),
      });
      const errors = countErrors(r.findings);
      if (errors > 0) {
        for (const x of r.findings) io.err(`  ${formatFinding(x)}\n`);
        throw new LintFailure(`${spec.name} does not pass the ${r.target} lint (${errors} error${errors === 1 ? '' : 's'} listed above); nothing written`);
      }
      let int8Text = '';
      if (int8) {
        const q = await quantizeWithReport(r.bytes, f as Int8Flags, { profile: f.target === 'web' || f.target === 'tensorrt' ? f.target : 'ort', arch: spec.name, io });
        finishInt8(q.report, f as Int8Flags, output);
        r.bytes = q.bytes;
        int8Text = formatInt8Report(q.report);
      }
      writeAtomicMany(r.external ? [[dataPath, r.external.data], [output, [r.bytes]]] : [[output, [r.bytes]]]);
      if (f.quiet) return;
      const secs = ((performance.now() - t0) / 1000).toFixed(2);
      const mb = ((r.bytes.byteLength + (r.external?.dataBytes ?? 0)) / 1e6).toFixed(1);
      const size = r.graph.inputs[0]!.shape.join('×');
      io.out(`wrote ${output} (${mb} MB, opset ${r.opset}, input ${size}, ${f.weights ? `weights ${f.weights}` : 'deterministic init'})\n`);
      io.out(`  params   ${r.params.toLocaleString('en-US')} (exported tensors: ${r.exportedParams.toLocaleString('en-US')} values)\n`);
      io.out(`  nodes    ${total(r.nodesBefore)} → ${total(r.nodesAfter)}: ${histogramLine(r.nodesBefore, r.nodesAfter)}\n`);
      const fired = r.passes.flatMap((p) => Object.entries(p.stats.counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ×${n}`));
      const firedText = fired.length ? fired.join(', ') : 'none fired';
      io.out(`  passes   ${f.optimize ? firedText : fired.length ? `${firedText} (--no-optimize: target rewrites only)` : 'skipped (--no-optimize)'}\n`);
      if (r.fp16) io.out(`  dtype    fp16 (graph I/O ${f.io}): ${r.fp16.half} nodes in float16, ${r.fp16.keptFp32} kept in float32, ${r.fp16.casts} Casts\n`);
      io.out(int8Text);
      if (r.external) io.out(`  data     ${dataPath} (${(r.external.dataBytes / 1e6).toFixed(1)} MB, ${r.external.tensors} tensors; keep it next to ${basename(output)})\n`);
      if (f.target) {
        const warnings = r.findings.filter((x) => x.severity === 'warning').length;
        io.out(`  target   ${r.target}: lint ${r.findings.length === 0 ? 'clean' : `0 errors, ${warnings} warning${warnings === 1 ? '' : 's'}`}\n`);
        for (const x of r.findings) io.out(`    ${formatFinding(x)}\n`);
      }
      io.out(`  time     ${secs} s (build ${(r.ms.build / 1000).toFixed(2)} s, optimize ${(r.ms.optimize / 1000).toFixed(2)} s, write ${(r.ms.serialize / 1000).toFixed(2)} s)\n`);
    });
}
