/**
 * Done-when: --dtype fp16 exports of nextvit_small, fastvit_sa12, maxvit_tiny_tf_224 and
 * mobilevit_xxs run on onnxruntime CPU with logits within 2e-2 · max|fp32 logits| of the PyTorch
 * float32 reference (observed 0.9e-2, 0.07e-2, 0.04e-2, 0.55e-2) and the same top-1 class.
 * MaxViT is also checked at opset 13 (LayerNorm decomposed, kept in float32) and MobileViT with
 * float16 graph I/O.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { floatToHalf, halfToFloat } from '../../src/graph/tensor.js';
import { exportModel } from '../../src/pipeline.js';
import { type HostTensor, runOnnx } from '../../src/runtime/ort.js';
import { loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';

const FP16_TOLERANCE = 2e-2;

async function fp16Logits(model: string, o: { opset?: number; io?: 'fp32' | 'fp16' } = {}): Promise<{ logits: Float32Array; casts: number }> {
  const r = exportModel(model, { checkpoint: referenceCheckpoint(model), dtype: 'fp16', ...o });
  const x = referenceInput(model);
  const input: HostTensor = o.io === 'fp16'
    ? { dtype: 'float16', dims: x.dims, data: Uint16Array.from(x.data, floatToHalf) }
    : { dtype: 'float32', dims: x.dims, data: x.data };
  const out = (await runOnnx(r.bytes, { input }))['logits']!;
  expect(out.dtype).toBe(o.io === 'fp16' ? 'float16' : 'float32');
  const logits = out.dtype === 'float16' ? Float32Array.from(out.data as Uint16Array, halfToFloat) : (out.data as Float32Array);
  return { logits, casts: r.fp16!.casts };
}

function expectNearReference(model: string, logits: Float32Array): void {
  const { expected } = loadReference(model);
  const maxExp = Math.max(...expected.logits.map(Math.abs));
  let worst = 0, argmax = 0;
  expected.logits.forEach((e, i) => {
    worst = Math.max(worst, Math.abs(logits[i]! - e));
    if (logits[i]! > logits[argmax]!) argmax = i;
  });
  expect(worst / maxExp, `${model}: max |Δlogit| ${worst} vs max |logit| ${maxExp}`).toBeLessThanOrEqual(FP16_TOLERANCE);
  expect(argmax).toBe(expected.argmax);
}

describe('fp16 exports on onnxruntime CPU', () => {
  it.each(['nextvit_small', 'fastvit_sa12', 'maxvit_tiny_tf_224', 'mobilevit_xxs'])('%s (opset 17) is within 2e-2 of the fp32 reference, same top-1', async (model) => {
    const { logits } = await fp16Logits(model);
    expectNearReference(model, logits);
  });

  it('maxvit_tiny_tf_224 at opset 13 (LayerNorm decomposed in float32)', async () => {
    const { logits } = await fp16Logits('maxvit_tiny_tf_224', { opset: 13 });
    expectNearReference('maxvit_tiny_tf_224', logits);
  });

  it('mobilevit_xxs with float16 inputs and outputs', async () => {
    const a = await fp16Logits('mobilevit_xxs', { io: 'fp16' });
    expectNearReference('mobilevit_xxs', a.logits);
  });
});
