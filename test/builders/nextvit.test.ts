/**
 * Next-ViT builders (train-time form): checkpoint keys and parameter counts for S/B/L, reference
 * logits on onnxruntime CPU for S and B (weights loaded from a .safetensors file), the E-MHSA
 * dataflow the BN-merge passes rely on, dynamic batch at a non-default size, and size errors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel, getModel, SizeError } from '../../src/builders/index.js';
import type { Graph, Node } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { prepareModel, toOnnx, trainableParams } from '../../src/pipeline.js';
import { createSession, runOnnx, runSession } from '../../src/runtime/ort.js';
import { parameters } from '../../src/weights/load.js';
import { recipeInput } from '../../src/weights/recipe.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { checkLogits, loadReference, referenceCheckpoint, referenceInput, referenceSafetensors } from '../helpers/reference.js';

const VARIANTS = ['nextvit_small', 'nextvit_base', 'nextvit_large'];
// Reference logits for S and B (L's graph differs from B only in stage-2 depth).
const LOGITS = ['nextvit_small', 'nextvit_base'];

const tmp = mkdtempSync(join(tmpdir(), 'vitx-nextvit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ruleOf = (r: string) => r.replace('bn_calibrated_mean', 'norm_running_mean').replace('bn_calibrated_var', 'norm_running_var');

describe('Next-ViT train-time keys and parameter counts', () => {
  for (const model of VARIANTS) {
    it(`${model}: initializers equal timm's state_dict (names, shapes, rules); params = timm's`, () => {
      const g = buildModel(model);
      const { keys, expected } = loadReference(model);
      const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      const ours = parameters(g).map((v) => ({ name: v.name, shape: v.staticShape(), rule: v.initRule as string })).sort(byName);
      const theirs = keys.float_tensors.map((e) => ({ name: e.name, shape: e.shape, rule: ruleOf(e.rule) })).sort(byName);
      expect(ours.length).toBe(theirs.length);
      expect(ours).toEqual(theirs);
      expect(trainableParams(g)).toBe(expected.params);
      expect(getModel(model).paperMacs).toBe({ nextvit_small: 5.8e9, nextvit_base: 8.3e9, nextvit_large: 10.8e9 }[model]);
    });
  }
});

describe('Next-ViT reference logits (onnxruntime CPU, train-time graph, opset 17)', () => {
  for (const model of LOGITS) {
    it(`${model} loaded from .safetensors matches the PyTorch logits`, async () => {
      const path = join(tmp, `${model}.safetensors`);
      writeFileSync(path, referenceSafetensors(model));
      const checkpoint = readSafetensors(readFileSync(path), path).tensors;
      const g = prepareModel(model, { checkpoint, checkpointName: path });
      const x = referenceInput(model);
      const out = await runOnnx(toOnnx(g, { opset: 17 }), { input: { dtype: 'float32', dims: x.dims, data: x.data } });
      const check = checkLogits(model, out['logits']!.data as Float32Array);
      console.log(`${model}: max |Δlogit| = ${check.maxAbsDiff.toExponential(3)} (tolerance ${check.tolerance.toExponential(3)})`);
      expect(check.maxAbsDiff).toBeLessThanOrEqual(check.tolerance);
      expect(check.pass).toBe(true);
    });
  }
});

/** The single consumer of a node's first output with the given op. */
function next(g: Graph, n: Node, op: string): Node {
  const users = [...n.outputs[0]!.uses].map((u) => u.node).filter((m) => m.op === op);
  expect(users.length, `${n.name} → ${op}`).toBe(1);
  return users[0]!;
}

