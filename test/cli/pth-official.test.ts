/**
 * Official-layout checkpoints through the real binary: the key sets are those the official
 * repositories' model code saves (fixtures/pth/*_official, scripts/gen_pth_official.py, which also
 * checked that each official model reproduces the reference logits with these weights). vitx
 * detects the layout, remaps to timm names and must export the reference logits. Fused forms take
 * their values from vitx's own fusion (fusedCheckpoint), their keys from the official code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOnnx } from '../../src/runtime/ort.js';
import { fusedCheckpoint } from '../builders/rep-helpers.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { buildPth } from '../helpers/pth.js';
import { checkLogits, referenceInput, referenceSafetensors } from '../helpers/reference.js';

const dir = tempDir();

async function logitsPass(model: string, file: string): Promise<boolean> {
  const x = referenceInput(model);
  const out = await runOnnx(readFileSync(file), { input: { dtype: 'float32', dims: x.dims, data: x.data } });
  const c = checkLogits(model, out['logits']!.data as Float32Array);
  expect(c.maxAbsDiff).toBeLessThanOrEqual(c.tolerance);
  return c.pass;
}

const CASES: [string, string, string, string, boolean][] = [
  // fixture, model, layout printed, state dict printed, fused
  ['nextvit_small_official', 'nextvit_small', 'bytedance/Next-ViT', "state dict 'model'", false],
  ['fastvit_t8_official', 'fastvit_t8', 'apple/ml-fastvit', "state dict 'state_dict'", false],
  ['fastvit_t8_official_fused', 'fastvit_t8', 'apple/ml-fastvit', "state dict 'state_dict'", true],
  ['mobileone_s0_official', 'mobileone_s0', 'apple/ml-mobileone', 'top-level state dict', false],
  ['mobileone_s0_official_fused', 'mobileone_s0', 'apple/ml-mobileone', 'top-level state dict', true],
];

describe('official checkpoints export the reference logits', () => {
  for (const [fixture, model, layout, key, fused] of CASES) {
    it(`${fixture} (${model})`, async () => {
      const f = join(dir, `${fixture}.pth`);
      writeFileSync(f, buildPth(fixture, model, fused ? fusedCheckpoint(model) : undefined));
      const out = join(dir, `${fixture}.onnx`);
      const r = vitx(['export', model, '-w', f, '-o', out]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`weights  PyTorch checkpoint, ${key}, official ${layout} layout → timm names`);
      expect(await logitsPass(model, out)).toBe(true);
    });
  }
});

describe('--checkpoint-layout', () => {
  it('timm on an official file: the mismatch report, one line', () => {
    const f = join(dir, 'mobileone_s0_official.pth');
    const r = vitx(['export', 'mobileone_s0', '-w', f, '--checkpoint-layout', 'timm', '-o', join(dir, 'x.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not match the model: \d+ missing: stem\.conv_kxk\.0\.conv\.weight.*; \d+ unexpected: stage0\.rbr_conv\.0\.conv\.weight/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('official on a timm file leaves its keys alone; EdgeViT has no separate official layout', () => {
    const f = join(dir, 'mobileone_s0.safetensors');
    writeFileSync(f, referenceSafetensors('mobileone_s0'));
    expect(vitx(['export', 'mobileone_s0', '-w', f, '--checkpoint-layout', 'official', '-q', '-o', join(dir, 'y.onnx')]).code).toBe(0);
    const edge = vitx(['export', 'edgevit_xxs', '-w', f, '--checkpoint-layout', 'official', '-o', join(dir, 'z.onnx')]);
    expect(edge.code).toBe(1);
    expect(edge.stderr).toMatch(/edgevit_xxs has no separate official layout \(vitx uses the official EdgeViT names already\)/);
    expect(vitx(['export', 'nextvit_small', '--checkpoint-layout', 'both']).code).toBe(2);
  });
});
