/** Model-level assertions shared by the family tests. */
import { expect } from 'vitest';
import { buildModel } from '../../src/builders/index.js';
import type { Graph } from '../../src/graph/ir.js';
import { toOnnx, trainableParams } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { parameters } from '../../src/weights/load.js';
import { checkLogits, type LogitCheck, loadReference, referenceInput } from './reference.js';

/** Initializers equal the reference state_dict (names, shapes, order, init rules); params = the reference count. */
export function expectTrainKeys(model: string): void {
  const { keys, expected } = loadReference(model);
  const g = buildModel(model, { numClasses: expected.num_classes });
  const ours = parameters(g).map((v) => ({ name: v.name, shape: v.staticShape(), rule: v.initRule }));
  const theirs = keys.float_tensors.map((e) => ({
    name: e.name, shape: e.shape,
    rule: e.rule.replace('bn_calibrated_mean', 'norm_running_mean').replace('bn_calibrated_var', 'norm_running_var'),
  }));
  expect(ours).toEqual(theirs);
  expect(trainableParams(g)).toBe(expected.params);
}

/** Runs a graph (or serialized model) on onnxruntime CPU at the reference input and checks the logits. */
export async function runReference(model: string, g: Graph | Uint8Array): Promise<LogitCheck> {
  const x = referenceInput(model);
  const out = await runOnnx(g instanceof Uint8Array ? g : toOnnx(g), { input: { dtype: 'float32', dims: x.dims, data: x.data } });
  const logits = out['logits']!;
  expect(logits.dims).toEqual([1, 1000]);
  return checkLogits(model, logits.data as Float32Array);
}

/** Expects logits within the reference tolerance (and the same argmax). */
export function expectPass(check: LogitCheck): void {
  expect(check.maxAbsDiff).toBeLessThanOrEqual(check.tolerance);
  expect(check.pass).toBe(true);
}

/** No op computes shapes at run time; every Reshape target is an initializer. */
export function expectStatic(g: Graph): void {
  const ops = g.opHistogram();
  for (const op of ['Shape', 'Einsum', 'ConstantOfShape', 'Range']) expect(ops.get(op), op).toBeUndefined();
  for (const n of g.nodes) if (n.op === 'Reshape') expect(n.inputs[1]!.isConstant, n.name).toBe(true);
}
