/**
 * The model registry. A family file registers each variant with one `register(...)` call; the CLI
 * (`vitx list`, `vitx export`) and the tests read it from here.
 */
import { Builder, BuildError } from '../graph/builder.js';
import type { Graph, Value } from '../graph/ir.js';
import { removeDeadCode } from '../passes/dce.js';
import { VITX_VERSION } from '../version.js';
import { TIMM_ZOO } from './timm-zoo.js';

export type Batch = number | 'dynamic';

/** ImageNet preprocessing (timm's IMAGENET_DEFAULT_MEAN / _STD), shared by most checkpoints. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export interface BuildOptions {
  /** Static batch size or 'dynamic' (symbolic dimension "N"). Default 1. */
  batch?: Batch;
  /** Input [H, W]; default the variant's default size. */
  size?: readonly [number, number];
  /** Classifier outputs (default the variant's `numClasses`); 0 = pooled pre-logits, output `embeddings`. */
  numClasses?: number;
  /**
   * Backbone feature maps instead of the classifier (timm `features_only=True, out_indices=…`):
   * indices into the model's feature taps, or 'all'. Outputs `features.<i>` (NCHW); the head and
   * everything else no output needs is not in the graph.
   */
  features?: readonly number[] | 'all';
}

export interface ModelSpec {
  name: string;
  family: 'nextvit' | 'mobilevit' | 'maxvit' | 'edgevit' | 'fastvit' | 'mobileone';
  /** Paper and reference implementation, one line each. */
  paper: string;
  source: string;
  defaultSize: readonly [number, number];
  /** Accepted input sizes: multiples of this (per side) unless `fixedSizes` is given. */
  sizeMultiple: number;
  fixedSizes?: readonly (readonly [number, number])[];
  /** Preprocessing the checkpoints expect (written to the ONNX metadata). */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  numClasses: number;
  /** Builds the train-time network: NCHW image in, logits out. */
  build(b: Builder, x: Value, size: readonly [number, number]): Value;
  /** Optional: a different graph for checkpoints already in fused (inference) form. */
  buildFused?(b: Builder, x: Value, size: readonly [number, number]): Value;
  /** Attention window at an input size, for resampling a checkpoint's relative-position tables (weights/resample.ts). */
  relPosWindow?(size: readonly [number, number]): readonly [number, number];
  /** MACs (multiply-accumulates) the paper reports at the default size, for `vitx inspect`. */
  paperMacs?: number;
  /**
   * Trainable parameters of the train-time graph with the default head, from the variant table;
   * absent for timm architectures, whose count is timm's (`TIMM_ZOO[name].paramsDefaultHead`).
   */
  params?: number;
  /** Module of each feature tap, for architectures timm does not know (timm's come from its feature_info). */
  featureModules?: readonly string[];
}

const REGISTRY = new Map<string, ModelSpec>();

export function register(spec: ModelSpec): void {
  if (REGISTRY.has(spec.name)) throw new Error(`model ${spec.name} registered twice`);
  REGISTRY.set(spec.name, spec);
}

/**
 * Parameter count of a variant with its default head, without building it (`vitx list`): the
 * variant table's, else timm's for a timm architecture. Tests check both against the built graphs.
 */
export function specParams(spec: ModelSpec): number {
  const n = spec.params ?? TIMM_ZOO[spec.name]?.paramsDefaultHead;
  if (n === undefined) throw new Error(`${spec.name}: no parameter count in its variant table or timm's zoo`);
  return n;
}

let graphsBuilt = 0;

/** How many graphs `buildModel` has built in this process (lets tests assert that listing builds none). */
export function graphsBuiltCount(): number { return graphsBuilt; }

export function listModels(): ModelSpec[] {
  return [...REGISTRY.values()];
}

export class UnknownModelError extends Error {}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** Closest registered names (for "did you mean"). */
export function suggest(name: string, n = 3): string[] {
  const q = name.toLowerCase();
  return listModels()
    .map((s) => ({ s: s.name, d: s.name.includes(q) && q.length >= 3 ? 0 : editDistance(q, s.name) }))
    .sort((a, b) => a.d - b.d || (a.s < b.s ? -1 : 1))
    .slice(0, n)
    .map((x) => x.s);
}

export function getModel(name: string): ModelSpec {
  const spec = REGISTRY.get(name);
  if (!spec) throw new UnknownModelError(`unknown model '${name}' (did you mean ${suggest(name).join(', ')}? 'vitx list' shows all)`);
  return spec;
}

export class SizeError extends Error {}

/** The smallest input a variant accepts: enough to build it when only its parameter names matter. */
export function smallestSize(spec: ModelSpec): readonly [number, number] {
  return spec.fixedSizes?.[0] ?? [spec.sizeMultiple, spec.sizeMultiple];
}

