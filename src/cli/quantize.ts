/**
 * `vitx quantize in.onnx -o out.onnx --calibration <folder|file.npy>` and the int8 half of
 * `vitx export --dtype int8`: calibrate, insert QDQ (quant/), then the fidelity report on held-out
 * inputs and the latency of both files; the int8 file is written only when it is not slower than
 * float32 on the chosen backend (or with --force).
 */
import type { Command } from 'commander';

import { interleaved, latencyStats, openTimed, type BenchEp } from '../bench/latency.js';
import { parseOnnx } from '../onnx/parse.js';
import { feedFor } from '../quant/calibrate.js';
import { loadSamples, sampleFiles, splitHeldOut, type Samples } from '../quant/data.js';
import type { FidelityReport } from '../quant/fidelity.js';
import { CALIBRATION_METHODS, type CalibrationMethod, DEFAULT_METHOD, QUANT_PROFILES, type QuantProfile, type QuantizeResult, weightType } from '../quant/index.js';
import { quantizeModel } from '../library.js';
import { preprocessCfg } from '../quant/pretrained-cfg.js';
import { formatInt8Report, type Int8Report } from '../quant/report.js';
import { UsageError } from './errors.js';
import { checkOutputs, readInput, writeAtomic } from './files.js';
import type { Io } from './main.js';

export class QuantizeRefused extends Error {}

export { formatInt8Report, type Int8Report };

export interface Int8Flags {
  calibration?: string; eval?: string; calibrationMethod: CalibrationMethod; quantizeAttention?: boolean;
  force?: boolean; json?: string; latencyRuns: number; quiet?: boolean;
}

export function parseMethod(v: string): CalibrationMethod {
  if (!(CALIBRATION_METHODS as readonly string[]).includes(v)) throw new UsageError(`--calibration-method must be one of ${CALIBRATION_METHODS.join(', ')}, got '${v}'`);
  return v as CalibrationMethod;
}

export function parseRuns(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 10000) throw new UsageError(`${flag} must be an integer from 1 to 10000, got '${v}'`);
    return n;
  };
}

/** Adds the int8 flags shared by `quantize` and `export`. */
export function int8Options(c: Command): Command {
  return c
    .option('--calibration <folder|file.npy>', 'calibration photos (JPEG/PNG, preprocessed as the model\'s pretrained cfg) or input tensors')
    .option('--eval <folder|file.npy>', 'held-out inputs for the fidelity report (default: every 4th calibration sample, not used to calibrate)')
    .option('--calibration-method <m>', `activation ranges: ${CALIBRATION_METHODS.join(', ')} (default ${DEFAULT_METHOD})`, parseMethod, DEFAULT_METHOD)
    .option('--quantize-attention', 'also quantize the attention MatMuls (q·kᵀ, attn·v); default: float')
    .option('--latency-runs <n>', 'interleaved timed runs of each file for the latency check', parseRuns('--latency-runs'), 10)
    .option('--force', 'write the int8 file even when it is slower than float32')
    .option('--json <file>', 'also write the quantization and fidelity report as JSON');
}

/** Quantizes `floatBytes` and reports; returns the int8 bytes (or throws QuantizeRefused). */
export async function quantizeWithReport(floatBytes: Uint8Array, f: Int8Flags, o: { profile: QuantProfile; model?: string; io: Io }): Promise<{ bytes: Uint8Array; report: Int8Report }> {
  if (!f.calibration) throw new UsageError('int8 needs --calibration <folder of photos | file.npy>');
  const g = parseOnnx(floatBytes).graph;
  const x = g.inputs[0];
  if (!x || x.shape.length !== 4 || x.shape.slice(1).some((d) => typeof d !== 'number')) throw new UsageError('int8: the model needs one NCHW input with static C, H, W');
  const chw = x.shape.slice(1) as [number, number, number];
  // the preprocessing a vitx file records (its tag, else its architecture's default tag) unless --model says otherwise
  const cfg = preprocessCfg(o.model ?? g.metadata.get('vitx.pretrained_tag') ?? g.metadata.get('vitx.model'), [chw[1], chw[2]]);
  let cal: Samples = loadSamples(f.calibration, chw, cfg, 'calibration data');
  let held: Samples;
  if (f.eval) held = loadSamples(f.eval, chw, cfg, 'evaluation data');
  else ({ calibration: cal, heldOut: held } = splitHeldOut(cal));
  const progress = o.io.isTTY && !f.quiet ? (s: string) => o.io.err(`\r${s}\x1b[K`) : undefined;
  const ep: BenchEp = o.profile === 'web' ? 'wasm' : 'cpu';
  // the front door's quantizeModel; the fidelity sessions run as deployed (onnxruntime's optimizations on) on the profile's backend
  const { bytes: qBytes, report: qr } = await quantizeModel(floatBytes, {
    calibration: cal, heldOut: held, profile: o.profile, method: f.calibrationMethod, quantizeAttention: f.quantizeAttention, onProgress: progress,
    open: (m) => openTimed(m, ep), openLayers: (m) => openTimed(m, 'cpu', { noOptimizations: true }),
  });
  const q = { bytes: qBytes, profile: qr.profile, method: qr.method, opset: qr.opset, stats: qr.quantized }, fid = qr.fidelity;
  progress?.(`latency on ${ep}`);
  const times = await interleaved([{ name: 'float32', model: floatBytes }, { name: 'int8', model: q.bytes }], feedFor(g, held, 0), ep, { runs: f.latencyRuns });
  if (progress) o.io.err('\r\x1b[K');
  const a = latencyStats(times.get('float32')!, 1).p50, b = latencyStats(times.get('int8')!, 1).p50;
  const report: Int8Report = {
    profile: q.profile, method: q.method, opset: q.opset, calibration: cal.description, heldOut: held.description,
    quantized: q.stats, fidelity: fid, latency: { ep, runs: f.latencyRuns, float32Ms: a, int8Ms: b, ratio: b / a }, written: false,
  };
  return { bytes: q.bytes, report };
}

