/**
 * FastViT MCi0–MCi4 (MobileCLIP image towers): keys of both checkpoint forms and the parameter
 * count against the PyTorch reference of fastvit_mci0 (built with a 1000-class head), its logits on
 * onnxruntime CPU for the train-time graph, after the default pipeline, and from a fused-form
 * checkpoint; the default heads (512 / 768 outputs, or the pooled embedding), five-stage sizes.
 * Every variant's keys, parameter count and default-size export: test/models/zoo.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, getModel, listModels } from '../../src/builders/index.js';
import { TIMM_ZOO } from '../../src/builders/timm-zoo.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { prepareModel } from '../../src/pipeline.js';
import { referenceCheckpoint } from '../helpers/reference.js';
import { expectFeatureTaps } from '../helpers/zoo.js';
import { expectFusedKeys, expectPass, expectTrainKeys, fusedCheckpoint, optimizedReference, runReference } from './rep-helpers.js';

const MODEL = 'fastvit_mci0';
const MCI = ['fastvit_mci0', 'fastvit_mci1', 'fastvit_mci2', 'fastvit_mci3', 'fastvit_mci4'];

describe('FastViT MCi against the PyTorch reference (fastvit_mci0, 1000-class head)', () => {
  it('train-time initializers equal timm\'s state_dict (names, shapes, order, rules); params = timm\'s', () => expectTrainKeys(MODEL));
  it('fused-form initializers equal timm\'s reparameterized state_dict', () => expectFusedKeys(MODEL));

  it('train-time graph matches the PyTorch logits', async () => {
    expectPass(await runReference(MODEL, prepareModel(MODEL, { checkpoint: referenceCheckpoint(MODEL), numClasses: 1000 })));
  });

  it('after the default pipeline: no BatchNormalization, every RepMixer collapsed, logits still match', async () => {
    const g = optimizedReference(MODEL);
    const h = g.opHistogram();
    expect(h.has('BatchNormalization')).toBe(false);
    expect(h.has('Sub')).toBe(false);
    // stem 3; per RepMixer block 1 + ConvMlp 3 (18 blocks); per downsample 2 (+2 SE convs in stages 2, 3);
    // RepCPE 1; per attention block ConvMlp 3 (2 blocks); final conv 1 + SE 2
    expect(h.get('Conv')).toBe(3 + 18 * 4 + 3 * 2 + 2 * 2 + 1 + 2 * 3 + 3);
    expectPass(await runReference(MODEL, g));
  });

  it('from a fused-form checkpoint (vitx\'s own reparam_conv tensors) matches the PyTorch logits', async () => {
    const g = prepareModel(MODEL, { checkpoint: fusedCheckpoint(MODEL), checkpointName: 'fused', numClasses: 1000 });
    expect(g.metadata.get('vitx.checkpoint_form')).toBe('fused');
    expect(g.initializers.has('stages.2.downsample.proj.0.reparam_conv.weight')).toBe(true);
    expectPass(await runReference(MODEL, g));
  });
});

describe('FastViT MCi variants and heads', () => {
  it('registers MCi0–MCi4 with timm\'s default heads and the default weights\' preprocessing', () => {
    expect(listModels().map((s) => s.name).filter((n) => n.startsWith('fastvit_mci'))).toEqual(MCI);
    for (const m of MCI) {
      const s = getModel(m), zoo = TIMM_ZOO[m]!;
      expect(s.numClasses).toBe(m < 'fastvit_mci3' ? 512 : 768);
      expect(s.defaultSize).toEqual([256, 256]);
      expect([s.mean, s.std]).toEqual([zoo.pretrained[zoo.defaultTag!]!.mean, zoo.pretrained[zoo.defaultTag!]!.std]);
    }
    expect(getModel('fastvit_mci0').mean).toEqual([0, 0, 0]);
    expect(getModel('fastvit_mci3').mean).toEqual([0.48145466, 0.4578275, 0.40821073]); // OpenAI CLIP
  });

  it('default head: 512-d image embedding (MobileCLIP projection); numClasses 0: the pooled 1024-d features', () => {
    expect(buildModel(MODEL).outputs[0]!.shape).toEqual([1, 512]);
    const g = buildModel(MODEL, { numClasses: 0 });
    expect(g.outputs.map((v) => [v.name, v.shape])).toEqual([['embeddings', [1, 1024]]]);
    expect(g.initializers.has('head.fc.weight')).toBe(false);
  });

  it('feature taps (b.feature) of every FastViT variant follow timm\'s feature_info (one per stage)', () => {
    for (const s of listModels().filter((m) => m.family === 'fastvit')) expectFeatureTaps(s.name);
  });

  it('MCi3 / MCi4: five stages (/64), so sizes are multiples of 64; both forms build with a dynamic batch', () => {
    expect(getModel('fastvit_mci3').sizeMultiple).toBe(64);
    expect(() => buildModel('fastvit_mci3', { size: [224, 224] })).toThrow(/multiple of 64/);
    for (const fused of [false, true]) {
      const g = buildModel('fastvit_mci3', { size: [128, 128], batch: 'dynamic', fused });
      verifyGraph(g);
      expect(g.outputs[0]!.shape).toEqual(['N', 768]);
      expect(g.opHistogram().get('LayerNormalization')).toBe(4 + 2); // LayerNorm2d pre-norm of every attention block
    }
  });
});
