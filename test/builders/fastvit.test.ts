/**
 * FastViT: checkpoint keys (train-time and fused form), parameter counts, reference logits on
 * onnxruntime CPU before and after the default pass pipeline, fused checkpoints, smoke runs.
 */
import { describe, expect, it } from 'vitest';
import { buildModel, getModel, listModels } from '../../src/builders/index.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { prepareModel } from '../../src/pipeline.js';
import { referenceCheckpoint } from '../helpers/reference.js';
import { expectFusedKeys, expectPass, expectTrainKeys, fusedCheckpoint, optimizedReference, runReference, smoke } from './rep-helpers.js';

const REFERENCE = ['fastvit_t8', 'fastvit_t12', 'fastvit_s12', 'fastvit_sa12', 'fastvit_sa24', 'fastvit_sa36', 'fastvit_ma36'];
/** The models whose reparameterized form is checked end to end (the list). */
const REPARAM = ['fastvit_t8', 'fastvit_sa12'];

describe('FastViT keys and parameter counts', () => {
  for (const model of REFERENCE) {
    it(`${model}: train-time initializers equal timm's state_dict (names, shapes, order, rules); params = timm's`, () => expectTrainKeys(model));
    it(`${model}: fused-form initializers equal timm's reparameterized state_dict`, () => expectFusedKeys(model));
  }
});

describe('FastViT reference logits (onnxruntime CPU)', () => {
  // All seven train-time graphs are cheap (≤ 2 s each); the issue requires at least T8 and SA12.
  for (const model of REFERENCE) {
    it(`${model} train-time graph matches the PyTorch logits`, async () => {
      expectPass(await runReference(model, prepareModel(model, { checkpoint: referenceCheckpoint(model) })));
    });
  }
  for (const model of REPARAM) {
    it(`${model} after the default pipeline: no BatchNormalization left, logits still match`, async () => {
      const g = optimizedReference(model);
      const h = g.opHistogram();
      expect(h.has('BatchNormalization')).toBe(false);
      expect(h.has('Sub')).toBe(false); // every RepMixer collapsed
      // one conv per stem block, RepMixer, downsample half and RepCPE; ConvMlp keeps 3, the head 3 (with SE)
      expect(h.get('Conv')).toBe(model === 'fastvit_t8' ? 3 + 10 * (1 + 3) + 3 * 2 + 3 : 3 + 10 * (1 + 3) + 3 * 2 + 1 + 2 * 3 + 3);
      expectPass(await runReference(model, g));
    });
    it(`${model} from a fused-form checkpoint (vitx's own reparam_conv tensors) matches the PyTorch logits`, async () => {
      const g = prepareModel(model, { checkpoint: fusedCheckpoint(model), checkpointName: 'fused' });
      expect(g.metadata.get('vitx.checkpoint_form')).toBe('fused');
      expect(g.initializers.has('stem.0.reparam_conv.weight')).toBe(true);
      expectPass(await runReference(model, g));
    });
  }
});

describe('FastViT smoke: every variant builds, verifies, serializes, optimizes and runs', () => {
  // FastViT proper (MCi: test/builders/fastvit-mci.test.ts)
  const variants = listModels().filter((s) => s.family === 'fastvit' && !s.name.startsWith('fastvit_mci')).map((s) => s.name);
  it('registers the seven variants with the paper MACs', () => {
    expect(variants).toEqual(REFERENCE);
    expect(variants.map((v) => getModel(v).paperMacs! / 1e9)).toEqual([0.7, 1.4, 1.8, 1.9, 3.8, 5.6, 7.9]);
    for (const v of variants) expect(getModel(v).defaultSize).toEqual([256, 256]);
  });
  for (const model of variants) {
    it(`${model} at 128×128: train-time graph runs, the default pipeline keeps its logits, fused form runs`, () => smoke(model));
  }
  it('rejects sizes that are not multiples of 32', () => {
    expect(() => buildModel('fastvit_t8', { size: [250, 256] })).toThrow(/multiple of 32/);
  });
  it('builds train-time and fused graphs with a dynamic batch', () => {
    for (const fused of [false, true]) {
      const g = buildModel('fastvit_sa12', { batch: 'dynamic', fused });
      verifyGraph(g);
      expect(g.outputs[0]!.shape).toEqual(['N', 1000]);
    }
  });
});
