/**
 * The library's front door: build → weights → optimize → legalize → serialize. The CLI is a thin
 * layer over these functions.
 */
import { type Batch, buildModel } from './builders/index.js';
import type { Graph } from './graph/ir.js';
import type { Tensor } from './graph/tensor.js';
import { legalize } from './onnx/legalize.js';
import { serialize } from './onnx/serialize.js';
import { applyCheckpoint, initDeterministic } from './weights/load.js';

export const DEFAULT_OPSET = 17;

export interface PrepareOptions {
  batch?: Batch;
  size?: readonly [number, number];
  /** Checkpoint tensors by key; absent → deterministic initialization. */
  checkpoint?: ReadonlyMap<string, Tensor>;
  checkpointName?: string;
}

/** Builds the train-time graph of `model` with its weights in place. */
export function prepareModel(model: string, o: PrepareOptions = {}): Graph {
  const g = buildModel(model, { batch: o.batch, size: o.size });
  if (o.checkpoint) applyCheckpoint(g, o.checkpoint, o.checkpointName);
  else initDeterministic(g);
  g.metadata.set('vitx.weights', o.checkpoint ? (o.checkpointName ?? 'checkpoint') : 'deterministic-init (vitx-fnv1a-golden-v1)');
  return g;
}

/** Lowers to `opset` and serializes (mutates `g`). */
export function toOnnx(g: Graph, o: { opset?: number } = {}): Uint8Array {
  const opset = o.opset ?? DEFAULT_OPSET;
  legalize(g, opset);
  return serialize(g, { opset });
}
