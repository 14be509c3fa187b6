/** Shared by the FastViT and MobileOne builder tests: reference runs and fused-form checkpoints. */
import { expect } from 'vitest';
import { expectPass, expectTrainKeys, runReference } from '../helpers/models.js';
export { expectPass, expectTrainKeys, runReference };
import { buildModel } from '../../src/builders/index.js';
import type { Graph } from '../../src/graph/ir.js';
import type { Tensor } from '../../src/graph/tensor.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { optimize } from '../../src/passes/index.js';
import { prepareModel, toOnnx, trainableParams } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { initDeterministic, parameters } from '../../src/weights/load.js';
import { checkLogits, type LogitCheck, loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';




/** Fused-form keys equal timm's reparameterized state_dict (float tensors, in order). */
export function expectFusedKeys(model: string): void {
  const { keys, expected } = loadReference(model);
  const g = buildModel(model, { fused: true, numClasses: expected.num_classes });
  const theirs = keys.state_dict_reparam!.filter((e) => e.dtype !== 'int64').map((e) => ({ name: e.name, shape: e.shape }));
  expect(parameters(g).map((v) => ({ name: v.name, shape: v.staticShape() }))).toEqual(theirs);
  expect(trainableParams(g)).toBe(expected.params_after_reparam);
}

/** The train-time reference graph after the default pipeline (verified). */
export function optimizedReference(model: string): Graph {
  const g = prepareModel(model, { checkpoint: referenceCheckpoint(model), numClasses: loadReference(model).expected.num_classes });
  optimize(g);
  verifyGraph(g);
  return g;
}

/**
 * A checkpoint in timm's fused form made by vitx's own passes: each `…reparam_conv.*` tensor is
 * read from the optimized train-time graph by name (a block with a single conv branch has nothing
 * to merge: its fused conv is the BN-folded `…conv_kxk.0.conv.*`); every other tensor (ConvMlp,
 * attention, SE, head) comes unchanged from the train-time checkpoint.
 */
export function fusedCheckpoint(model: string): Map<string, Tensor> {
  const train = referenceCheckpoint(model);
  const opt = optimizedReference(model);
  const out = new Map<string, Tensor>();
  for (const p of parameters(buildModel(model, { fused: true, numClasses: loadReference(model).expected.num_classes }))) {
    if (!p.name.includes('reparam_conv')) { out.set(p.name, train.get(p.name)!); continue; }
    const v = opt.initializers.get(p.name) ?? opt.initializers.get(p.name.replace('reparam_conv', 'conv_kxk.0.conv'));
    expect(v, `${p.name} in the optimized graph`).toBeDefined();
    out.set(p.name, v!.constant!);
  }
  return out;
}

/**
 * Smoke tier for one variant at 128×128 with deterministic init: the train-time graph verifies,
 * serializes and runs (finite [1, 1000] logits); the default pipeline keeps its logits (within
 * 1e-4 of their magnitude, same argmax); the fused-form graph builds, verifies and runs too.
 */
export async function smoke(model: string): Promise<void> {
  const x = new Float32Array(3 * 128 * 128).map((_, i) => Math.sin(i * 0.01));
  const run = async (g: Graph): Promise<Float32Array> => {
    verifyGraph(g);
    const out = await runOnnx(toOnnx(g), { input: { dtype: 'float32', dims: [1, 3, 128, 128], data: x } });
    expect(out['logits']!.dims).toEqual([1, 1000]);
    const logits = out['logits']!.data as Float32Array;
    expect(logits.every(Number.isFinite)).toBe(true);
    return logits;
  };
  const before = await run(prepareModel(model, { size: [128, 128] }));
  const g = prepareModel(model, { size: [128, 128] });
  optimize(g);
  expect(g.opHistogram().has('BatchNormalization')).toBe(false);
  const after = await run(g);
  const scale = Math.max(...before.map(Math.abs));
  const diff = Math.max(...before.map((v, i) => Math.abs(v - after[i]!)));
  expect(diff).toBeLessThanOrEqual(1e-4 * scale);
  expect(after.indexOf(Math.max(...after))).toBe(before.indexOf(Math.max(...before)));
  const fused = buildModel(model, { size: [128, 128], fused: true });
  initDeterministic(fused);
  await run(fused);
}
