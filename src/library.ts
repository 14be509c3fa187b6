/**
 * The front door's functions, platform-free: bytes in, bytes out. The package's entries install a
 * host and re-export these (src/index.ts for Node, src/browser.ts for browsers); the CLI calls
 * them too. Files, the network and onnxruntime are the host's (platform/).
 */
import { defaultPretrainedCfg, listPretrainedTags, resolveModelName } from './builders/pretrained.js';
import { getModel, listModels as registeredModels, type ModelSpec, specParams } from './builders/registry.js';
import { TIMM_ZOO } from './builders/timm-zoo.js';
import './builders/index.js';
import type { Tensor } from './graph/tensor.js';
import { inspectGraph, type InspectReport } from './inspect/index.js';
import { type Postprocess, type Preprocess, wrapOnnx } from './io-wrap/index.js';
import { OnnxParseError, type ParsedModel, parseOnnx } from './onnx/parse.js';
import { type ExportOptions, type ExportResult, exportModel as exportFloat } from './pipeline.js';
import { platform } from './platform/index.js';
import { type Samples, splitHeldOut } from './quant/samples.js';
import { fidelity, type FidelityReport, type Opener } from './quant/fidelity.js';
import { type CalibrationMethod, DEFAULT_METHOD, INT8_SOURCE, type QuantizeResult, type QuantProfile, quantizeOnnx } from './quant/index.js';
import { countErrors, type Finding, formatFinding } from './targets/index.js';
import type { Tolerance } from './verify/compare.js';
import { type ReferenceSpec, verify as verifyTarget, type VerifyOptions, type VerifyProgress, type VerifyReport } from './verify/verify.js';
import { describeCheckpoint, type LoadedCheckpoint, readCheckpoint as readCheckpointBytes } from './weights/checkpoint.js';
import { type LayoutChoice, remapCheckpoint } from './weights/layouts.js';

/** `vitx verify`'s default tolerance: |a − b| ≤ atol + rtol·|b|. */
export const DEFAULT_TOLERANCE: Tolerance = { atol: 1e-4, rtol: 1e-3 };

// ---------------------------------------------------------------------------------------------
// models

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

/** The registered models, as `vitx list --json` (builds no graph). */
export function listModels(): ListRow[] {
  return registeredModels().map((s) => ({
    name: s.name, family: s.family, ...defaultHead(s),
    size: `${s.defaultSize[0]}x${s.defaultSize[1]}`, sizes: acceptedSizes(s),
  }));
}

export interface PretrainedRow {
  tag: string;
  model: string;
  /** `HxW` */
  input_size: string;
  num_classes: number;
  mean: number[];
  std: number[];
  crop_pct: number;
  interpolation: string;
  hf_hub_id: string | null;
}

/** Every pretrained tag (timm v1.0.28's pretrained_cfg), as `vitx list --pretrained --json`. */
export function listPretrained(): PretrainedRow[] {
  return listPretrainedTags().map(({ tag, arch, cfg }) => ({
    tag, model: arch, input_size: `${cfg.input_size[1]}x${cfg.input_size[2]}`, num_classes: cfg.num_classes,
    mean: cfg.mean, std: cfg.std, crop_pct: cfg.crop_pct, interpolation: cfg.interpolation, hf_hub_id: cfg.hf_hub_id ?? null,
  }));
}

// ---------------------------------------------------------------------------------------------
// checkpoints

export interface ReadCheckpointOptions {
  /** Name for messages and the file's metadata (e.g. the file name). Default 'checkpoint'. */
  name?: string;
  /** Entry of a PyTorch training checkpoint holding the state dict (default as timm: EMA first). */
  key?: string;
  /** With `model`: the checkpoint's key layout ('auto' detects the official repositories' layouts). */
  layout?: LayoutChoice;
  /** The architecture or tag the checkpoint is for: remaps an official layout to timm's names. */
  model?: string;
}

