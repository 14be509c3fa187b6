/**
 * `vitx verify <model | file.onnx>…`: run the exported graph on every listed backend and compare
 * with a reference (see verify/verify.ts). Exit 0 only when every backend passes for every target;
 * 1 on a mismatch, an unavailable backend or a bad input file; 2 on a usage mistake.
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { resolveModelName } from '../builders/pretrained.js';
import { BACKEND_NAMES, type BackendName, BackendPool, parseBackendList } from '../runtime/backend.js';
import { fmt, type OutputComparison, type Tolerance } from '../verify/compare.js';
import { goldensFormat, readGoldens, writeGoldens } from '../verify/goldens.js';
import { type ReferenceSpec, reportJson, type VerifyProgress, type VerifyReport, type VerifyTarget } from '../verify/verify.js';
import { verify } from '../library.js';
import { loadWeights, parseCheckpointLayout, type WeightFlags } from './weights.js';
import { readModelBytes, selfContainedModel } from '../onnx/external.js';
import { EXIT, UsageError } from './errors.js';
import { checkWritable, readInput, writeAtomic } from './files.js';
import type { Io } from './main.js';
import { DEFAULT_MAX_INPUT_MB, featuresOption, headOptions, numClassesOption, parseFloatOpt, parseMaxInputMb, parseSize } from './options.js';

export const DEFAULT_ATOL = 1e-4;
export const DEFAULT_RTOL = 1e-3;

interface VerifyFlags extends WeightFlags {
  ep: BackendName[]; reference?: string; loadOutputs?: string; saveOutputs?: string;
  atol: number; rtol: number; seed: number; batch: number; maxInputMb: number; size?: [number, number]; weights?: string; json?: string;
  numClasses?: number; features?: string | boolean;
}

export function parseEpList(v: string): BackendName[] {
  const r = parseBackendList(v);
  if (!Array.isArray(r)) throw new UsageError(`--ep: unknown backend '${r.unknown}' (choose from ${BACKEND_NAMES.join(', ')}, or all)`);
  if (r.length === 0) throw new UsageError('--ep needs at least one backend');
  return r;
}

function parseSeed(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new UsageError(`--seed must be an integer from 0 to 4294967295, got '${v}'`);
  return Number(v);
}

function parseStaticBatch(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 4096) throw new UsageError(`--batch must be a positive integer, got '${v}'`);
  return n;
}

/** A path to an existing file or anything ending in .onnx is a file; otherwise a model name. */
export function resolveTarget(arg: string): VerifyTarget {
  const isFile = /\.onnx$/i.test(arg) || arg.includes('/') || (existsSync(arg) && statSync(arg).isFile());
  // External data is read from the model's own folder and handed to onnxruntime inline.
  if (isFile) return { kind: 'file', path: arg, bytes: selfContainedModel(arg, readModelBytes(arg, 'model file')) };
  resolveModelName(arg); // an unknown name or tag is a usage error here, before any work
  return { kind: 'model', model: arg };
}

function referenceSpec(path: string, flag: string): ReferenceSpec {
  if (/\.onnx$/i.test(path)) return { kind: 'onnx', path, bytes: selfContainedModel(path, readModelBytes(path, 'reference model')) };
  const format = goldensFormat(path);
  if (!format) throw new UsageError(`${flag} must be an .onnx file or saved outputs (.json or .safetensors): ${path}`);
  return { kind: 'outputs', path, goldens: readGoldens(readInput(path, 'saved outputs'), format, `saved outputs ${path}`) };
}

function pad(s: string, n: number): string { return s.length >= n ? `${s} ` : s.padEnd(n); }

function classText(c: OutputComparison): [string, string] {
  if (!c.classes) return ['-', '-'];
  const { rows, argmaxAgree, topkAgree, k } = c.classes;
  return [`${argmaxAgree}/${rows}`, k === 5 ? `${topkAgree}/${rows}` : `${topkAgree}/${rows} (top-${k})`];
}

