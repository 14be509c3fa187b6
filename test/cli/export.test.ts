/**
 * `vitx export` end to end through the real binary: reference logits with and without the pass
 * pipeline, determinism, and every kind of bad input.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../../src/onnx/parse.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { Tensor } from '../../src/graph/tensor.js';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { checkLogits, hasReference, loadReference, referenceInput, referenceSafetensors } from '../helpers/reference.js';

const MODEL = 'nextvit_small';
let dir: string;
let weights: string;

async function logitsOf(file: string): Promise<Float32Array> {
  const x = referenceInput(MODEL);
  const out = await runOnnx(readFileSync(file), { input: { dtype: 'float32', dims: x.dims, data: x.data } });
  return out['logits']!.data as Float32Array;
}

beforeAll(() => {
  dir = tempDir();
  weights = join(dir, 'nextvit_small.safetensors');
  writeFileSync(weights, referenceSafetensors(MODEL, true)); // like a timm file: with num_batches_tracked
});

describe(`vitx export ${MODEL} --weights (reference checkpoint)`, () => {
  it('default pipeline: no BatchNormalization left, logits equal the PyTorch reference', async () => {
    const out = join(dir, 'opt.onnx');
    const r = vitx(['export', MODEL, '--weights', weights, '-o', out]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*opt\.onnx \(\d+\.\d MB, opset 17, input 1×3×224×224, weights /);
    expect(r.stdout).toMatch(/params {3}31,763,368/);
    expect(r.stdout).toMatch(/BatchNormalization \d+→0/);
    const g = parseOnnx(readFileSync(out)).graph;
    expect(g.opHistogram().has('BatchNormalization')).toBe(false);
    const check = checkLogits(MODEL, await logitsOf(out));
    expect(check.maxAbsDiff).toBeLessThanOrEqual(check.tolerance);
    expect(check.pass).toBe(true);
  });

  it('--no-optimize: the train-time graph also equals the reference', async () => {
    const out = join(dir, 'train.onnx');
    expect(vitx(['export', MODEL, '--weights', weights, '-o', out, '--no-optimize', '-q']).code).toBe(0);
    expect(parseOnnx(readFileSync(out)).graph.opHistogram().get('BatchNormalization')).toBeGreaterThan(50);
    expect(checkLogits(MODEL, await logitsOf(out)).pass).toBe(true);
  });

  it('repeated exports are byte-identical', () => {
    const a = join(dir, 'a.onnx'), b = join(dir, 'b.onnx');
    expect(vitx(['export', MODEL, '-o', a, '-q']).code).toBe(0);
    expect(vitx(['export', MODEL, '-o', b, '-q']).code).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });
});

describe('vitx export: bad input gives one line, a non-zero exit and no file', () => {
  function expectOneLineError(r: { code: number; stderr: string; stdout: string }, code: number, msg: RegExp): void {
    expect(r.code).toBe(code);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
  }
  const cases: [string, () => string[], number, RegExp][] = [
    ['unknown model (suggests names)', () => ['export', 'nextvit_smal'], 2, /unknown model 'nextvit_smal' \(did you mean nextvit_small/],
    ['opset out of range', () => ['export', MODEL, '--opset', '9'], 2, /--opset must be an integer from 13 to 21/],
    ['bad batch', () => ['export', MODEL, '--batch', '0'], 2, /--batch must be a positive integer or 'dynamic'/],
    ['size not a multiple of 32', () => ['export', MODEL, '--size', '230'], 2, /multiple of 32, not 230x230/],
    ['missing weights file', () => ['export', MODEL, '--weights', join(dir, 'nope.safetensors')], 1, /cannot read weights file .*nope\.safetensors: no such file/],
    ['weights file that is not safetensors', () => { const f = join(dir, 'junk.safetensors'); writeFileSync(f, 'hello world, not a checkpoint'); return ['export', MODEL, '--weights', f]; }, 1, /header length \d+ runs past the end/],
    ['output folder does not exist', () => ['export', MODEL, '-o', join(dir, 'no', 'such', 'dir', 'm.onnx')], 1, /cannot write .*m\.onnx: no such file/],
    ['output path without .onnx', () => ['export', MODEL, '-o', join(dir, 'model.bin')], 2, /output file must end in \.onnx/],
  ];
  for (const [what, args, code, msg] of cases) {
    it(what, () => {
      const before = new Set(readdirSync(dir));
      expectOneLineError(vitx(args(), { cwd: dir }), code, msg);
      expect(readdirSync(dir).filter((f) => !before.has(f) && f.endsWith('.onnx'))).toEqual([]);
    });
  }

  it('a checkpoint with missing, extra and mis-shaped tensors lists all of them and keeps an existing output', () => {
    const ck = readSafetensors(readFileSync(weights)).tensors;
    ck.delete('stem.0.conv.weight');
    ck.set('head.extra.weight', Tensor.f32([2]));
    ck.set('norm.bias', Tensor.f32([3]));
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, writeSafetensors(ck));
    const out = join(dir, 'keep.onnx');
    writeFileSync(out, 'previous contents');
    const r = vitx(['export', MODEL, '--weights', bad, '-o', out]);
    expectOneLineError(r, 1, /does not match the model: 1 missing: stem\.0\.conv\.weight; 1 unexpected: head\.extra\.weight; 1 mis-shaped: norm\.bias \[3\] \(model expects \[1024\]\)/);
    expect(readFileSync(out, 'utf8')).toBe('previous contents');
    expect(readdirSync(dir).filter((f) => f.includes('vitx-tmp'))).toEqual([]);
  });

  it('never overwrites its input file', () => {
    const f = join(dir, 'ck.onnx');
    writeFileSync(f, readFileSync(weights));
    expectOneLineError(vitx(['export', MODEL, '-w', f, '-o', f]), 1, /refusing to overwrite the input file/);
    expect(readFileSync(f).equals(readFileSync(weights))).toBe(true);
  });

  it('an unwritable output folder fails before any work', () => {
    if (process.getuid?.() === 0) {
      // root ignores permission bits; a path through a regular file is unwritable for everyone
      const f = join(dir, 'plainfile');
      writeFileSync(f, 'x');
      expectOneLineError(vitx(['export', MODEL, '-o', join(f, 'm.onnx')]), 1, /cannot write .*m\.onnx/);
    } else {
      const ro = join(dir, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      expectOneLineError(vitx(['export', MODEL, '-o', join(ro, 'm.onnx')]), 1, /cannot write .*permission denied/);
      expect(existsSync(join(ro, 'm.onnx'))).toBe(false);
    }
  });
});

describe('vitx list', () => {
  it('lists every registered model with its parameter count', () => {
    const r = vitx(['list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/nextvit_small\s+nextvit\s+31,763,368\s+1000\s+224x224\s+multiples of 32/);
    const json = JSON.parse(vitx(['list', '--json']).stdout) as { name: string; params: number; classes: number }[];
    for (const m of json) {
      // references have 1000-class heads (fastvit_mci0's default head has 512 outputs)
      if (hasReference(m.name) && m.classes === 1000) expect(m.params, m.name).toBe(loadReference(m.name).expected.params);
    }
  });
});