/**
 * Writes the report JSON (if asked) and refuses a slower int8 file unless --force. The tensorrt
 * profile is exempt: its QDQ placement is for TensorRT, which fuses it; onnxruntime CPU does not.
 */
export function finishInt8(r: Int8Report, f: Int8Flags, output: string): void {
  const slower = r.profile !== 'tensorrt' && r.latency.int8Ms > r.latency.float32Ms;
  r.written = !slower || Boolean(f.force);
  if (f.json) writeAtomic(f.json, [new TextEncoder().encode(`${JSON.stringify(r, null, 1)}\n`)]);
  if (!r.written) {
    throw new QuantizeRefused(`the int8 file is slower than float32 on ${r.latency.ep} (${r.latency.int8Ms.toFixed(2)} ms vs ${r.latency.float32Ms.toFixed(2)} ms); ${output} not written (--force writes it anyway)`);
  }
}

interface QuantizeFlags extends Int8Flags { output?: string; target: QuantProfile; model?: string }

function parseProfile(v: string): QuantProfile {
  if (!(QUANT_PROFILES as readonly string[]).includes(v)) throw new UsageError(`--target must be one of ${QUANT_PROFILES.join(', ')}, got '${v}'`);
  return v as QuantProfile;
}

export function registerQuantize(program: Command, io: Io): void {
  int8Options(program
    .command('quantize')
    .description('quantize a float32 ONNX file to int8 (static QDQ) with a fidelity report')
    .argument('<file.onnx>', 'float32 ONNX file (e.g. from vitx export)')
    .option('-o, --output <file>', 'output path (default: <input>.int8.onnx)')
    .option('--target <ort|web|tensorrt>', 'QDQ placement profile (latency is measured on wasm for web, cpu otherwise)', parseProfile, 'ort')
    .option('--model <name>', 'model whose pretrained cfg preprocesses calibration photos (model or tag; default: the file\'s vitx.pretrained_tag, else vitx.model metadata)')
    .option('-q, --quiet', 'print nothing on success'))
    .action(async (input: string, f: QuantizeFlags) => {
      if (!input.endsWith('.onnx')) throw new UsageError(`input must be an .onnx file: ${input}`);
      const output = f.output ?? input.replace(/\.onnx$/, '.int8.onnx');
      if (!output.endsWith('.onnx')) throw new UsageError(`output file must end in .onnx: ${output}`);
      if (!f.calibration) throw new UsageError('vitx quantize needs --calibration <folder of photos | file.npy>');
      checkOutputs([['-o', output], ['--json', f.json]], [input, ...sampleFiles(f.calibration), ...(f.eval ? sampleFiles(f.eval) : [])]);
      const bytes = readInput(input, 'ONNX file');
      const { bytes: out, report } = await quantizeWithReport(bytes, f, { profile: f.target, model: f.model, io });
      finishInt8(report, f, output);
      writeAtomic(output, [out]);
      if (f.quiet) return;
      io.out(`wrote ${output} (${(out.byteLength / 1e6).toFixed(1)} MB, int8, from ${input} ${(bytes.byteLength / 1e6).toFixed(1)} MB)\n`);
      io.out(formatInt8Report(report));
    });
}

