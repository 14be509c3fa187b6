/**
 * The library's front door: build → weights → optimize → legalize → serialize. The CLI is a thin
 * layer over these functions.
 */
import { type Batch, buildModel, getModel } from './builders/index.js';
import type { Graph } from './graph/ir.js';
import type { Tensor } from './graph/tensor.js';
import { legalize } from './onnx/legalize.js';
import { optimize, type OptimizeReport } from './passes/index.js';
import { serialize } from './onnx/serialize.js';
import { detectCheckpointForm } from './weights/forms.js';
import { applyCheckpoint, initDeterministic } from './weights/load.js';

export const DEFAULT_OPSET = 17;

export interface PrepareOptions {
  batch?: Batch;
  size?: readonly [number, number];
  /** Checkpoint tensors by key; absent → deterministic initialization. */
  checkpoint?: ReadonlyMap<string, Tensor>;
  checkpointName?: string;
}

/**
 * Builds the graph of `model` with its weights in place: the train-time graph, or the fused
 * (reparameterized) one when the checkpoint's keys are in that form (weights/forms.ts).
 */
export function prepareModel(model: string, o: PrepareOptions = {}): Graph {
  const form = o.checkpoint ? detectCheckpointForm(getModel(model), o.checkpoint.keys(), o.checkpointName) : 'train';
  const g = buildModel(model, { batch: o.batch, size: o.size, fused: form === 'fused' });
  if (o.checkpoint) applyCheckpoint(g, o.checkpoint, form === 'fused' ? `${o.checkpointName ?? 'checkpoint'} (fused form)` : o.checkpointName);
  else initDeterministic(g);
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
  opset?: number;
  /** Run the default pass pipeline (default true). */
  optimize?: boolean;
  /** With optimize: merge BatchNorms and reparameterize branches (default true). */
  reparam?: boolean;
  /** Verify the graph after every pass (tests). */
  verifyEach?: boolean;
}

export interface ExportResult {
  bytes: Uint8Array;
  graph: Graph;
  opset: number;
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

export function exportModel(model: string, o: ExportOptions = {}): ExportResult {
  const t0 = performance.now();
  const g = prepareModel(model, o);
  const params = trainableParams(g);
  const nodesBefore = g.opHistogram();
  const t1 = performance.now();
  let passes: OptimizeReport['passes'] = [];
  if (o.optimize ?? true) passes = optimize(g, { reparam: o.reparam, verifyEach: o.verifyEach }).passes;
  g.metadata.set('vitx.optimized', (o.optimize ?? true) ? (o.reparam === false ? 'cleanup-only' : 'default') : 'none');
  const t2 = performance.now();
  const opset = o.opset ?? DEFAULT_OPSET;
  const bytes = toOnnx(g, { opset });
  const t3 = performance.now();
  return {
    bytes, graph: g, opset, params, exportedParams: g.paramCount(), nodesBefore, nodesAfter: g.opHistogram(), passes,
    ms: { build: t1 - t0, optimize: t2 - t1, serialize: t3 - t2 },
  };
}