export function checkSize(spec: ModelSpec, size: readonly [number, number]): void {
  const [h, w] = size;
  if (spec.fixedSizes) {
    if (!spec.fixedSizes.some(([a, b]) => a === h && b === w)) {
      throw new SizeError(`${spec.name} supports input sizes ${spec.fixedSizes.map(([a, b]) => `${a}x${b}`).join(', ')} only, not ${h}x${w}`);
    }
    return;
  }
  if (!(h > 0 && w > 0 && h % spec.sizeMultiple === 0 && w % spec.sizeMultiple === 0)) {
    throw new SizeError(`${spec.name} needs an input size that is a positive multiple of ${spec.sizeMultiple}, not ${h}x${w}`);
  }
}

/**
 * Builds a variant as a complete graph: input `input` [batch, 3, H, W] float32, output `logits`
 * [batch, classes] (or `embeddings` [batch, features] with `numClasses` 0), parameters zero-filled (see weights/load.ts), metadata set.
 */
export function buildModel(name: string, o: BuildOptions & { fused?: boolean } = {}): Graph {
  const spec = getModel(name);
  const size = o.size ?? spec.defaultSize;
  checkSize(spec, size);
  const batch = o.batch ?? 1;
  const numClasses = o.features ? 0 : (o.numClasses ?? spec.numClasses);
  if (!Number.isInteger(numClasses) || numClasses < 0) throw new BuildError(`${spec.name}: the number of classes must be a non-negative integer, not ${numClasses}`);
  const b = Builder.create(spec.name, { numClasses });
  graphsBuilt++;
  const x = b.input('input', { dtype: 'float32', shape: [batch === 'dynamic' ? 'N' : batch, 3, size[0], size[1]] });
  const build = o.fused ? spec.buildFused : spec.build;
  if (!build) throw new BuildError(`${spec.name} has no fused-form builder`);
  const logits = build.call(spec, b, x, size);
  const md = b.g.metadata;
  if (o.features) {
    selectFeatures(spec, b, o.features, size);
  } else {
    b.g.outputs.push(logits);
    b.g.renameValue(logits, numClasses > 0 ? 'logits' : 'embeddings');
    if (numClasses > 0) md.set('vitx.num_classes', String(numClasses));
  }
  md.set('vitx.model', spec.name);
  md.set('vitx.family', spec.family);
  md.set('vitx.input_size', `${size[0]}x${size[1]}`);
  md.set('vitx.batch', String(batch));
  md.set('vitx.mean', spec.mean.join(','));
  md.set('vitx.std', spec.std.join(','));
  md.set('vitx.layout', 'NCHW, RGB, float32');
  md.set('vitx.version', VITX_VERSION);
  return b.g;
}

/** A feature index the model does not have (a usage error). */
export class FeatureIndexError extends Error {}

/** The module each feature tap outputs: timm's feature_info, else the registration's `featureModules` (null: neither). */
export function featureModules(spec: ModelSpec): readonly string[] | null {
  return TIMM_ZOO[spec.name]?.featureInfo.map((f) => f.module) ?? spec.featureModules ?? null;
}

/**
 * Makes the tapped feature maps `indices` the graph's outputs `features.<i>` and removes what no
 * output needs (the head). Records each output's module, channels and reduction (input height /
 * map height) in the metadata, comma-separated in output order.
 */
function selectFeatures(spec: ModelSpec, b: Builder, indices: readonly number[] | 'all', size: readonly [number, number]): void {
  const taps = b.ctx.features;
  if (taps.length === 0) throw new BuildError(`${spec.name} has no feature taps`);
  const picked = indices === 'all' ? taps.map((_, i) => i) : [...indices];
  const bad = picked.filter((i) => !Number.isInteger(i) || i < 0 || i >= taps.length);
  if (bad.length) throw new FeatureIndexError(`--features ${bad.join(',')}: ${spec.name} has feature maps 0…${taps.length - 1}`);
  if (new Set(picked).size !== picked.length) throw new FeatureIndexError(`--features ${picked.join(',')}: an index repeats`);
  const modules = featureModules(spec);
  for (const i of picked) {
    b.g.outputs.push(taps[i]!);
    b.g.renameValue(taps[i]!, `features.${i}`);
  }
  removeDeadCode(b.g);
  const md = b.g.metadata;
  md.set('vitx.features', picked.join(','));
  if (modules) md.set('vitx.feature_modules', picked.map((i) => modules[i] ?? '?').join(','));
  md.set('vitx.feature_channels', picked.map((i) => String(taps[i]!.shape[1])).join(','));
  md.set('vitx.feature_reductions', picked.map((i) => String(size[0] / (taps[i]!.shape[2] as number))).join(','));
}
