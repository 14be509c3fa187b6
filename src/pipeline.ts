/**
 * The library's front door: build → weights → optimize → target rewrites → fp16 → legalize →
 * lint → serialize (inline or with external data). The CLI is a thin layer over these functions.
 */
import { type Batch, buildModel, getModel } from './builders/index.js';
import { preprocessingMetadata, resolveModelName } from './builders/pretrained.js';
import type { Graph } from './graph/ir.js';
import type { Tensor } from './graph/tensor.js';
import { legalize } from './onnx/legalize.js';
import { optimize, type OptimizeReport, type Pass } from './passes/index.js';
import { removeDeadCode } from './passes/dce.js';
import { serialize } from './onnx/serialize.js';
import { detectCheckpointForm, formKeys } from './weights/forms.js';
import { resolveNumClasses } from './weights/head.js';
import { parameters } from './weights/load.js';
import { applyCheckpoint, initDeterministic } from './weights/load.js';
import { type ExternalSerialized, initializerBytes, PROTOBUF_LIMIT, serializeExternal } from './onnx/external-data.js';
import { type Fp16Stats, toFloat16 } from './passes/fp16.js';
import { contribAttention, contribMha } from './passes/contrib-attention.js';
import { contribGelu } from './passes/contrib-gelu.js';
import { sliceBeforeNorm } from './passes/slice-before-norm.js';
import { depthwiseUpsample } from './passes/depthwise-upsample.js';
import { flattenTokens } from './passes/flatten-tokens.js';
import { splitTranspose } from './passes/split-transpose.js';
import { channelsLastTokens } from './passes/channels-last-tokens.js';
import { reshapeChain, SIMPLIFY_RULES } from './passes/simplify.js';
import { rulePass } from './passes/driver.js';
import { type Finding, getTarget, lintFor, type TargetName, TargetError } from './targets/index.js';
import { addPostprocess, addPreprocess, type Postprocess, type Preprocess } from './io-wrap/index.js';

export const DEFAULT_OPSET = 17;

/** Standard-op rewrites measured with the attention fusion (its cancel-layout cleans up after them). */
const ORT_LAYOUT = rulePass('ort-layout', [sliceBeforeNorm, depthwiseUpsample]);
/** Token-wise ops on [A·N, C] (passes/flatten-tokens.ts), then the Reshape pairs between them merged. */
const FLATTEN_TOKENS = rulePass('flatten-tokens', [flattenTokens, ...SIMPLIFY_RULES]);
/** Last: cancel-layout would merge its two steps back into one Transpose. */
const SPLIT_TRANSPOSE = rulePass('split-transpose', [splitTranspose]);
/** NCHW ↔ token conversions as 4-D channels-last Transposes (onnxruntime's NCHWc reorders absorb them). */
const CHANNELS_LAST_TOKENS = rulePass('channels-last-tokens', [channelsLastTokens, reshapeChain]);

export interface PrepareOptions {
  batch?: Batch;
  size?: readonly [number, number];
  /** Checkpoint tensors by key; absent → deterministic initialization. */
  checkpoint?: ReadonlyMap<string, Tensor>;
  checkpointName?: string;
  /**
   * Classifier outputs; 0 = the pooled pre-logits (output `embeddings`). Default: the checkpoint's
   * head (rows of its classifier weight; none → 0), else the pretrained tag's `num_classes`.
   * An explicit N > 0 that disagrees with the checkpoint's head is an error.
   */
  numClasses?: number;
  /** Feature maps (timm `features_only`) instead of the classifier: indices or 'all' (builders/registry.ts). */
  features?: readonly number[] | 'all';
}

/**
 * Builds the graph of `model` (an architecture or a pretrained tag, builders/pretrained.ts) with its
 * weights in place: the train-time graph, or the fused (reparameterized) one when the checkpoint's
 * keys are in that form (weights/forms.ts). The tag (or the architecture's default tag) sets the
 * default input size and head size and the preprocessing metadata.
 */