export interface Checkpoint {
  /** Tensors under timm's names (after `model`'s remap, when given). */
  tensors: Map<string, Tensor>;
  name: string;
  format: LoadedCheckpoint['format'];
  /** One line: format, state dict entry, prefixes removed, layout remapped. */
  summary: string;
}

/** Reads a .safetensors or PyTorch checkpoint's bytes by content (never executes anything from it). */
export function readCheckpoint(bytes: Uint8Array, o: ReadCheckpointOptions = {}): Checkpoint {
  const name = o.name ?? 'checkpoint';
  const what = `weights file ${name}`;
  const c = readCheckpointBytes(bytes, what, { key: o.key });
  if (!o.model) return { tensors: c.tensors, name, format: c.format, summary: describeCheckpoint(c) };
  const r = remapCheckpoint(getModel(resolveModelName(o.model).arch), c.tensors, o.layout ?? 'auto', what);
  return { tensors: r.tensors, name, format: c.format, summary: describeCheckpoint(c) + (r.layout ? `, official ${r.layout} layout → timm names` : '') };
}

// ---------------------------------------------------------------------------------------------
// export

export type ExportPhase = 'weights' | 'build' | 'calibrate' | 'fidelity' | 'wrap' | 'done';

export interface ExportProgress {
  phase: ExportPhase;
  /** One line about the step (e.g. the calibration part), when there is one. */
  detail?: string;
}

export interface Int8Options {
  /** Calibration inputs, [C, H, W] float32 each, preprocessed as the model expects. */
  calibration: Samples;
  /** Held-out inputs for the fidelity report (default: every 4th calibration sample, not used to calibrate). */
  heldOut?: Samples;
  method?: CalibrationMethod;
  /** Also quantize the attention MatMuls (q·kᵀ, attn·v). */
  quantizeAttention?: boolean;
  /** QDQ placement (default: the export's target when web or tensorrt, else ort). */
  profile?: QuantProfile;
  /** Sessions for the fidelity report (default: the host's reference runtime, onnxruntime's optimizations off). */
  open?: Opener;
  openLayers?: Opener;
}

export interface ExportModelOptions extends Omit<ExportOptions, 'checkpoint' | 'checkpointName' | 'dtype'> {
  /** Checkpoint bytes (.safetensors / .pth / .pth.tar / .pt / .bin) or readCheckpoint's result. */
  weights?: Uint8Array | Checkpoint;
  /** Name of the checkpoint in messages and metadata (default: the Checkpoint's name, else 'checkpoint'). */
  weightsName?: string;
  checkpointKey?: string;
  checkpointLayout?: LayoutChoice;
  dtype?: 'fp32' | 'fp16' | 'int8';
  /** With dtype int8. */
  int8?: Int8Options;
  onProgress?: (p: ExportProgress) => void;
  /**
   * With dtype int8: called with the quantized file before it is wrapped (pre/postprocessing) and
   * returned; may throw to refuse it (the CLI measures latency here).
   */
  onQuantized?: (q: QuantizeModelResult, floatBytes: Uint8Array) => Promise<void> | void;
}

export interface ExportModelResult extends Omit<ExportResult, 'dtype'> {
  dtype: 'fp32' | 'fp16' | 'int8';
  /** The checkpoint that was loaded (null: deterministic initialization). */
  checkpoint: Checkpoint | null;
  /** With dtype int8: the quantization and fidelity report. */
  int8: QuantizeReport | null;
}

/** The target lint found errors: nothing is returned (the CLI lists `findings` and writes no file). */
export class LintError extends Error {
  constructor(readonly model: string, readonly target: string, readonly findings: Finding[]) {
    const n = countErrors(findings);
    super(`${model} does not pass the ${target} lint (${n} error${n === 1 ? '' : 's'}: ${findings.filter((f) => f.severity === 'error').map(formatFinding).join('; ')})`);
  }
}

/** Options given with another dtype than the one they need. */
export class OptionsError extends Error {}

interface WeightOptions { weights?: Uint8Array | Checkpoint; weightsName?: string; checkpointKey?: string; checkpointLayout?: LayoutChoice }

