/**
 * A pass must mean every output was compared. `vitx verify` with a reference that lacks one of the
 * model's outputs (an .onnx file, saved outputs, the default train-time graph) fails in one line
 * naming both output lists (exit 1); `vitx diff` lists an output of one file only as a failed
 * comparison, never "pass" over the common subset.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '../../src/graph/ir.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { serialize } from '../../src/onnx/serialize.js';
import { DEFAULT_PIPELINE } from '../../src/passes/index.js';
import type { Pass } from '../../src/passes/driver.js';
import { compareOutputs } from '../../src/verify/compare.js';
import { verify, VerifyError } from '../../src/verify/verify.js';
import { tempDir, vitx } from '../helpers/cli.js';

const MODEL = 'mobilevit_xxs';
const SIZE = ['--size', '128'];
let dir: string, f4: string, f34: string, g4: string, g4st: string;

const oneLine = (s: string) => s.trim().split('\n');

beforeAll(() => {
  dir = tempDir('vitx-verify-outputs-');
  f4 = join(dir, 'f4.onnx');
  f34 = join(dir, 'f34.onnx');
  expect(vitx(['export', MODEL, ...SIZE, '--features', '4', '-o', f4, '-q']).code).toBe(0);
  expect(vitx(['export', MODEL, ...SIZE, '--features', '3,4', '-o', f34, '-q']).code).toBe(0);
  g4 = join(dir, 'g4.json');
  g4st = join(dir, 'g4.safetensors');
  for (const g of [g4, g4st]) expect(vitx(['verify', f4, '--ep', 'cpu', '--save-outputs', g]).code).toBe(0);
}, 120_000);

describe('vitx verify: every output of the model must be in the reference', () => {
  const both = /the reference's outputs \(features\.4\) are not the model's outputs \(features\.3, features\.4\): features\.3 not in the reference/;

  it('--features 3,4 against a features-4 file: exit 1, one line naming both lists', () => {
    const r = vitx(['verify', MODEL, ...SIZE, '--ep', 'cpu', '--features', '3,4', '--reference', f4]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(both);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stdout).not.toMatch(/PASS/);
  });

  it.each([
    ['--load-outputs', '.json', () => g4], ['--load-outputs', '.safetensors', () => g4st], ['--reference', '.json', () => g4],
  ] as const)('%s with saved outputs (%s) of fewer outputs: exit 1, one line', (flag, _ext, file) => {
    const r = vitx(['verify', MODEL, ...SIZE, '--ep', 'cpu', '--features', '3,4', flag, file()]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(both);
    expect(oneLine(r.stderr)).toHaveLength(1);
  });

  it('the same saved outputs against the model they were saved from still pass (control)', () => {
    const r = vitx(['verify', MODEL, ...SIZE, '--ep', 'cpu', '--features', '4', '--load-outputs', g4]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS on cpu\n$/);
  });

  it('a file against a reference with more outputs: exit 1 (the other direction)', () => {
    const r = vitx(['verify', f4, '--ep', 'cpu', '--reference', f34]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/the reference's outputs \(features\.3, features\.4\) are not the model's outputs \(features\.4\): features\.3 not in the model/);
  });

  it('the default train-time reference: a candidate with an output the reference lacks fails (library)', async () => {
    // a "pass" that exposes an intermediate value as an extra output: the train-time graph has no such output
    const expose: Pass = {
      name: 'expose-extra-output',
      run(g: Graph) {
        const conv = [...g.nodes].find((n) => n.op === 'Conv')!;
        g.outputs.push(conv.output);
        return { counts: {}, folded: 0, removed: 0, rounds: 1 };
      },
    };
    const run = verify({ kind: 'model', model: MODEL }, {
      backends: ['cpu'], tolerance: { atol: 1e-4, rtol: 1e-3 }, size: [128, 128], passes: [...DEFAULT_PIPELINE, expose],
    });
    await expect(run).rejects.toThrow(VerifyError);
    await expect(run).rejects.toThrow(/are not the model's outputs \(logits, .+\): .+ not in the reference$/);
  });
});

describe('compareOutputs: a candidate output the reference lacks is a failed comparison', () => {
  it('lists it as not compared (fail), after the reference outputs', () => {
    const t = (v: number[]) => ({ dtype: 'float32' as const, dims: [v.length], data: Float32Array.from(v) });
    const r = compareOutputs({ y: t([1, 2]), extra: t([3]) }, { y: t([1, 2]) }, { atol: 0, rtol: 0 });
    expect(r.map((c) => [c.name, c.pass])).toEqual([['y', true], ['extra', false]]);
    expect(r[1]!.problem).toMatch(/not in the reference/);
  });
});

describe('vitx diff: outputs of one file only are failed comparisons, not a pass over the rest', () => {
  it('b has an extra output: exit 1, the extra output listed as FAIL, the common one compared', () => {
    const p = parseOnnx(readFileSync(f4));
    const conv = [...p.graph.nodes].find((n) => n.op === 'Conv')!;
    p.graph.outputs.push(conv.output);
    const extra = join(dir, 'extra.onnx');
    writeFileSync(extra, serialize(p.graph, { opset: p.opset }));
    const json = join(dir, 'diff.json');
    const r = vitx(['diff', f4, extra, '--json', json]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain(`output ${conv.output.name} only in b`);
    expect(r.stdout).toMatch(/\n {4}features\.4: pass /);
    expect(r.stdout).toContain(`    ${conv.output.name}: FAIL  (only in b: nothing to compare it with)`);
    expect(r.stdout).toMatch(/diff: cannot show the files are equivalent\n$/);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as { pass: boolean; numeric: { pass: boolean; outputs: { name: string; pass: boolean }[] } };
    expect(rep.pass).toBe(false);
    expect(rep.numeric.pass).toBe(false);
    expect(rep.numeric.outputs.map((o) => [o.name, o.pass])).toEqual([['features.4', true], [conv.output.name, false]]);
  });
});
