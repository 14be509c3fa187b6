/**
 * MobileOne builders (train-time form): checkpoint keys, parameter counts, reference logits on
 * onnxruntime CPU, and a smoke run of every variant.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, getModel, listModels } from '../../src/builders/index.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { prepareModel, toOnnx, trainableParams } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { parameters } from '../../src/weights/load.js';
import { checkLogits, loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';

const REFERENCE = ['mobileone_s0', 'mobileone_s1'];
/** timm v1.0.28 parameter counts of the variants without a reference folder. */
const TIMM_PARAMS: Record<string, number> = { mobileone_s2: 7_884_648, mobileone_s3: 10_170_600, mobileone_s4: 14_951_248 };

async function referenceLogits(model: string): Promise<Float32Array> {
  const g = prepareModel(model, { checkpoint: referenceCheckpoint(model) });
  const x = referenceInput(model);
  const out = await runOnnx(toOnnx(g), { input: { dtype: 'float32', dims: x.dims, data: x.data } });
  return out['logits']!.data as Float32Array;
}

describe('MobileOne train-time keys and parameter counts', () => {
  for (const model of REFERENCE) {
    it(`${model}: initializers equal timm's state_dict (names, shapes, order, rules); params = timm's`, () => {
      const g = buildModel(model);
      const { keys, expected } = loadReference(model);
      const ours = parameters(g).map((v) => ({ name: v.name, shape: v.staticShape(), rule: v.initRule }));
      const theirs = keys.float_tensors.map((e) => ({
        name: e.name, shape: e.shape,
        rule: e.rule.replace('bn_calibrated_mean', 'norm_running_mean').replace('bn_calibrated_var', 'norm_running_var'),
      }));
      expect(ours).toEqual(theirs);
      expect(trainableParams(g)).toBe(expected.params);
    });
  }
  for (const [model, n] of Object.entries(TIMM_PARAMS)) {
    it(`${model}: ${n.toLocaleString('en')} parameters, as timm counts them`, () => {
      expect(trainableParams(buildModel(model))).toBe(n);
    });
  }
  it('mobileone_s4 has squeeze-excite (attn.fc1/fc2) on the last 5 units of stage 2 and all of stage 3', () => {
    const names = parameters(buildModel('mobileone_s4')).map((v) => v.name).filter((n) => n.endsWith('attn.fc1.weight'));
    const expected = [...Array.from({ length: 10 }, (_, i) => `stages.2.${10 + i}.attn.fc1.weight`), 'stages.3.0.attn.fc1.weight', 'stages.3.1.attn.fc1.weight'];
    expect(names).toEqual(expected);
    const g = buildModel('mobileone_s4');
    expect(g.initializers.get('stages.2.10.attn.fc1.weight')!.shape).toEqual([56, 896, 1, 1]);
    expect(g.initializers.get('stages.3.1.attn.fc1.weight')!.shape).toEqual([128, 2048, 1, 1]);
  });
});

describe('MobileOne reference logits (onnxruntime CPU, train-time graph)', () => {
  for (const model of REFERENCE) {
    it(`${model} matches the PyTorch logits`, async () => {
      const check = checkLogits(model, await referenceLogits(model));
      expect(check.maxAbsDiff).toBeLessThanOrEqual(check.tolerance);
      expect(check.pass).toBe(true);
    });
  }
});

describe('MobileOne smoke: every variant builds, verifies, serializes and runs', () => {
  const variants = listModels().filter((s) => s.family === 'mobileone').map((s) => s.name);
  it('registers S0–S4 with the paper MACs', () => {
    expect(variants).toEqual(['mobileone_s0', 'mobileone_s1', 'mobileone_s2', 'mobileone_s3', 'mobileone_s4']);
    expect(variants.map((v) => getModel(v).paperMacs! / 1e9)).toEqual([0.275, 0.825, 1.299, 1.896, 2.978]);
    for (const v of variants) expect(getModel(v).defaultSize).toEqual([224, 224]);
  });
  for (const model of variants) {
    it(`${model} at 128×128, batch 1, deterministic init → finite [1, 1000] logits`, async () => {
      const g = prepareModel(model, { size: [128, 128] });
      verifyGraph(g);
      const x = new Float32Array(3 * 128 * 128).map((_, i) => Math.cos(i * 0.01));
      const out = await runOnnx(toOnnx(g), { input: { dtype: 'float32', dims: [1, 3, 128, 128], data: x } });
      const logits = out['logits']!;
      expect(logits.dims).toEqual([1, 1000]);
      expect((logits.data as Float32Array).every(Number.isFinite)).toBe(true);
    });
  }
});