describe('Next-ViT dataflow the BN-merge passes rely on', () => {
  it('E-MHSA (sr=4): BN1 → Reshape → AveragePool(1-D, floor) → BN1d → Transpose → MatMul k/v; q reads the transposed tokens', () => {
    const g = buildModel('nextvit_small', { batch: 'dynamic', size: [256, 256] });
    verifyGraph(g);
    const nodes = [...g.nodes];
    const bn1 = nodes.find((n) => n.op === 'BatchNormalization' && n.input(1).name === 'stages.1.blocks.3.norm1.weight')!;
    const reshape = next(g, bn1, 'Reshape');
    expect(reshape.outputs[0]!.shape).toEqual(['N', 192, 32 * 32]);
    const pool = next(g, reshape, 'AveragePool');
    expect(pool.attrInts('kernel_shape')).toEqual([16]);
    expect(pool.attrInts('strides')).toEqual([16]);
    expect(pool.attrInts('pads')).toEqual([0, 0]);
    expect(pool.attrInt('ceil_mode', -1)).toBe(0);
    expect(pool.attrInt('count_include_pad', -1)).toBe(0);
    expect(pool.outputs[0]!.shape).toEqual(['N', 192, 64]);
    const bn = next(g, pool, 'BatchNormalization');
    expect(bn.input(1).name).toBe('stages.1.blocks.3.e_mhsa.norm.weight');
    const kv = [...next(g, bn, 'Transpose').outputs[0]!.uses].map((u) => u.node);
    expect(kv.map((n) => n.op)).toEqual(['MatMul', 'MatMul']);
    const q = [...next(g, reshape, 'Transpose').outputs[0]!.uses].map((u) => u.node);
    expect(q.map((n) => n.op)).toEqual(['MatMul']);
    // sr = 1 (stage 3): q, k and v all read the transposed BN1 tokens.
    const bn3 = nodes.find((n) => n.op === 'BatchNormalization' && n.input(1).name === 'stages.3.blocks.2.norm1.weight')!;
    const tokens = next(g, next(g, bn3, 'Reshape'), 'Transpose');
    expect([...tokens.outputs[0]!.uses].map((u) => u.node.op)).toEqual(['MatMul', 'MatMul', 'MatMul']);
    expect(nodes.filter((n) => n.op === 'BatchNormalization' && n.input(0).shape.length === 3)).toHaveLength(3);
  });
});

describe('Next-ViT dynamic batch and input sizes', () => {
  it('nextvit_small, batch dynamic at 256×256: each item of a batch of 2 equals its batch-1 result', async () => {
    const g = prepareModel('nextvit_small', { batch: 'dynamic', size: [256, 256], checkpoint: referenceCheckpoint('nextvit_small') });
    expect(g.inputs[0]!.shape).toEqual(['N', 3, 256, 256]);
    expect(g.outputs[0]!.shape).toEqual(['N', 1000]);
    const per = 3 * 256 * 256;
    const a = recipeInput([1, 3, 256, 256]);
    const b = new Float32Array(per).map((_, i) => a[per - 1 - i]! * 0.5 + Math.sin(i * 0.001));
    const both = new Float32Array(2 * per);
    both.set(a, 0);
    both.set(b, per);
    const s = await createSession(toOnnx(g));
    try {
      const run = async (data: Float32Array, n: number) =>
        (await runSession(s, { input: { dtype: 'float32', dims: [n, 3, 256, 256], data } }))['logits']!;
      const out2 = await run(both, 2);
      expect(out2.dims).toEqual([2, 1000]);
      const l2 = out2.data as Float32Array;
      const singles = [(await run(a, 1)).data as Float32Array, (await run(b, 1)).data as Float32Array];
      let itemsDiffer = 0;
      singles.forEach((l1, item) => {
        const scale = Math.max(...Array.from(l1, Math.abs));
        let maxDiff = 0;
        for (let i = 0; i < 1000; i++) maxDiff = Math.max(maxDiff, Math.abs(l2[item * 1000 + i]! - l1[i]!));
        expect(maxDiff).toBeLessThanOrEqual(1e-5 * scale);
      });
      for (let i = 0; i < 1000; i++) itemsDiffer = Math.max(itemsDiffer, Math.abs(singles[0]![i]! - singles[1]![i]!));
      expect(itemsDiffer).toBeGreaterThan(1e-3); // the two images give different logits
    } finally {
      await s.release();
    }
  });

  it('builds non-square sizes that are multiples of 32', () => {
    const g = buildModel('nextvit_base', { size: [192, 320] });
    verifyGraph(g);
    expect(g.outputs[0]!.shape).toEqual([1, 1000]);
  });

  it('rejects a size that is not a multiple of 32 with a SizeError', () => {
    expect(() => buildModel('nextvit_small', { size: [230, 230] })).toThrow(SizeError);
    expect(() => buildModel('nextvit_small', { size: [230, 230] })).toThrow('nextvit_small needs an input size that is a positive multiple of 32, not 230x230');
  });
});
