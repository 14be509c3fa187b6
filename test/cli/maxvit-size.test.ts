/**
 * `vitx export maxvit_tiny_tf_224 --size 384 -w <224 checkpoint>` as a user runs it: the 224
 * checkpoint's relative-position tables are resampled as timm's checkpoint filter does, and the
 * written file gives timm's logits for the same resampling
 * (fixtures/reference/maxvit_tiny_tf_224_at_384/expected.json) on onnxruntime CPU.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOnnx } from '../../src/runtime/ort.js';
import { recipeInput } from '../../src/weights/recipe.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { FIXTURES, referenceSafetensors } from '../helpers/reference.js';

describe('vitx export at another size with a checkpoint of the default size', () => {
  it('maxvit_tiny_tf_224 --size 384 -w ckpt224.safetensors', async () => {
    const dir = tempDir();
    try { await exportAndCompare(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

async function exportAndCompare(dir: string): Promise<void> {
  const ckpt = join(dir, 'ckpt224.safetensors');
  writeFileSync(ckpt, referenceSafetensors('maxvit_tiny_tf_224'));
  const out = join(dir, 'm384.onnx');
  const r = vitx(['export', 'maxvit_tiny_tf_224', '--size', '384', '-w', ckpt, '-o', out]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/input 1×3×384×384/);
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'reference', 'maxvit_tiny_tf_224_at_384', 'expected.json'), 'utf8')) as { logits: number[]; argmax: number };
  const dims = [1, 3, 384, 384];
  const res = await runOnnx(new Uint8Array(readFileSync(out)), { input: { dtype: 'float32', dims, data: recipeInput(dims) } });
  const got = res['logits']!.data as Float32Array;
  const worst = Math.max(...expected.logits.map((e, i) => Math.abs(got[i]! - e)));
  expect(worst).toBeLessThanOrEqual(1e-4 * Math.max(...expected.logits.map(Math.abs)));
  expect(got.indexOf(Math.max(...got))).toBe(expected.argmax);
}