export function formatReport(r: VerifyReport): string {
  const lines: string[] = [];
  lines.push(`verify ${r.target}`);
  lines.push(`  candidate  ${r.candidate}`);
  lines.push(`  reference  ${r.reference}`);
  lines.push(`  inputs     ${r.inputs.map((i) => `${i.name} ${i.dtype}[${i.dims.join(',')}]`).join(', ')}${r.reference.startsWith('saved outputs') ? '' : ` (seed ${r.seed})`}`);
  lines.push(`  tolerance  |a−b| ≤ ${fmt(r.tolerance.atol)} + ${fmt(r.tolerance.rtol)}·|b|`);
  const multi = r.backends.some((b) => b.outputs.length > 1);
  const W = multi ? 30 : 16;
  lines.push(`  ${pad('backend', W)}${pad('result', 12)}${pad('max|Δ|', 10)}${pad('mean|Δ|', 10)}${pad('med|Δ|', 10)}${pad('max rel', 10)}${pad('argmax', 8)}${pad('top-5', 8)}${pad('needs atol', 11)}time`);
  for (const b of r.backends) {
    const secs = `${(b.ms / 1000).toFixed(1)} s`;
    if (b.status === 'unavailable' || b.status === 'error') {
      lines.push(`  ${pad(b.backend, W)}${pad(b.status, 12)}${b.error ?? ''}`);
      continue;
    }
    for (const c of b.outputs) {
      const [am, t5] = classText(c);
      const label = multi ? `${b.backend}/${c.name}` : b.backend;
      lines.push(`  ${pad(label, W)}${pad(c.pass ? 'pass' : 'FAIL', 12)}${pad(fmt(c.abs.max), 10)}${pad(fmt(c.abs.mean), 10)}${pad(fmt(c.abs.median), 10)}${pad(fmt(c.rel.max), 10)}${pad(am, 8)}${pad(t5, 8)}${pad(fmt(c.needsAtol), 11)}${secs}`);
      if (!c.pass) {
        const worst = c.worst ? `; worst at element ${c.worst.index}: ${fmt(c.worst.got)} vs ${fmt(c.worst.expected)}` : '';
        lines.push(`  ${' '.repeat(W)}${c.problem ?? `${c.failing} of ${c.count} elements beyond tolerance${worst}`}`);
      }
    }
  }
  const passed = r.backends.filter((b) => b.status === 'pass').map((b) => b.backend);
  const failed = r.backends.filter((b) => b.status !== 'pass').map((b) => `${b.backend} (${b.status === 'fail' ? 'mismatch' : b.status})`);
  lines.push(r.pass
    ? `verify ${r.target}: PASS on ${passed.join(', ')}`
    : `verify ${r.target}: FAIL on ${failed.join(', ')}${passed.length ? `; pass on ${passed.join(', ')}` : ''}`);
  return `${lines.join('\n')}\n`;
}

function progress(io: Io): ((e: VerifyProgress) => void) | undefined {
  if (!io.isTTY) return undefined;
  return (e) => {
    switch (e.phase) {
      case 'prepare': case 'reference': io.err(`verify ${e.target}: ${e.what}…\n`); break;
      case 'backend': io.err(`verify ${e.target}: ${e.backend}…\n`); break;
      case 'backend-done': io.err(`verify ${e.target}: ${e.result.backend} ${e.result.status} (${(e.result.ms / 1000).toFixed(1)} s)\n`); break;
    }
  };
}