export function prepareModel(model: string, o: PrepareOptions = {}): Graph {
  const resolved = resolveModelName(model);
  const spec = getModel(resolved.arch);
  const size = o.size ?? (resolved.cfg ? [resolved.cfg.input_size[1], resolved.cfg.input_size[2]] as const : spec.defaultSize);
  const form = o.checkpoint ? detectCheckpointForm(spec, o.checkpoint.keys(), o.checkpointName) : 'train';
  const numClasses = o.features ? 0 : resolveNumClasses(spec, { ...o, fallback: resolved.cfg?.num_classes ?? spec.numClasses });
  const g = buildModel(spec.name, { batch: o.batch, size, fused: form === 'fused', numClasses, features: o.features });
  for (const [k, v] of preprocessingMetadata(resolved)) g.metadata.set(k, v);
  if (o.checkpoint) {
    // keys of the architecture this graph leaves out (a head with numClasses 0, what follows the last feature map)
    const built = new Set(parameters(g).map((v) => v.name));
    const unused = new Set([...formKeys(spec, form)].filter((k) => !built.has(k)));
    applyCheckpoint(g, o.checkpoint, form === 'fused' ? `${o.checkpointName ?? 'checkpoint'} (fused form)` : o.checkpointName, unused, spec.relPosWindow?.(size));
  } else initDeterministic(g);
  if (form === 'fused') g.metadata.set('vitx.checkpoint_form', 'fused');
  g.metadata.set('vitx.weights', o.checkpoint ? (o.checkpointName ?? 'checkpoint') : 'deterministic-init (vitx-fnv1a-golden-v1)');
  return g;
}

/** Lowers to `opset` and serializes (mutates `g`). */
export function toOnnx(g: Graph, o: { opset?: number } = {}): Uint8Array {
  const opset = o.opset ?? DEFAULT_OPSET;
  legalize(g, opset);
  return serialize(g, { opset });
}

export interface ExportOptions extends PrepareOptions {
  /** Opset to write; default the target's (17). */
  opset?: number;
  /** Run the default pass pipeline (default true). */
  optimize?: boolean;
  /** With optimize: merge BatchNorms and reparameterize branches (default true). */
  reparam?: boolean;
  /** Verify the graph after every pass (tests). */
  verifyEach?: boolean;
  /** Weights and compute: float32 (default) or float16 (passes/fp16.ts). */
  dtype?: 'fp32' | 'fp16';
  /** Graph input/output element type with dtype fp16 (default fp32: Casts at the boundary). */
  io?: 'fp32' | 'fp16';
  /** Deployment target profile: opset default, rewrites and lint (default 'ort'). */
  target?: TargetName;
  /**
   * Initializers in a side file: true = always, false = never, 'auto' (default) = when they would
   * not fit a 2 GB protobuf (`externalAbove` bytes).
   */
  externalData?: boolean | 'auto';
  /** Data file name written into the model (default `<model>.onnx.data`). */
  dataLocation?: string;
  /** 'auto' switches to external data above this many initializer bytes (default 2 GB − 64 MiB). */
  externalAbove?: number;
  /** With optimize: this pass list instead of the default pipeline (tests, `vitx verify`'s library use). */
  passes?: readonly Pass[];
  /**
   * With an explicit target 'ort' and float32: attention as com.microsoft.Attention
   * (passes/contrib-attention.ts) and the layout rewrites measured with it (slice-before-norm,
   * depthwise-upsample, flatten-tokens, split-transpose); default true. The int8 export turns it
   * off, so that the q/k/v projections stay MatMuls for QDQ (the GELU fusion stays on).
   * 'mha': the projections stay one packed standard-op Linear and only the score path (heads,
   * scores, bias, softmax, context) becomes com.microsoft.MultiHeadAttention (the int8 source file,
   * quant/index.ts INT8_SOURCE).
   */
  contribAttention?: boolean | 'mha';
  /**
   * With an explicit target 'ort' and float32: the standard-op layout rewrites (slice-before-norm,
   * depthwise-upsample, flatten-tokens, split-transpose, channels-last-tokens); default: as
   * `contribAttention`.
   */
  ortLayout?: boolean;
  /** uint8 image input normalized inside the graph (io-wrap/index.ts). */
  preprocess?: Preprocess;
  /** Softmax or top-K probabilities in place of the logits. */
  postprocess?: Postprocess;
  /**
   * Progress between the steps (a progress bar): `stage` is what just finished or is running,
   * `fraction` the share of the export done (0…1; build ≈ 0.15, passes up to 0.8).
   */
  onStep?: (stage: string, fraction: number) => void;
}

export interface ExportResult {
  /** The .onnx file's bytes (without the external data). */
  bytes: Uint8Array;
  /** The side file when initializers are stored externally. */
  external: ExternalSerialized | null;
  graph: Graph;
  opset: number;
  dtype: 'fp32' | 'fp16';
  target: TargetName;
  /** The target's lint findings about the written graph (errors first). */
  findings: Finding[];
  fp16: Fp16Stats | null;
  /** Parameter count of the train-time graph (timm's count: running statistics excluded). */
  params: number;
  /** Parameter count of the exported graph (all float initializers). */
  exportedParams: number;
  nodesBefore: Map<string, number>;
  nodesAfter: Map<string, number>;
  passes: OptimizeReport['passes'];
  ms: { build: number; optimize: number; serialize: number };
}

