/**
 * MaxViT builders (`_tf_`, `_rw_`, `_rmlp_`, `_pm_`): checkpoint keys, parameter counts, reference
 * logits on onnxruntime CPU (train-time graph here; the optimized export in
 * test/models/reference.test.ts), static graphs (no Shape / Einsum, constant Reshape targets, the
 * rel-pos Gather and MLP folded away by the optimizer), feature taps, other input sizes with a
 * checkpoint's tables resampled as timm does, and Core ML's rank limit.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, getModel, listModels } from '../../src/builders/index.js';
import type { Graph } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { Tensor } from '../../src/graph/tensor.js';
import { parameters } from '../../src/weights/load.js';
import { exportModel, prepareModel, toOnnx, trainableParams } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { Builder } from '../../src/graph/builder.js';
import { allValues } from '../../src/targets/lint.js';
import { countErrors } from '../../src/targets/index.js';
import { TIMM_ZOO } from '../../src/builders/timm-zoo.js';
import { recipeInput } from '../../src/weights/recipe.js';
import { expectPass, expectStatic, expectTrainKeys, runReference } from '../helpers/models.js';
import { checkLogits, FIXTURES, referenceCheckpoint, referenceInput } from '../helpers/reference.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const REFERENCE = ['maxvit_tiny_tf_224', 'maxvit_small_tf_224', 'maxvit_tiny_tf_384', 'maxvit_nano_rw_256', 'maxvit_rmlp_pico_rw_256', 'maxvit_tiny_pm_256'];
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

  it('rmlp: the relative-position MLP folds to one [heads, w², w²] constant per attention; no MatMul on constants left', () => {
    const before = buildModel('maxvit_rmlp_pico_rw_256').opHistogram();
    const r = exportModel('maxvit_rmlp_pico_rw_256', {});
    expect(before.get('Relu')).toBe(2 * (2 + 2 + 5 + 2));
    expect(r.nodesAfter.get('Relu')).toBeUndefined();
    expect(r.nodesAfter.get('Gather')).toBeUndefined();
    const biases = [...r.graph.nodes].filter((n) => n.op === 'Add' && n.name.endsWith('biased'));
    expect(biases).toHaveLength(2 * (2 + 2 + 5 + 2));
    for (const n of biases) {
      expect(n.inputs[1]!.isConstant).toBe(true);
      expect(n.inputs[1]!.shape).toEqual([(n.inputs[0]!.shape[1] as number), 64, 64]);
    }
    expectStatic(r.graph);
  });

  it('accepts any multiple of 32 per side (window = grid = size/32) and says so', () => {
    for (const v of listModels().filter((s) => s.family === 'maxvit')) {
      expect(v.fixedSizes).toBeUndefined();
      expect(v.sizeMultiple).toBe(32);
    }
    expect(() => buildModel('maxvit_tiny_tf_224', { size: [240, 240] })).toThrow(/multiple of 32/);
    const g = buildModel('maxvit_tiny_tf_224', { size: [256, 384] });
    const tables = parameters(g).filter((p) => p.name.endsWith('relative_position_bias_table'));
    expect(tables[0]!.staticShape()).toEqual([2, 15, 23]); // (2·8−1) × (2·12−1)
  });
});

describe('MaxViT feature taps follow timm feature_info (stem + 4 stages, NCHW)', () => {
  for (const model of ['maxvit_tiny_tf_224', 'maxvit_nano_rw_256', 'maxvit_tiny_pm_256', 'maxvit_rmlp_small_rw_224']) {
    it(model, () => {
      const spec = getModel(model);
      const b = Builder.create(model);
      const [h, w] = spec.defaultSize;
      spec.build(b, b.input('input', { dtype: 'float32', shape: [1, 3, h, w] }), spec.defaultSize);
      const taps = b.ctx.features.map((v) => v.shape);
      expect(taps).toEqual(TIMM_ZOO[model]!.featureInfo.map((f) => [1, f.channels, h / f.reduction, w / f.reduction]));
    });
  }
});

describe('MaxViT at other sizes: a checkpoint of another window loads with resampled tables', () => {
  it("maxvit_tiny_tf_224 at 384 with its 224 checkpoint equals timm's result (checkpoint_filter_fn) after the passes", async () => {
    const expected = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'maxvit_tiny_tf_224_at_384', 'expected.json'), 'utf8')) as { logits: number[]; argmax: number };
    const r = exportModel('maxvit_tiny_tf_224', { size: [384, 384], checkpoint: referenceCheckpoint('maxvit_tiny_tf_224') });
    expect(r.nodesAfter.get('BatchNormalization')).toBeUndefined();
    const dims = [1, 3, 384, 384];
    const out = await runOnnx(r.bytes, { input: { dtype: 'float32', dims, data: recipeInput(dims) } });
    const got = out['logits']!.data as Float32Array;
    const tol = 1e-4 * Math.max(...expected.logits.map(Math.abs));
    const worst = Math.max(...expected.logits.map((e, i) => Math.abs(got[i]! - e)));
    expect(worst).toBeLessThanOrEqual(tol);
    expect(got.indexOf(Math.max(...got))).toBe(expected.argmax);
  });

  // fixtures/resample/gen_at_size.py: timm.create_model(model, img_size=…) + checkpoint_filter_fn on the reference weights
  for (const [model, size, what] of [['maxvit_nano_rw_256', [224, 288], 'flat tables resampled to a 7×9 window'], ['maxvit_rmlp_pico_rw_256', [320, 320], 'MLP biases recomputed for window 10']] as const) {
    it(`${model} at ${size[0]}×${size[1]} with its ${getModel(model).defaultSize[0]} checkpoint (${what}): timm's logits`, async () => {
      const expected = JSON.parse(readFileSync(join(FIXTURES, 'resample', `${model}_at_${size[0]}x${size[1]}.json`), 'utf8')) as { logits: number[]; argmax: number };
      const r = exportModel(model, { size, checkpoint: referenceCheckpoint(model) });
      const dims = [1, 3, size[0], size[1]];
      const out = await runOnnx(r.bytes, { input: { dtype: 'float32', dims, data: recipeInput(dims) } });
      const got = out['logits']!.data as Float32Array;
      const worst = Math.max(...expected.logits.map((e, i) => Math.abs(got[i]! - e)));
      expect(worst).toBeLessThanOrEqual(1e-4 * Math.max(...expected.logits.map(Math.abs)));
      expect(got.indexOf(Math.max(...got))).toBe(expected.argmax);
    });
  }

  it('an unresampleable table (another head count) is still reported as mis-shaped', () => {
    const ck = referenceCheckpoint('maxvit_nano_rw_256');
    const key = 'stages.0.blocks.0.attn_block.attn.rel_pos.relative_position_bias_table';
    ck.set(key, Tensor.f32([225, 3]));
    expect(() => prepareModel('maxvit_nano_rw_256', { size: [224, 224], checkpoint: ck })).toThrow(new RegExp(`mis-shaped: ${key.replace(/\./g, '\\.')} \\[225,3\\] \\(model expects \\[169,2\\]\\)`));
  });

  // deterministic init at non-default, also non-square sizes: rmlp MLP, pm, the TF port
  for (const [model, size] of [['maxvit_rmlp_pico_rw_256', [384, 320]], ['maxvit_tiny_pm_256', [192, 192]], ['maxvit_tiny_tf_224', [64, 96]]] as const) {
    it(`${model} at ${size[0]}×${size[1]}, deterministic init → finite logits after the passes`, async () => {
      const r = exportModel(model, { size });
      const dims = [1, 3, size[0], size[1]];
      const out = await runOnnx(r.bytes, { input: { dtype: 'float32', dims, data: recipeInput(dims) } });
      expect(out['logits']!.dims).toEqual([1, 1000]);
      expect((out['logits']!.data as Float32Array).every(Number.isFinite)).toBe(true);
      expectStatic(r.graph);
    });
  }
});

describe('MaxViT --target coreml: rank ≤ 5 for the _rw_, _rmlp_ and _pm_ blocks, reference logits kept', () => {
  const maxRank = (g: Graph) => Math.max(...allValues(g).map((v) => v.shape.length));
  for (const model of ['maxvit_nano_rw_256', 'maxvit_rmlp_pico_rw_256', 'maxvit_tiny_pm_256']) {
    it(model, async () => {
      const r = exportModel(model, { checkpoint: referenceCheckpoint(model), batch: 'dynamic', target: 'coreml' });
      expect(maxRank(r.graph)).toBeLessThanOrEqual(5);
      expect(countErrors(r.findings)).toBe(0);
      const x = referenceInput(model);
      const out = await runOnnx(r.bytes, { input: { dtype: 'float32', dims: x.dims, data: x.data } });
      expectPass(checkLogits(model, out['logits']!.data as Float32Array));
    });
  }
});

describe('MaxViT smoke: every variant is registered; tiny runs with deterministic init', () => {
  const variants = listModels().filter((s) => s.family === 'maxvit').map((s) => s.name);
  it("registers timm's 27 MaxViT architectures with their default sizes and preprocessing", () => {
    const zoo = Object.entries(TIMM_ZOO).filter(([, a]) => a.family === 'maxvit').map(([n]) => n);
    expect([...variants].sort()).toEqual([...zoo].sort());
    for (const v of variants) {
      const spec = getModel(v);
      expect(spec.defaultSize).toEqual(TIMM_ZOO[v]!.defaultInputSize.slice(1));
      expect(spec.mean).toEqual(v.endsWith('_tf_224') && !v.includes('xlarge') ? [0.485, 0.456, 0.406] : [0.5, 0.5, 0.5]);
    }
    expect(['tiny', 'small', 'base', 'large'].map((v) => getModel(`maxvit_${v}_tf_224`).paperMacs! / 1e9)).toEqual([5.6, 11.7, 24.2, 43.9]);
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
