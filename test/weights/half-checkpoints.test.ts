/**
 * float16 and bfloat16 checkpoints, both formats (torch.save zip and safetensors), of mobilevit_xxs.
 *
 * Tolerance. vitx widens every 16-bit weight exactly to float32 (each float16 / bfloat16 value is
 * a float32 value), so the function it exports is exactly PyTorch's model with the rounded weights.
 * The oracle is therefore PyTorch's logits for the rounded weights computed in float32
 * (fixtures/pth/<case>/logits.json, scripts/gen-pth-fixtures.py), at the project's float32
 * tolerance 1e-4 · max|logit|. Against the float32 reference the difference is the rounding's own
 * effect: float16 keeps 11 significant bits (relative error ≤ 2^-11 ≈ 4.9e-4 per weight), bfloat16
 * 8 (≤ 2^-8 ≈ 3.9e-3); through the network this moved PyTorch's logits by 0.0056 (fp16) and
 * 0.020 (bf16) of a largest logit of 0.71 — recorded in logits.json — so vitx may differ from the
 * float32 reference by that measured amount plus the float32 tolerance, and no more.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { floatToBf16, floatToHalf, Tensor } from '../../src/graph/tensor.js';
import { prepareModel, toOnnx } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { readCheckpoint } from '../../src/weights/checkpoint.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { buildPth } from '../helpers/pth.js';
import { FIXTURES, loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';

const MODEL = 'mobilevit_xxs';

interface HalfLogits { logits: number[]; max_abs_diff_from_float32_reference: number; reference_max_abs: number }

async function logitsOf(tensors: Map<string, Tensor>): Promise<Float32Array> {
  const x = referenceInput(MODEL);
  const out = await runOnnx(toOnnx(prepareModel(MODEL, { checkpoint: tensors })), { input: { dtype: 'float32', dims: x.dims, data: x.data } });
  return out['logits']!.data as Float32Array;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!)); return m; };

for (const [dtype, conv, st] of [['float16', floatToHalf, 'F16'], ['bfloat16', floatToBf16, 'BF16']] as const) {
  const tag = dtype === 'float16' ? 'fp16' : 'bf16';
  const oracle = JSON.parse(readFileSync(join(FIXTURES, 'pth', `${MODEL}_${tag}`, 'logits.json'), 'utf8')) as HalfLogits;
  const expectMatches = (got: Float32Array) => {
    const torchMax = Math.max(...oracle.logits.map(Math.abs));
    expect(maxDiff(got, oracle.logits)).toBeLessThanOrEqual(1e-4 * torchMax);
    const ref = loadReference(MODEL).expected;
    expect(maxDiff(got, ref.logits)).toBeLessThanOrEqual(oracle.max_abs_diff_from_float32_reference + ref.tolerance_abs);
  };

  describe(`${MODEL} in ${dtype}`, () => {
    it(`torch.save checkpoint (${dtype} storages) equals PyTorch on the rounded weights`, async () => {
      const c = readCheckpoint(buildPth(`${MODEL}_${tag}`, MODEL), `${tag}.pth`);
      expect(c.key).toBeNull();
      expect([...c.tensors.values()].filter((t) => t.dtype === dtype).length).toBe(loadReference(MODEL).keys.float_tensors.length);
      expectMatches(await logitsOf(c.tensors));
    });

    it(`safetensors (${st} tensors, DDP 'module.' prefixes) equals PyTorch on the rounded weights`, async () => {
      const entries: [string, Tensor][] = [...referenceCheckpoint(MODEL)].map(([k, t]) =>
        [`module.${k}`, new Tensor(dtype, t.shape, Uint16Array.from(t.data as Float32Array, (v) => conv(v)))]);
      const c = readCheckpoint(writeSafetensors(entries), `${tag}.safetensors`);
      expect(c.format).toBe('safetensors');
      expect(c.stripped).toEqual([['module.', entries.length]]);
      expectMatches(await logitsOf(c.tensors));
    });
  });
}
