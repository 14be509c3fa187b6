/**
 * Checkpoint forms. A reparameterizable family (FastViT, MobileOne) has two sets of keys: the
 * train-time form (every branch: `conv_kxk.0.conv.weight`, `identity.running_var`, …) and the
 * fused form that timm's `reparameterize_model()` leaves (`reparam_conv.weight/bias`). Which one a
 * checkpoint holds is read off its keys; a mix of both is an error naming the expected form.
 */
import { buildModel, type ModelSpec, smallestSize } from '../builders/registry.js';
import { parameters } from './load.js';
import { CheckpointError } from './load.js';

export type CheckpointForm = 'train' | 'fused';

const NAMES = new Map<string, Set<string>>();

/** Parameter names of a variant's graph in one form (cached; names do not depend on input size). */
export function formKeys(spec: ModelSpec, form: CheckpointForm): Set<string> {
  const id = `${spec.name}:${form}`;
  let names = NAMES.get(id);
  if (!names) {
    const g = buildModel(spec.name, { fused: form === 'fused', size: smallestSize(spec) });
    names = new Set(parameters(g).map((v) => v.name));
    NAMES.set(id, names);
  }
  return names;
}

const isCounter = (k: string) => k.endsWith('num_batches_tracked');

function examples(keys: string[], n = 2): string {
  return keys.slice(0, n).join(', ') + (keys.length > n ? ', …' : '');
}

/**
 * 'train' or 'fused' for a checkpoint's keys; throws CheckpointError when the keys mix both forms.
 * Keys belonging to neither form are left for the ordinary checkpoint validation to report.
 */
export function detectCheckpointForm(spec: ModelSpec, keys: Iterable<string>, what = 'checkpoint'): CheckpointForm {
  if (!spec.buildFused) return 'train';
  const train = formKeys(spec, 'train'), fused = formKeys(spec, 'fused');
  const ks = [...keys].filter((k) => !isCounter(k));
  const onlyTrain = ks.filter((k) => train.has(k) && !fused.has(k));
  const onlyFused = ks.filter((k) => fused.has(k) && !train.has(k));
  if (onlyFused.length === 0) return 'train';
  if (onlyTrain.length === 0) return 'fused';
  const expected = onlyFused.length > onlyTrain.length ? 'fused (reparameterized)' : 'train-time';
  throw new CheckpointError(
    `${what} mixes the two forms of ${spec.name}: ${onlyTrain.length} keys of the train-time form (${examples(onlyTrain)}) ` +
    `and ${onlyFused.length} of the fused form (${examples(onlyFused)}); expected the ${expected} form throughout`,
  );
}
