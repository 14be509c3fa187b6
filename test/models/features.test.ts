/**
 * Backbone features (timm `features_only=True`): every registered architecture taps as many maps
 * as timm's feature_info lists, with its channels and reductions; for one model of each family the
 * exported feature outputs (dynamic batch, default pass pipeline) match the PyTorch per-stage
 * summaries at 1e-4 · max_abs (the logits' rule), hold no BatchNormalization, and give the same
 * maps for an image at batch 1 and inside a batch of 3.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { buildModel, featureModules, getModel, listModels } from '../../src/builders/registry.js';
import { TIMM_ZOO } from '../../src/builders/timm-zoo.js';
import { exportModel } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { recipeInput } from '../../src/weights/recipe.js';
import { hasReference, loadReference, referenceCheckpoint, referenceInput, type Stage } from '../helpers/reference.js';
import { expectSummary } from '../helpers/stages.js';

describe('feature taps follow timm feature_info', () => {
  for (const spec of listModels()) {
    it(spec.name, () => {
      const g = buildModel(spec.name, { features: 'all' });
      const info = TIMM_ZOO[spec.name]?.featureInfo;
      const md = g.metadata;
      const channels = md.get('vitx.feature_channels')!.split(',').map(Number);
      const reductions = md.get('vitx.feature_reductions')!.split(',').map(Number);
      expect(g.outputs.map((v) => v.name)).toEqual(channels.map((_, i) => `features.${i}`));
      g.outputs.forEach((v, i) => expect(v.shape[1]).toBe(channels[i]));
      expect(g.opHistogram().has('Gemm')).toBe(false); // no classifier
      if (info) {
        expect(channels).toEqual(info.map((f) => f.channels));
        expect(reductions).toEqual(info.map((f) => f.reduction));
        expect(md.get('vitx.feature_modules')).toBe(info.map((f) => f.module).join(','));
      } else { // EdgeViT (not in timm): its four stages
        expect(spec.family).toBe('edgevit');
        expect(reductions).toEqual([4, 8, 16, 32]);
        expect(featureModules(spec)).toEqual(['blocks1', 'blocks2', 'blocks3', 'blocks4']);
      }
    });
  }
});

/** The reference stage a feature module is summarized by. */
function stageFor(stages: Stage[], module: string): Stage {
  const s = stages.find((x) => x.module === module || x.module.startsWith(`${module}.`));
  if (s) return s;
  // timm's MobileOne (ByobNet) has final_conv = nn.Identity: its feature is stages.3's output
  if (module === 'final_conv') return stages.find((x) => x.module === 'stages.3')!;
  throw new Error(`no reference stage for ${module}`);
}

/** The first registered model of each family that has reference data. */
const perFamily = [...new Set(listModels().map((s) => s.family))]
  .map((f) => listModels().find((s) => s.family === f && hasReference(s.name))?.name)
  .filter((m): m is string => m !== undefined);

describe('exported features match the PyTorch stage summaries', () => {
  for (const model of perFamily) {
    it(`${model} (batch dynamic at 1 and 3)`, async () => {
      const { expected } = loadReference(model);
      const r = exportModel(model, { checkpoint: referenceCheckpoint(model), features: 'all', batch: 'dynamic' });
      expect(r.nodesAfter.get('BatchNormalization') ?? 0).toBe(0);
      const modules = featureModules(getModel(model))!;
      const x = referenceInput(model);
      const one = await runOnnx(r.bytes, { input: { dtype: 'float32', dims: x.dims, data: x.data } });
      modules.forEach((m, i) => expectSummary(one[`features.${i}`]!, stageFor(expected.stages, m)));
      // batch 3: [other, reference, other]; the middle item's maps equal the batch-1 maps
      const n = x.data.length;
      const three = new Float32Array(3 * n);
      three.set(recipeInput(x.dims, 'other'), 0); three.set(x.data, n); three.set(recipeInput(x.dims, 'other'), 2 * n);
      const out3 = await runOnnx(r.bytes, { input: { dtype: 'float32', dims: [3, ...x.dims.slice(1)], data: three } });
      modules.forEach((_, i) => {
        const a = one[`features.${i}`]!.data as Float32Array, b = out3[`features.${i}`]!;
        expect(b.dims[0]).toBe(3);
        const mid = (b.data as Float32Array).subarray(a.length, 2 * a.length);
        let d = 0;
        for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j]! - mid[j]!));
        expect(d, `features.${i}`).toBeLessThanOrEqual(1e-4 * Math.max(1, stageFor(expected.stages, modules[i]!).max_abs));
      });
    });
  }
});
