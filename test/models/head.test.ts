/**
 * Head size from the checkpoint: a 10-class head cut from each reference checkpoint (rows 0…9 of
 * the classifier weight and bias) exports with no head-size option and gives the first 10
 * reference logits within the full head's tolerance; numClasses 0 gives the pooled pre-logits
 * (the reference `pre_logits` stage summary); an explicit head size the checkpoint contradicts is
 * refused in one line naming both; checkpoints without a head (timm num_classes=0) or without what
 * follows the last feature map (features_only) load where that part is not built.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { getModel, listModels } from '../../src/builders/registry.js';
import { exportModel, prepareModel } from '../../src/pipeline.js';
import { CheckpointError } from '../../src/weights/load.js';
import { Tensor } from '../../src/graph/tensor.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { hasReference, loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';
import { cutHead, expectSummary } from '../helpers/stages.js';

const models = listModels().map((s) => s.name).filter(hasReference);

async function run(bytes: Uint8Array, model: string) {
  const x = referenceInput(model);
  return runOnnx(bytes, { input: { dtype: 'float32', dims: x.dims, data: x.data } });
}

describe('head size follows the checkpoint', () => {
  it('covers every registered family', () => {
    expect(new Set(models.map((m) => getModel(m).family)).size).toBe(new Set(listModels().map((s) => s.family)).size);
  });

  for (const model of models) {
    it(`${model}: 10-class head → first 10 logits; numClasses 0 → pre_logits`, async () => {
      const { expected } = loadReference(model);
      const full = referenceCheckpoint(model);
      const r10 = exportModel(model, { checkpoint: cutHead(model, full, 10) });
      const logits = (await run(r10.bytes, model))['logits']!;
      expect(logits.dims).toEqual([1, 10]);
      const want = expected.logits.slice(0, 10);
      const err = Math.max(...want.map((v, i) => Math.abs((logits.data as Float32Array)[i]! - v)));
      expect(err, `max |Δ| ${err} > ${expected.tolerance_abs}`).toBeLessThanOrEqual(expected.tolerance_abs);

      const r0 = exportModel(model, { checkpoint: full, numClasses: 0 });
      const out = await run(r0.bytes, model);
      expect(Object.keys(out)).toEqual(['embeddings']);
      expectSummary(out['embeddings']!, expected.stages.find((s) => s.name === 'pre_logits')!);
    });
  }
});

describe('head size: refusals and headless checkpoints (mobilevit_xxs)', () => {
  const model = 'mobilevit_xxs';
  const full = referenceCheckpoint(model);
  const without = (prefixes: string[]) => new Map([...full].filter(([k]) => !prefixes.some((p) => k.startsWith(p))));

  it('an explicit head size the checkpoint contradicts: one line naming both', () => {
    const ft10 = cutHead(model, full, 10);
    expect(() => prepareModel(model, { checkpoint: ft10, checkpointName: 'ft10.safetensors', numClasses: 1000 }))
      .toThrow(new CheckpointError('ft10.safetensors has a 10-class head (head.fc.weight [10, 320]) but 1000 classes were asked for (--num-classes 1000); omit --num-classes to use the checkpoint\'s'));
    expect(prepareModel(model, { checkpoint: ft10, numClasses: 10 }).outputs[0]!.shape).toEqual([1, 10]);
    const scalar = new Map(ft10).set('head.fc.weight', Tensor.scalarF32(1));
    expect(() => prepareModel(model, { checkpoint: scalar, checkpointName: 'w.safetensors' })).toThrow(/^w\.safetensors: head\.fc\.weight is a scalar/);
  });

  it('a checkpoint without head tensors exports the embedding; asking for a head reports them missing', () => {
    const headless = without(['head.']);
    expect(prepareModel(model, { checkpoint: headless }).outputs.map((v) => v.name)).toEqual(['embeddings']);
    expect(() => prepareModel(model, { checkpoint: headless, numClasses: 1000 })).toThrow(/2 missing: head\.fc\.weight, head\.fc\.bias/);
  });

  it('features: a checkpoint without final_conv and head loads for features 0…3, not for 4', () => {
    const trunk = without(['head.', 'final_conv.']);
    expect(prepareModel(model, { checkpoint: trunk, features: [0, 1, 2, 3] }).outputs.map((v) => v.name)).toEqual(['features.0', 'features.1', 'features.2', 'features.3']);
    expect(() => prepareModel(model, { checkpoint: trunk, features: 'all' })).toThrow(/missing: final_conv\.conv\.weight/);
  });
});