function checkpointOf(model: string, o: WeightOptions): Checkpoint | null {
  if (!o.weights) {
    if (o.checkpointKey !== undefined || o.checkpointLayout !== undefined) throw new OptionsError('checkpointKey and checkpointLayout need weights');
    return null;
  }
  if (!(o.weights instanceof Uint8Array)) return o.weights;
  return readCheckpoint(o.weights, { name: o.weightsName, key: o.checkpointKey, layout: o.checkpointLayout, model });
}

/**
 * `vitx export <model>` as a function: the same bytes for the same inputs (no options = the CLI's
 * defaults). fp32 / fp16 run synchronously inside; int8 calibrates on the host's onnxruntime.
 */
export async function exportModel(model: string, o: ExportModelOptions = {}): Promise<ExportModelResult> {
  const int8 = o.dtype === 'int8';
  if (int8 && !o.int8) throw new OptionsError('dtype int8 needs int8.calibration samples');
  if (!int8 && o.int8) throw new OptionsError('int8 options go with dtype int8');
  if (int8 && o.externalData === true) throw new OptionsError('dtype int8 writes one file; external data is not supported with it');
  resolveModelName(model); // an unknown model is an error before any work
  o.onProgress?.({ phase: 'weights' });
  const checkpoint = checkpointOf(model, o);
  o.onProgress?.({ phase: 'build' });
  const { preprocess, postprocess } = o;
  const { dtype: _d, int8: _i, onProgress: _p, onQuantized: _q, weights: _w, weightsName: _n, checkpointKey: _k, checkpointLayout: _l, ...pipeline } = o;
  const r = exportFloat(model, {
    ...pipeline, checkpoint: checkpoint?.tensors, checkpointName: checkpoint ? (o.weightsName ?? checkpoint.name) : undefined,
    dtype: o.dtype === 'int8' ? 'fp32' : o.dtype,
    ...(int8 ? { target: o.target ?? 'ort', externalData: false, ...INT8_SOURCE, ...(o.int8!.quantizeAttention ? { contribAttention: false } : {}) } : {}),
    // int8: the wraps go on after quantization, so calibration sees the float input
    preprocess: int8 ? undefined : preprocess, postprocess: int8 ? undefined : postprocess,
  });
  // a wrap the model cannot take fails before any calibration (WrapError)
  if (int8 && (preprocess || postprocess)) wrapOnnx(r.bytes, { preprocess, postprocess });
  if (countErrors(r.findings) > 0) throw new LintError(model, r.target, r.findings);
  let report: QuantizeReport | null = null;
  if (int8) {
    const profile = o.int8!.profile ?? (o.target === 'web' || o.target === 'tensorrt' ? o.target : 'ort');
    const q = await quantizeModel(r.bytes, { ...o.int8!, profile, onProgress: (detail) => o.onProgress?.({ phase: detail.startsWith('calibration') ? 'calibrate' : 'fidelity', detail }) });
    await o.onQuantized?.(q, r.bytes);
    r.bytes = q.bytes;
    report = q.report;
    if (preprocess || postprocess) {
      o.onProgress?.({ phase: 'wrap' });
      ({ bytes: r.bytes, graph: r.graph } = wrapOnnx(q.bytes, { preprocess, postprocess }));
    }
  }
  o.onProgress?.({ phase: 'done' });
  return { ...r, dtype: o.dtype ?? 'fp32', checkpoint, int8: report };
}

// ---------------------------------------------------------------------------------------------
// int8

export interface QuantizeModelOptions extends Omit<Int8Options, 'profile'> {
  profile?: QuantProfile;
  /** ort / web: minimum dot-product length of a quantized op. */
  minReduction?: number;
  onProgress?: (detail: string) => void;
}

export interface QuantizeReport {
  profile: QuantProfile;
  method: CalibrationMethod;
  opset: number;
  calibration: string;
  heldOut: string;
  quantized: QuantizeResult['stats'];
  fidelity: FidelityReport;
}

