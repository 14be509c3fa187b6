/**
 * Every model with reference data: the exported file (default pass pipeline, opset 17) gives the
 * PyTorch logits on onnxruntime CPU within the reference tolerance (1e-4 · max|expected|, same
 * argmax), its graph verifies, and no BatchNormalization is left.
 * The train-time (--no-optimize) comparisons live in test/builders/<family>.test.ts.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { listModels } from '../../src/builders/registry.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { exportModel } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { checkLogits, hasReference, loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';

const models = listModels().map((s) => s.name).filter(hasReference);

describe('optimized export equals the PyTorch reference', () => {
  it('covers at least one model of each registered family', () => {
    const families = new Set(listModels().map((s) => s.family));
    const covered = new Set(listModels().filter((s) => hasReference(s.name)).map((s) => s.family));
    expect([...covered].sort()).toEqual([...families].sort());
  });

  for (const model of models) {
    it(model, async () => {
      const numClasses = loadReference(model).expected.num_classes; // fastvit_mci0: a 1000-class head, not its default 512
      const r = exportModel(model, { checkpoint: referenceCheckpoint(model), numClasses, verifyEach: true });
      verifyGraph(r.graph);
      expect(r.nodesAfter.get('BatchNormalization') ?? 0).toBe(0);
      const x = referenceInput(model);
      const out = await runOnnx(r.bytes, { input: { dtype: 'float32', dims: x.dims, data: x.data } });
      const c = checkLogits(model, out['logits']!.data as Float32Array);
      expect(c.maxAbsDiff, `max |Δlogit| ${c.maxAbsDiff} > ${c.tolerance}`).toBeLessThanOrEqual(c.tolerance);
      expect(c.argmax).toBe(c.expectedArgmax);
    });
  }
});
