/**
 * `vitx export` for reparameterizable families through the real binary: the default output is the
 * fused inference form, `--no-reparam` keeps the train-time branches, and a checkpoint already in
 * timm's fused form loads by its own keys; a mix of both forms is refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../../src/onnx/parse.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { fusedCheckpoint } from '../builders/rep-helpers.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { checkLogits, referenceCheckpoint, referenceInput, referenceSafetensors } from '../helpers/reference.js';

const MODEL = 'fastvit_t8';
let dir: string;

async function check(file: string) {
  const x = referenceInput(MODEL);
  const out = await runOnnx(readFileSync(file), { input: { dtype: 'float32', dims: x.dims, data: x.data } });
  return checkLogits(MODEL, out['logits']!.data as Float32Array);
}
const ops = (file: string) => parseOnnx(readFileSync(file)).graph.opHistogram();

beforeAll(() => {
  dir = tempDir();
  writeFileSync(join(dir, 'train.safetensors'), referenceSafetensors(MODEL));
});

describe(`vitx export ${MODEL}`, () => {
  it('default: fully reparameterized, equal to the reference', async () => {
    const out = join(dir, 'fused.onnx');
    const r = vitx(['export', MODEL, '-w', join(dir, 'train.safetensors'), '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/merge-parallel-convs ×\d+/);
    expect(ops(out).has('BatchNormalization')).toBe(false);
    expect(ops(out).has('Sub')).toBe(false); // RepMixer's mixer − norm folded into one conv
    expect((await check(out)).pass).toBe(true);
  });

  it('--no-reparam keeps every branch and BatchNorm and still equals the reference', async () => {
    const out = join(dir, 'train.onnx');
    expect(vitx(['export', MODEL, '-w', join(dir, 'train.safetensors'), '-o', out, '--no-reparam', '-q']).code).toBe(0);
    const h = ops(out);
    expect(h.get('BatchNormalization')).toBe(70); // every BN of the train-time graph
    expect(h.get('Sub')).toBe(10); // one per RepMixer
    expect((await check(out)).pass).toBe(true);
    expect(h.get('Conv')!).toBeGreaterThan(ops(join(dir, 'fused.onnx')).get('Conv')!);
  });

  it('accepts a checkpoint in the fused (reparameterized) form', async () => {
    const f = join(dir, 'fused.safetensors');
    writeFileSync(f, writeSafetensors(fusedCheckpoint(MODEL)));
    const out = join(dir, 'from-fused.onnx');
    const r = vitx(['export', MODEL, '-w', f, '-o', out]);
    expect(r.code).toBe(0);
    expect((await check(out)).pass).toBe(true);
  });

  it('refuses a checkpoint that mixes both forms, naming the expected one', () => {
    const mixed = new Map(referenceCheckpoint(MODEL));
    const fused = fusedCheckpoint(MODEL);
    for (const [k, v] of fused) if (k.startsWith('stem.')) mixed.set(k, v);
    const f = join(dir, 'mixed.safetensors');
    writeFileSync(f, writeSafetensors(mixed));
    const r = vitx(['export', MODEL, '-w', f, '-o', join(dir, 'mixed.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mixes the two forms of fastvit_t8: .* expected the train-time form throughout/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
