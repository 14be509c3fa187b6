/**
 * `vitx verify` behaviour through the real binary on small inputs: reports, exit codes, saved
 * outputs, backends that cannot start, progress only on a terminal, and bad input → one line.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { Tensor } from '../../src/graph/tensor.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { serialize } from '../../src/onnx/serialize.js';
import { recipeInput } from '../../src/weights/recipe.js';
import { seededInputs, readSignature } from '../../src/verify/inputs.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { loadReference, referenceInput } from '../helpers/reference.js';
import { tinyVisionOnnx } from '../helpers/tiny-model.js';

let dir: string, tiny: string, perturbed: string;

/** Exactly one line on stderr, "vitx: error: …", and no stack trace. */
function expectOneLineError(r: { code: number; stdout: string; stderr: string }, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(/^vitx: error: [^\n]+\n$/);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(() => {
  dir = tempDir('vitx-verify-');
  tiny = join(dir, 'tiny.onnx');
  const bytes = tinyVisionOnnx(16, 1);
  writeFileSync(tiny, bytes);
  // the same file with one classifier weight changed by 0.5
  const p = parseOnnx(bytes);
  const w = p.graph.initializers.get('head.weight')!;
  const d = Float32Array.from(w.constant!.data as Float32Array);
  d[3]! += 0.5;
  p.graph.setConstant(w, new Tensor('float32', w.constant!.shape, d));
  perturbed = join(dir, 'perturbed.onnx');
  writeFileSync(perturbed, serialize(p.graph, { opset: p.opset }));
});

describe('vitx verify (small inputs)', () => {
  it('seed 0 feeds exactly the reference input of fixtures/reference', () => {
    const sig = { inputs: [{ name: 'input', dtype: 'float32' as const, shape: [1, 3, 224, 224] }], outputs: [], opset: 17 };
    expect(Array.from(seededInputs(sig, { seed: 0, batch: 1 })['input']!.data as Float32Array)).toEqual(Array.from(referenceInput('nextvit_small').data));
    expect(loadReference('nextvit_small').expected.input.first8).toEqual(Array.from(recipeInput([1, 3, 224, 224]).slice(0, 8)));
    // a symbolic batch dimension takes --batch; another seed gives other values
    const dyn = { ...sig, inputs: [{ name: 'input', dtype: 'float32' as const, shape: ['N', 3, 8, 8] }] };
    const s1 = seededInputs(dyn, { seed: 1, batch: 2 })['input']!;
    expect(s1.dims).toEqual([2, 3, 8, 8]);
    expect((s1.data as Float32Array)[0]).not.toBe((seededInputs(dyn, { seed: 0, batch: 2 })['input']!.data as Float32Array)[0]);
    const hw = { ...sig, inputs: [{ name: 'input', dtype: 'float32' as const, shape: ['N', 3, 'H', 8] }] };
    expect(() => seededInputs(hw, { seed: 0, batch: 1 })).toThrow(/input input has a symbolic dimension 'H' at axis 2/);
  });

  it('a model name: the optimized export equals the train-time graph on cpu and wasm', () => {
    const json = join(dir, 'm0.json');
    const r = vitx(['verify', 'mobileone_s0', '--size', '64', '--ep', 'cpu,wasm', '--json', json]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^verify mobileone_s0\n {2}candidate {2}mobileone_s0 optimized \(default pipeline, opset 17, deterministic init\)\n {2}reference {2}mobileone_s0 train-time graph \(no passes\) on cpu\n {2}inputs {5}input float32\[1,3,64,64\] \(seed 0\)\n/);
    expect(r.stdout).toMatch(/\n {2}cpu {13}pass {8}/);
    expect(r.stdout).toMatch(/verify mobileone_s0: PASS on cpu, wasm\n$/);
    const rep = JSON.parse(readFileSync(json, 'utf8'));
    expect(rep.pass).toBe(true);
    expect(rep.backends).toEqual(['cpu', 'wasm']);
    expect(rep.targets[0].tolerance).toEqual({ atol: 1e-4, rtol: 1e-3 });
    for (const b of rep.targets[0].backends) {
      expect(b.status).toBe('pass');
      expect(b.description).toMatch(b.backend === 'cpu' ? /onnxruntime-node, CPU/ : /onnxruntime-web/);
      expect(Number.isFinite(b.outputs[0].abs.max) && Number.isFinite(b.outputs[0].abs.median)).toBe(true);
      expect(b.outputs[0].classes).toEqual({ rows: 1, k: 5, argmaxAgree: 1, topkAgree: 1 });
    }
  });

  it('a file: compared with itself on cpu by default; several targets in one run', () => {
    const r = vitx(['verify', tiny, perturbed, '--ep', 'cpu,wasm']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/reference {2}.*tiny\.onnx on cpu/);
    expect(r.stdout.match(/: PASS on cpu, wasm\n/g)).toHaveLength(2);
  });

  it('--reference file.onnx: a changed weight fails with statistics, exit 1, and the JSON report says why', () => {
    const json = join(dir, 'fail.json');
    const r = vitx(['verify', perturbed, '--reference', tiny, '--ep', 'cpu', '--json', json]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/\n {2}cpu {13}FAIL {8}/);
    expect(r.stdout).toMatch(/\d+ of 10 elements beyond tolerance; worst at element \d+: /);
    expect(r.stdout).toMatch(/verify .*perturbed\.onnx: FAIL on cpu \(mismatch\)\n$/);
    const rep = JSON.parse(readFileSync(json, 'utf8'));
    expect(rep.pass).toBe(false);
    const c = rep.targets[0].backends[0].outputs[0];
    expect(c.pass).toBe(false);
    expect(c.needsAtol).toBeGreaterThan(1e-4);
    // the reported tolerance is the smallest that passes
    expect(vitx(['verify', perturbed, '--reference', tiny, '--ep', 'cpu', '--atol', String(c.needsAtol * 1.001)]).code).toBe(0);
  });

  for (const ext of ['json', 'safetensors']) {
    it(`--save-outputs / --load-outputs (.${ext}) keep inputs and outputs; a later run compares against them`, () => {
      const golden = join(dir, `golden.${ext}`);
      const r1 = vitx(['verify', tiny, '--ep', 'cpu', '--seed', '5', '--save-outputs', golden]);
      expect(r1.code).toBe(0);
      expect(existsSync(golden)).toBe(true);
      const r2 = vitx(['verify', tiny, '--ep', 'wasm', '--load-outputs', golden]);
      expect(r2.code, r2.stdout).toBe(0);
      expect(r2.stdout).toMatch(/reference {2}saved outputs .*golden\./);
      expect(r2.stdout).not.toMatch(/\(seed/); // the saved inputs were used
      expect(vitx(['verify', perturbed, '--ep', 'cpu', '--load-outputs', golden]).code).toBe(1);
    });
  }

  it('a backend that cannot start: one line saying why, and the run fails unless it is excluded', () => {
    const env = { VK_ICD_FILENAMES: '/nonexistent/icd.json', VITX_CHROMIUM: '/nonexistent/chromium' };
    const r = vitx(['verify', tiny, '--ep', 'cpu,webgpu,browser-wasm'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/\n {2}webgpu {10}unavailable webgpu: no WebGPU adapter — install chromium for SwiftShader \(apt-get install chromium\) or run on a GPU\n/);
    expect(r.stdout).toMatch(/\n {2}browser-wasm {4}unavailable browser-wasm: no Chromium at \/nonexistent\/chromium — install chromium \(apt-get install chromium\) or set VITX_CHROMIUM\n/);
    expect(r.stdout).toMatch(/FAIL on webgpu \(unavailable\), browser-wasm \(unavailable\); pass on cpu\n$/);
    expect(vitx(['verify', tiny, '--ep', 'cpu'], { env }).code).toBe(0);
  });

  it('progress lines on stderr only when it is a terminal', async () => {
    for (const isTTY of [true, false]) {
      let out = '', err = '';
      const code = await main(['node', 'vitx', 'verify', tiny, '--ep', 'cpu,wasm'], { out: (s) => { out += s; }, err: (s) => { err += s; }, isTTY });
      expect(code).toBe(0);
      expect(out).toMatch(/PASS on cpu, wasm/);
      if (isTTY) {
        expect(err).toMatch(new RegExp(`verify ${tiny}: cpu…\\nverify ${tiny}: cpu pass \\(\\d+\\.\\d s\\)\\nverify ${tiny}: wasm…\\n`));
      } else expect(err).toBe('');
    }
  });

  describe('bad input: one line, non-zero exit, no stack trace, nothing written', () => {
    const cases: [string, () => string[], number, RegExp][] = [
      ['missing file', () => ['verify', join(dir, 'missing.onnx')], 1, /cannot read model file .*missing\.onnx: no such file/],
      ['malformed ONNX', () => { const f = join(dir, 'bad.onnx'); writeFileSync(f, 'this is not a protobuf\n'.repeat(3)); return ['verify', f, '--ep', 'cpu']; }, 1, /not a valid ONNX file/],
      ['empty ONNX', () => { const f = join(dir, 'empty.onnx'); writeFileSync(f, ''); return ['verify', f, '--ep', 'cpu']; }, 1, /not a valid ONNX file \(no graph\)/],
      ['unknown ep', () => ['verify', tiny, '--ep', 'cpu,gpu'], 2, /--ep: unknown backend 'gpu' \(choose from cpu, webgpu, wasm, browser-webgpu, browser-wasm, or all\)/],
      ['empty ep', () => ['verify', tiny, '--ep', ','], 2, /--ep needs at least one backend/],
      ['bad atol', () => ['verify', tiny, '--atol', '-1'], 2, /--atol must be a non-negative number, got '-1'/],
      ['bad rtol', () => ['verify', tiny, '--rtol', 'abc'], 2, /--rtol must be a non-negative number, got 'abc'/],
      ['bad seed', () => ['verify', tiny, '--seed', '1.5'], 2, /--seed must be an integer/],
      ['bad batch', () => ['verify', tiny, '--batch', '0'], 2, /--batch must be a positive integer/],
      ['unknown model', () => ['verify', 'nextvit_smal'], 2, /unknown model 'nextvit_smal' \(did you mean nextvit_small/],
      ['--size for a file', () => ['verify', tiny, '--size', '64'], 2, /--size and --weights apply to model names/],
      ['missing saved outputs', () => ['verify', tiny, '--load-outputs', join(dir, 'nope.json')], 1, /cannot read saved outputs .*nope\.json: no such file/],
      ['malformed saved outputs', () => { const f = join(dir, 'g.json'); writeFileSync(f, '{"outputs": 3}'); return ['verify', tiny, '--load-outputs', f]; }, 1, /expected an object with "outputs"/],
      ['saved outputs for another model', () => { const f = join(dir, 'other.json'); writeFileSync(f, '{"inputs":{"x":{"dims":[1],"data":[0]}},"outputs":{"y":{"data":[1]}}}'); return ['verify', tiny, '--load-outputs', f, '--ep', 'cpu']; }, 1, /has no input 'input'/],
      ['wrong --save-outputs extension', () => ['verify', tiny, '--save-outputs', join(dir, 'out.txt')], 2, /--save-outputs must end in \.json or \.safetensors/],
      ['both references', () => ['verify', tiny, '--reference', tiny, '--load-outputs', join(dir, 'x.json')], 2, /either --reference or --load-outputs/],
      ['--json into a missing folder', () => ['verify', tiny, '--ep', 'cpu', '--json', join(dir, 'no', 'dir', 'r.json')], 1, /cannot write .*r\.json/],
      ['weights that do not fit', () => { const f = join(dir, 'w.safetensors'); writeFileSync(f, new Uint8Array(16)); return ['verify', 'mobileone_s0', '--weights', f, '--ep', 'cpu']; }, 1, /weights file/],
    ];
    for (const [what, args, code, pattern] of cases) {
      it(what, () => {
        const a = args(); // may write the bad input file first
        const before = new Set(readdirSync(dir));
        const r = vitx(a);
        expectOneLineError(r, code, pattern);
        expect(r.stdout).toBe('');
        expect(readdirSync(dir).filter((f) => !before.has(f))).toEqual([]);
      });
    }
  });
});