export interface QuantizeModelResult { bytes: Uint8Array; report: QuantizeReport }

const hostOpener: Opener = async (m) => {
  const s = await platform().openSession(m);
  return { infer: (feeds, names) => s.run(feeds, names), release: () => s.release() };
};

/** `vitx quantize` as a function: float32 ONNX bytes + calibration samples → int8 QDQ bytes and a fidelity report. */
export async function quantizeModel(floatBytes: Uint8Array, o: QuantizeModelOptions): Promise<QuantizeModelResult> {
  let calibration = o.calibration, heldOut = o.heldOut;
  if (!heldOut) ({ calibration, heldOut } = splitHeldOut(calibration));
  const q = await quantizeOnnx(floatBytes, calibration, {
    profile: o.profile, method: o.method ?? DEFAULT_METHOD, quantizeAttention: o.quantizeAttention, minReduction: o.minReduction, onProgress: o.onProgress,
  });
  o.onProgress?.('fidelity on held-out inputs');
  const fid = await fidelity(floatBytes, q.bytes, heldOut, o.open ?? hostOpener, o.openLayers ?? o.open ?? hostOpener);
  return {
    bytes: q.bytes,
    report: { profile: q.profile, method: q.method, opset: q.opset, calibration: calibration.description, heldOut: heldOut.description, quantized: q.stats, fidelity: fid },
  };
}

// ---------------------------------------------------------------------------------------------
// verify and inspect

/** A model name or tag, or an ONNX file's bytes (self-contained: external data put inline). */
export type VerifySubject = string | Uint8Array | { name: string; bytes: Uint8Array };

export interface VerifyModelOptions extends Partial<Omit<VerifyOptions, 'checkpoint' | 'checkpointName' | 'reference'>> {
  /** Model names: checkpoint bytes or readCheckpoint's result. */
  weights?: Uint8Array | Checkpoint;
  weightsName?: string;
  checkpointKey?: string;
  checkpointLayout?: LayoutChoice;
  /** Another ONNX file's bytes run on the reference backend, or saved outputs (goldens). */
  reference?: ReferenceSpec;
  onProgress?: (e: VerifyProgress) => void;
}

/**
 * `vitx verify` as a function: runs the candidate on each backend (default: every backend of the
 * host) and compares with the reference on the host's reference backend (Node: cpu, browser: wasm).
 */
export async function verify(subject: VerifySubject, o: VerifyModelOptions = {}): Promise<VerifyReport> {
  const target = typeof subject === 'string'
    ? { kind: 'model' as const, model: subject }
    : subject instanceof Uint8Array ? { kind: 'file' as const, path: 'model.onnx', bytes: subject } : { kind: 'file' as const, path: subject.name, bytes: subject.bytes };
  const checkpoint = target.kind === 'model' ? checkpointOf(target.model, o) : null;
  return verifyTarget(target, {
    ...o, backends: o.backends ?? platform().backends, tolerance: o.tolerance ?? DEFAULT_TOLERANCE,
    checkpoint: checkpoint?.tensors, checkpointName: checkpoint ? (o.weightsName ?? checkpoint.name) : undefined,
  });
}

export interface InspectOptions {
  /** Lint for a target profile (ort, tensorrt, coreml, web). */
  target?: string;
  /** Name of the file in messages (default 'model.onnx'). */
  name?: string;
}

/** `vitx inspect` as a function: an ONNX file's bytes (or a parsed file, with its external data) → the report. */
export function inspect(model: Uint8Array | ParsedModel, o: InspectOptions = {}): InspectReport {
  let parsed: ParsedModel;
  if (model instanceof Uint8Array) {
    try {
      parsed = parseOnnx(model);
    } catch (e) {
      throw e instanceof OnnxParseError ? new OnnxParseError(`${o.name ?? 'model.onnx'}: ${e.message}`) : e;
    }
  } else parsed = model;
  return inspectGraph(parsed.graph, { opset: parsed.opset, producer: parsed.producer || undefined, target: o.target });
}

export type { Postprocess, Preprocess };
