/**
 * Done-when: nextvit_small, fastvit_sa12, maxvit_tiny_tf_224 and mobilevit_xxs exported (default
 * pass pipeline, reference weights) at opsets 13, 17 and 20 give the PyTorch logits on onnxruntime
 * CPU within the reference tolerance (1e-4 · max|expected|, same argmax). The opset-17 file is
 * exported with --target tensorrt: it has no Shape op and its lint is clean.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { exportModel } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { checkLogits, referenceCheckpoint, referenceInput } from '../helpers/reference.js';

const MODELS = ['nextvit_small', 'fastvit_sa12', 'maxvit_tiny_tf_224', 'mobilevit_xxs'];
const USES_GELU = new Set(['fastvit_sa12', 'maxvit_tiny_tf_224']);
const USES_LAYERNORM = new Set(['maxvit_tiny_tf_224', 'mobilevit_xxs']);

describe.each(MODELS)('%s at opsets 13, 17, 20', (model) => {
  const checkpoint = referenceCheckpoint(model);
  const x = referenceInput(model);

  it.each([13, 17, 20])('opset %i equals the reference', async (opset) => {
    const r = exportModel(model, { checkpoint, opset, target: opset === 17 ? 'tensorrt' : undefined });
    const ops = r.graph.opHistogram();
    expect(ops.has('Gelu')).toBe(opset >= 20 && USES_GELU.has(model));
    expect(ops.has('LayerNormalization')).toBe(opset >= 17 && USES_LAYERNORM.has(model));
    if (opset === 17) {
      expect(ops.has('Shape')).toBe(false);
      expect(r.findings).toEqual([]);
    }
    const out = await runOnnx(r.bytes, { input: { dtype: 'float32', dims: x.dims, data: x.data } });
    const c = checkLogits(model, out['logits']!.data as Float32Array);
    expect(c.maxAbsDiff, `max |Δlogit| ${c.maxAbsDiff} > ${c.tolerance}`).toBeLessThanOrEqual(c.tolerance);
    expect(c.argmax).toBe(c.expectedArgmax);
  });
});
