/**
 * MaxViT builders (`_tf_` variants): checkpoint keys, parameter counts, reference logits on
 * onnxruntime CPU, static graphs (no Shape / Einsum, constant Reshape targets, the rel-pos Gather
 * folded away by the optimizer), and a smoke run of the variants small enough for CI.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, getModel, listModels } from '../../src/builders/index.js';
import type { Graph } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { exportModel, prepareModel, toOnnx, trainableParams } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { parameters } from '../../src/weights/load.js';
import { expectPass, expectStatic, expectTrainKeys, runReference } from '../helpers/models.js';
import { checkLogits, loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';

const REFERENCE = ['maxvit_tiny_tf_224', 'maxvit_small_tf_224'];
/** timm's counts for the variants without reference folders. */
const TIMM_PARAMS: Record<string, number> = { maxvit_base_tf_224: 119_467_708, maxvit_large_tf_224: 211_785_560 };


describe('MaxViT keys and parameter counts', () => {
  for (const model of REFERENCE) {
    it(`${model}: initializers equal timm's state_dict (names, shapes, order, rules); params = timm's`, () => {
      expectTrainKeys(model);
    });
  }
  for (const [model, count] of Object.entries(TIMM_PARAMS)) {
    it(`${model} builds, verifies and has timm's ${count.toLocaleString('en')} parameters`, () => {
      const g = buildModel(model);
      verifyGraph(g);
      expect(trainableParams(g)).toBe(count);
      expectStatic(g);
    });
  }
});

describe('MaxViT reference logits (onnxruntime CPU, opset 17, train-time graph)', () => {
  for (const model of REFERENCE) {
    it(`${model} matches the PyTorch logits; the serialized graph is static`, async () => {
      const g = prepareModel(model, { checkpoint: referenceCheckpoint(model) });
      const bytes = toOnnx(g);
      expectStatic(model === 'maxvit_tiny_tf_224' ? parseOnnx(bytes).graph : g); // parsing 69 M params back costs seconds
      expectPass(await runReference(model, bytes));
    });
  }
});

describe('MaxViT graph structure', () => {
  it('TF "same" padding: stride-2 convs pad [0, 0, 1, 1] at 224, stride-1 convs pad 1', () => {
    const g = buildModel('maxvit_tiny_tf_224');
    const pads = (name: string) => [...g.nodes].find((n) => n.op === 'Conv' && n.inputs[1]!.name === name)!.attrInts('pads');
    expect(pads('stem.conv1.weight')).toEqual([0, 0, 1, 1]);
    expect(pads('stem.conv2.weight')).toEqual([1, 1, 1, 1]);
    expect(pads('stages.1.blocks.0.conv.conv2_kxk.weight')).toEqual([0, 0, 1, 1]);
    expect(pads('stages.1.blocks.1.conv.conv2_kxk.weight')).toEqual([1, 1, 1, 1]);
  });

  it('relative position bias: one Gather per attention before optimizing, none after', () => {
    const g = buildModel('maxvit_tiny_tf_224');
    expect(g.opHistogram().get('Gather')).toBe(2 * (2 + 2 + 5 + 2));
    const r = exportModel('maxvit_tiny_tf_224', { batch: 'dynamic' });
    verifyGraph(r.graph);
    expect(r.nodesAfter.get('Gather')).toBeUndefined();
    expect(r.nodesAfter.get('BatchNormalization')).toBeUndefined();
    expectStatic(parseOnnx(r.bytes).graph);
    expect(r.graph.outputs[0]!.shape).toEqual(['N', 1000]);
  });

  it('accepts 224×224 only (window = grid = 7 ties the tables to it)', () => {
    expect(() => buildModel('maxvit_tiny_tf_224', { size: [256, 256] })).toThrow(/224x224 only/);
  });
});

describe('MaxViT smoke: every variant is registered; tiny runs with deterministic init', () => {
  const variants = listModels().filter((s) => s.family === 'maxvit').map((s) => s.name);
  it('registers the four _tf_ variants with the paper MACs at 224 and ImageNet preprocessing', () => {
    expect(variants).toEqual([...REFERENCE, ...Object.keys(TIMM_PARAMS)]);
    expect(variants.map((v) => getModel(v).paperMacs! / 1e9)).toEqual([5.6, 11.7, 24.2, 43.9]);
    for (const v of variants) {
      expect(getModel(v).fixedSizes).toEqual([[224, 224]]);
      expect(getModel(v).mean).toEqual([0.485, 0.456, 0.406]);
    }
  });
  // maxvit_small already runs above with the reference weights; base/large are build-only (119 M / 212 M params)
  for (const model of ['maxvit_tiny_tf_224']) {
    it(`${model}, batch 1, deterministic init → finite [1, 1000] logits`, async () => {
      const g = prepareModel(model);
      verifyGraph(g);
      const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.01));
      const out = await runOnnx(toOnnx(g), { input: { dtype: 'float32', dims: [1, 3, 224, 224], data: x } });
      expect(out['logits']!.dims).toEqual([1, 1000]);
      expect((out['logits']!.data as Float32Array).every(Number.isFinite)).toBe(true);
    });
  }
});