/** Trainable parameters as timm counts them (BatchNorm running statistics are buffers). */
export function trainableParams(g: Graph): number {
  return g.paramCount((v) => v.initRule !== null && v.initRule !== 'norm_running_mean' && v.initRule !== 'norm_running_var');
}

/** Headroom left for nodes, shapes and small tensors below the protobuf limit. */
const AUTO_EXTERNAL_ABOVE = PROTOBUF_LIMIT - 64 * 2 ** 20;

/**
 * build → weights → optimize → target rewrites → fp16 → legalize → lint → serialize. Nothing is
 * written to disk here; the CLI writes `bytes` (and `external`) atomically.
 */
export function exportModel(model: string, o: ExportOptions = {}): ExportResult {
  const t0 = performance.now();
  const target = getTarget(o.target ?? 'ort');
  const opset = o.opset ?? target.opset;
  if (o.io === 'fp16' && o.dtype !== 'fp16') throw new TargetError('--io fp16 needs --dtype fp16');
  o.onStep?.('build', 0);
  const g = prepareModel(model, o);
  const params = trainableParams(g);
  const nodesBefore = g.opHistogram();
  const t1 = performance.now();
  o.onStep?.('optimize', 0.15);
  const onPass = o.onStep && ((name: string, done: number, n: number) => o.onStep!(name, 0.15 + (0.65 * done) / n));
  let passes: OptimizeReport['passes'] = [];
  if (o.optimize ?? true) passes = optimize(g, { reparam: o.reparam, verifyEach: o.verifyEach, passes: o.passes, onPass }).passes;
  g.metadata.set('vitx.optimized', (o.optimize ?? true) ? (o.reparam === false ? 'cleanup-only' : 'default') : 'none');
  if (target.passes.length) passes = [...passes, ...optimize(g, { passes: target.passes, verifyEach: o.verifyEach }).passes];
  // onnxruntime contrib fusions: only with an explicit --target ort, float32 (passes/contrib-*.ts); GELU below opset 20.
  // slice-before-norm, depthwise-upsample, flatten-tokens and split-transpose are standard-op and
  // exact, measured (and so far enabled) for this profile only
  if (o.target === 'ort' && (o.dtype ?? 'fp32') === 'fp32') {
    const attention = o.contribAttention ?? true;
    const layout = o.ortLayout ?? attention !== false;
    const contrib: Pass[] = [
      ...(layout ? [ORT_LAYOUT] : []), ...(opset < 20 ? [contribGelu] : []),
      ...(attention === 'mha' ? [contribMha] : attention ? [contribAttention] : []),
      ...(layout ? [FLATTEN_TOKENS, SPLIT_TRANSPOSE, CHANNELS_LAST_TOKENS] : []),
    ];
    passes = [...passes, ...optimize(g, { passes: contrib, verifyEach: o.verifyEach }).passes];
  }
  if (o.preprocess) addPreprocess(g, o.preprocess, o.optimize ?? true);
  if (o.postprocess) addPostprocess(g, o.postprocess);
  let fp16: Fp16Stats | null = null;
  if (o.dtype === 'fp16') fp16 = toFloat16(g, { io: o.io, opset });
  if (o.target) g.metadata.set('vitx.target', target.name);
  const t2 = performance.now();
  o.onStep?.('serialize', 0.8);
  legalize(g, opset);
  removeDeadCode(g); // whatever the passes above left unread (the writer would drop it too): the stats see the written graph
  const findings = lintFor(g, target, opset);
  const ext = o.externalData ?? 'auto';
  const external = ext === true || (ext === 'auto' && initializerBytes(g) > (o.externalAbove ?? AUTO_EXTERNAL_ABOVE))
    ? serializeExternal(g, { opset, location: o.dataLocation ?? `${model}.onnx.data` })
    : null;
  const bytes = external ? external.model : serialize(g, { opset });
  const t3 = performance.now();
  o.onStep?.('done', 1);
  return {
    bytes, external, graph: g, opset, dtype: o.dtype ?? 'fp32', target: target.name, findings, fp16,
    params, exportedParams: g.paramCount(), nodesBefore, nodesAfter: g.opHistogram(), passes,
    ms: { build: t1 - t0, optimize: t2 - t1, serialize: t3 - t2 },
  };
}
