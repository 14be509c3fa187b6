/**
 * MobileOne: checkpoint keys (train-time and fused form), parameter counts, reference logits on
 * onnxruntime CPU before and after the default pass pipeline, fused checkpoints, smoke runs.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, getModel, listModels } from '../../src/builders/index.js';
import { prepareModel, trainableParams } from '../../src/pipeline.js';
import { parameters } from '../../src/weights/load.js';
import { referenceCheckpoint } from '../helpers/reference.js';
import { expectFusedKeys, expectPass, expectTrainKeys, fusedCheckpoint, optimizedReference, runReference, smoke } from './rep-helpers.js';

const REFERENCE = ['mobileone_s0', 'mobileone_s1'];
/** timm v1.0.28 parameter counts of the variants without a reference folder. */
const TIMM_PARAMS: Record<string, number> = { mobileone_s2: 7_884_648, mobileone_s3: 10_170_600, mobileone_s4: 14_951_248 };

describe('MobileOne keys and parameter counts', () => {
  for (const model of REFERENCE) {
    it(`${model}: train-time initializers equal timm's state_dict (names, shapes, order, rules); params = timm's`, () => expectTrainKeys(model));
    it(`${model}: fused-form initializers equal timm's reparameterized state_dict`, () => expectFusedKeys(model));
  }
  for (const [model, n] of Object.entries(TIMM_PARAMS)) {
    it(`${model}: ${n.toLocaleString('en')} parameters, as timm counts them`, () => {
      expect(trainableParams(buildModel(model))).toBe(n);
    });
  }
  it('mobileone_s4 has squeeze-excite (attn.fc1/fc2) on the last 5 units of stage 2 and all of stage 3', () => {
    const g = buildModel('mobileone_s4');
    const names = parameters(g).map((v) => v.name).filter((n) => n.endsWith('attn.fc1.weight'));
    const expected = [...Array.from({ length: 10 }, (_, i) => `stages.2.${10 + i}.attn.fc1.weight`), 'stages.3.0.attn.fc1.weight', 'stages.3.1.attn.fc1.weight'];
    expect(names).toEqual(expected);
    expect(g.initializers.get('stages.2.10.attn.fc1.weight')!.shape).toEqual([56, 896, 1, 1]);
    expect(g.initializers.get('stages.3.1.attn.fc1.weight')!.shape).toEqual([128, 2048, 1, 1]);
  });
});

describe('MobileOne reference logits (onnxruntime CPU)', () => {
  for (const model of REFERENCE) {
    it(`${model} train-time graph matches the PyTorch logits`, async () => {
      expectPass(await runReference(model, prepareModel(model, { checkpoint: referenceCheckpoint(model) })));
    });
    it(`${model} after the default pipeline: a plain Conv/ReLU chain, logits still match`, async () => {
      const g = optimizedReference(model);
      expect([...g.opHistogram().keys()]).toEqual(['Conv', 'Flatten', 'Gemm', 'GlobalAveragePool', 'Relu']);
      expect(g.opHistogram().get('Conv')).toBe(1 + 2 * (2 + 8 + 10 + 1)); // one conv per block
      expectPass(await runReference(model, g));
    });
    it(`${model} from a fused-form checkpoint (vitx's own reparam_conv tensors) matches the PyTorch logits`, async () => {
      const g = prepareModel(model, { checkpoint: fusedCheckpoint(model), checkpointName: 'fused' });
      expect(g.metadata.get('vitx.checkpoint_form')).toBe('fused');
      expectPass(await runReference(model, g));
    });
  }
});

describe('MobileOne smoke: every variant builds, verifies, serializes, optimizes and runs', () => {
  const variants = listModels().filter((s) => s.family === 'mobileone').map((s) => s.name);
  it('registers S0–S4 with the paper MACs', () => {
    expect(variants).toEqual(['mobileone_s0', 'mobileone_s1', 'mobileone_s2', 'mobileone_s3', 'mobileone_s4']);
    expect(variants.map((v) => getModel(v).paperMacs! / 1e9)).toEqual([0.275, 0.825, 1.299, 1.896, 2.978]);
    for (const v of variants) expect(getModel(v).defaultSize).toEqual([224, 224]);
  });
  for (const model of variants) {
    it(`${model} at 128×128: train-time graph runs, the default pipeline keeps its logits, fused form runs`, () => smoke(model));
  }
});
