/**
 * The classifier head as a checkpoint sees it. A variant's classifier keys are the parameters its
 * graph has with a 1-class head and lacks with none (numClasses 0): timm's `head.fc.weight` /
 * `head.fc.bias`, EdgeViT's `head.*`. The number of classes a checkpoint was trained for is the
 * row count of its classifier weight [classes, features] (absent: a headless checkpoint, 0).
 */
import { buildModel, type ModelSpec, smallestSize } from '../builders/registry.js';
import type { Tensor } from '../graph/tensor.js';
import { parameters } from './load.js';
import { CheckpointError } from './load.js';

export interface ClassifierKeys { weight: string; keys: string[] }

const CACHE = new Map<string, ClassifierKeys>();

export function classifierKeys(spec: ModelSpec): ClassifierKeys {
  let k = CACHE.get(spec.name);
  if (!k) {
    const size = smallestSize(spec);
    const without = new Set(parameters(buildModel(spec.name, { size, numClasses: 0 })).map((v) => v.name));
    const head = parameters(buildModel(spec.name, { size, numClasses: 1 })).filter((v) => !without.has(v.name));
    const weight = head.find((v) => v.shape.length >= 2);
    if (!weight) throw new Error(`${spec.name}: the classifier has no weight matrix`);
    k = { weight: weight.name, keys: head.map((v) => v.name) };
    CACHE.set(spec.name, k);
  }
  return k;
}

/** Classes of a checkpoint's head: rows of its classifier weight; 0 when it has no classifier keys. */
export function checkpointClasses(spec: ModelSpec, ckpt: ReadonlyMap<string, Tensor>, what = 'checkpoint'): { classes: number; weight: Tensor | null; key: string } {
  const { weight, keys } = classifierKeys(spec);
  const found = [weight, ...keys].map((key) => ({ key, t: ckpt.get(key) })).find((e) => e.t);
  if (!found) return { classes: 0, weight: null, key: weight };
  if (found.t!.shape.length === 0) throw new CheckpointError(`${what}: ${found.key} is a scalar; a classifier tensor has the classes on its first axis`);
  return { classes: found.t!.shape[0]!, weight: found.t!, key: found.key };
}

/**
 * The head size to build: an explicit `numClasses` (which must agree with the checkpoint's head
 * unless it is 0), else the checkpoint's, else `fallback` (the pretrained tag's or the variant's).
 */
export function resolveNumClasses(spec: ModelSpec, o: { numClasses?: number; checkpoint?: ReadonlyMap<string, Tensor>; checkpointName?: string; fallback: number }): number {
  if (!o.checkpoint) return o.numClasses ?? o.fallback;
  const c = checkpointClasses(spec, o.checkpoint, o.checkpointName);
  if (o.numClasses === undefined) return c.classes;
  if (o.numClasses > 0 && c.weight && c.classes !== o.numClasses) {
    throw new CheckpointError(
      `${o.checkpointName ?? 'checkpoint'} has a ${c.classes}-class head (${c.key} [${c.weight.shape.join(', ')}]) but ${o.numClasses} classes were asked for (--num-classes ${o.numClasses}); omit --num-classes to use the checkpoint's`,
    );
  }
  return o.numClasses;
}