export function registerVerify(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command('verify')
    .description('run a model (or .onnx file) on every backend and compare with a reference')
    .argument('<targets...>', "model names or pretrained tags (see 'vitx list [--pretrained]') and/or .onnx files")
    .option('--ep <list>', `backends, comma-separated: ${BACKEND_NAMES.join(', ')} (or all)`, parseEpList, [...BACKEND_NAMES])
    .option('--reference <file>', 'reference: an .onnx file run on cpu, or saved outputs (.json/.safetensors); default: the unoptimized graph (model) or the file itself on cpu')
    .option('--load-outputs <file>', 'saved outputs (.json/.safetensors) as the reference, with their inputs')
    .option('--save-outputs <file>', 'write the inputs and reference outputs (.json/.safetensors)')
    .option('--atol <a>', 'absolute tolerance', parseFloatOpt('--atol'), DEFAULT_ATOL)
    .option('--rtol <r>', 'relative tolerance', parseFloatOpt('--rtol'), DEFAULT_RTOL)
    .option('--seed <s>', 'seed of the generated inputs (0: the reference input)', parseSeed, 0)
    .option('--batch <n>', 'batch size', parseStaticBatch, 1)
    .option('--max-input-mb <n>', 'largest total size of the generated inputs, in MiB', parseMaxInputMb, DEFAULT_MAX_INPUT_MB)
    .option('--size <H|HxW>', 'input size for model names (default: the model\'s)', parseSize)
    .addOption(numClassesOption())
    .addOption(featuresOption())
    .option('-w, --weights <file>', 'checkpoint for model names (.safetensors or PyTorch .pth/.pth.tar/.bin); default: deterministic init')
    .option('--checkpoint-key <key>', 'entry of a PyTorch checkpoint holding the state dict (default as timm)')
    .option('--checkpoint-layout <official|timm>', 'key layout of the checkpoint (default: detected)', parseCheckpointLayout)
    .option('--json <file>', 'write a machine-readable report')
    .action(async (args: string[], f: VerifyFlags) => {
      if (f.reference && f.loadOutputs) throw new UsageError('give either --reference or --load-outputs, not both');
      const single = f.reference ? '--reference' : f.loadOutputs ? '--load-outputs' : f.saveOutputs ? '--save-outputs' : f.weights ? '--weights' : null;
      if (single && args.length > 1) throw new UsageError(`${single} needs a single target, got ${args.length}`);
      if (f.saveOutputs && !goldensFormat(f.saveOutputs)) throw new UsageError(`--save-outputs must end in .json or .safetensors: ${f.saveOutputs}`);
      const targets = args.map(resolveTarget);
      const head = headOptions(f);
      if (targets.some((t) => t.kind === 'file') && (f.size || f.weights)) throw new UsageError('--size and --weights apply to model names, not .onnx files');
      if (targets.some((t) => t.kind === 'file') && (head.numClasses !== undefined || head.features)) throw new UsageError('--num-classes and --features apply to model names, not .onnx files');
      if (targets.some((t) => t.kind === 'file') && (f.checkpointKey !== undefined || f.checkpointLayout)) throw new UsageError('--checkpoint-key and --checkpoint-layout apply to model names with --weights');
      const inputs = targets.flatMap((t) => (t.kind === 'file' ? [t.path] : []));
      const refPath = f.reference ?? f.loadOutputs;
      const readOnly = [...inputs, ...(f.weights ? [f.weights] : []), ...(refPath ? [refPath] : [])];
      for (const out of [f.json, f.saveOutputs]) if (out) checkWritable(out, readOnly);
      const reference = refPath ? referenceSpec(refPath, f.reference ? '--reference' : '--load-outputs') : undefined;
      if (f.loadOutputs && reference?.kind !== 'outputs') throw new UsageError(`--load-outputs takes saved outputs (.json/.safetensors), not ${f.loadOutputs}`);
      const first = targets[0];
      const weights = first?.kind === 'model' ? loadWeights(first.model, f) : undefined;
      const tolerance: Tolerance = { atol: f.atol, rtol: f.rtol };
      const pool = new BackendPool();
      const reports: VerifyReport[] = [];
      try {
        for (const target of targets) {
          const r = await verify(target.kind === 'model' ? target.model : { name: target.path, bytes: target.bytes }, {
            backends: f.ep, tolerance, seed: f.seed, batch: f.batch, size: f.size, weights, ...head,
            reference, pool, maxInputBytes: f.maxInputMb * 2 ** 20, onProgress: progress(io),
          });
          io.out(formatReport(r));
          reports.push(r);
        }
      } finally {
        await pool.close();
      }
      if (f.saveOutputs) {
        const r = reports[0]!;
        const meta = { target: r.target, reference: r.reference, seed: String(r.seed) };
        writeAtomic(f.saveOutputs, [writeGoldens({ meta, inputs: r.feeds, outputs: r.referenceOutputs }, goldensFormat(f.saveOutputs)!)]);
      }
      if (f.json) writeAtomic(f.json, [new TextEncoder().encode(reportJson(reports, { backends: f.ep }))]);
      setCode(reports.every((r) => r.pass) ? EXIT.ok : EXIT.failure);
    });
}
