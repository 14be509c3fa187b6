/**
 * `vitx export --dtype/--io/--target/--external-data` and `vitx inspect` through the real binary:
 * external data that onnxruntime loads from the file path with the reference logits, a crafted
 * model whose external data leaves its folder refused in one line, lint failures that write
 * nothing, inspect's text and JSON, and bad flag values.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { onnx } from '../../src/onnx/proto.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { checkLogits, referenceInput, referenceSafetensors } from '../helpers/reference.js';

const MODEL = 'mobilevit_xxs';
let dir: string;
let weights: string;
let extModel: string;

beforeAll(() => {
  dir = tempDir('vitx-deploy-');
  weights = join(dir, 'w.safetensors');
  writeFileSync(weights, referenceSafetensors(MODEL, true));
  extModel = join(dir, 'm.onnx');
  const r = vitx(['export', MODEL, '--weights', weights, '--external-data', '-o', extModel]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/\n {2}data {5}.*m\.onnx\.data \(5\.\d MB, \d+ tensors; keep it next to m\.onnx\)\n/);
});

function lines(s: string): string[] {
  return s.split('\n').filter((l) => l !== '');
}

describe('vitx export --external-data', () => {
  it('writes a small .onnx and its .onnx.data, which onnxruntime loads with the reference logits', async () => {
    expect(statSync(extModel).size).toBeLessThan(200_000);
    expect(statSync(`${extModel}.data`).size).toBeGreaterThan(5_000_000);
    const x = referenceInput(MODEL);
    const out = await runOnnx(extModel, { input: { dtype: 'float32', dims: x.dims, data: x.data } });
    const c = checkLogits(MODEL, out['logits']!.data as Float32Array);
    expect(c.maxAbsDiff).toBeLessThanOrEqual(c.tolerance);
    expect(c.pass).toBe(true);
  });

  it('vitx inspect reads it (text and JSON)', () => {
    const t = vitx(['inspect', extModel]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^graph {4}mobilevit_xxs \(opset 17, written by vitx\)\nmodel {4}mobilevit_xxs\ninputs {3}input: float32\[1, 3, 256, 256\]\n/);
    expect(t.stdout).toMatch(/\nMACs {5}40\d\.\d\d M \(/);
    expect(t.stdout).toContain('dynamic  none (all shapes static)');
    const j = vitx(['inspect', extModel, '--json', '--target', 'tensorrt']);
    expect(j.code).toBe(0);
    const r = JSON.parse(j.stdout);
    expect(r.params).toBe(1269968); // float initializers of the optimized export (the 9 attention scales are folded into q)
    expect(r.macs).toBeGreaterThan(0.40e9);
    expect(r.macs).toBeLessThan(0.41e9);
    expect(r.maxRank).toBe(6); // MobileViT's unfold, as built
    expect(r.target).toBe('tensorrt');
    expect(r.findings).toEqual([]);
    expect(r.ops.Conv).toBe(35);
  });

  it('vitx inspect --target coreml lists the rank-6 tensors of a plain export and exits 1', () => {
    const r = vitx(['inspect', extModel, '--target', 'coreml']);
    expect(r.code).toBe(1);
    const findings = lines(r.stdout).filter((l) => l.startsWith('  '));
    expect(findings.length).toBeGreaterThan(0);
    for (const l of findings) expect(l).toMatch(/^ {2}error {3}max-rank \S+: \S+ has rank 6 \[[\d, ]+\]; the target allows at most 5$/);
    expect(r.stdout).toMatch(new RegExp(`lint {5}coreml: ${findings.length} errors, 0 warnings`));
  });

  it('refuses a crafted model whose external data leaves its folder: one line, exit 1', () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub, { recursive: true });
    const m = onnx.ModelProto.decode(readFileSync(extModel));
    for (const t of m.graph!.initializer!) for (const kv of t.externalData ?? []) if (kv.key === 'location') kv.value = '../m.onnx.data';
    const evil = join(sub, 'evil.onnx');
    writeFileSync(evil, onnx.ModelProto.encode(m).finish());
    const r = vitx(['inspect', evil]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^vitx: error: \S+evil\.onnx: tensor \S+: external data location '\.\.\/m\.onnx\.data' leaves the model's folder \(\.\.\); vitx reads external data only from the model's folder\n$/);
  });

  it('inspect of a missing file: one line, exit 1', () => {
    const r = vitx(['inspect', join(dir, 'nope.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^vitx: error: cannot read model .*nope\.onnx: no such file\n$/);
  });
});

describe('vitx export --target / --dtype', () => {
  it('--target tensorrt --dtype fp16: lint clean, and inspect agrees', () => {
    const out = join(dir, 'trt16.onnx');
    const r = vitx(['export', MODEL, '--target', 'tensorrt', '--dtype', 'fp16', '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n {2}dtype {4}fp16 \(graph I\/O fp32\): \d+ nodes in float16, \d+ kept in float32, \d+ Casts\n/);
    expect(r.stdout).toContain('  target   tensorrt: lint clean\n');
    const i = vitx(['inspect', out, '--target', 'tensorrt']);
    expect(i.code).toBe(0);
    expect(i.stdout).toContain('lint     tensorrt: 0 errors, 0 warnings, clean');
    expect(i.stdout).toContain('Cast ');
    expect(i.stdout).not.toMatch(/Shape \d/);
  });

  it('--io fp16 writes float16 inputs and outputs', () => {
    const out = join(dir, 'io16.onnx');
    expect(vitx(['export', MODEL, '--dtype', 'fp16', '--io', 'fp16', '-o', out, '-q']).code).toBe(0);
    const r = JSON.parse(vitx(['inspect', out, '--json']).stdout);
    expect([r.inputs[0].dtype, r.outputs[0].dtype]).toEqual(['float16', 'float16']);
    expect(r.metadata['vitx.dtype']).toBe('float16');
  });

  it('a lint error writes nothing: findings on stderr, one per line, then the error line; exit 1', () => {
    const out = join(dir, 'trt13.onnx');
    const r = vitx(['export', 'maxvit_tiny_tf_224', '--target', 'tensorrt', '--opset', '13', '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const ls = lines(r.stderr);
    expect(ls.length).toBeGreaterThan(10);
    for (const l of ls.slice(0, -1)) expect(l).toMatch(/^ {2}error {3}layernorm-opset \S+: LayerNormalization decomposed for opset 13; /);
    expect(ls[ls.length - 1]).toBe(`vitx: error: maxvit_tiny_tf_224 does not pass the tensorrt lint (${ls.length - 1} errors listed above); nothing written`);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.data`)).toBe(false);
  });

  it('bad values are usage errors (exit 2, one line)', () => {
    const cases: [string[], RegExp][] = [
      [['export', MODEL, '--dtype', 'fp8'], /--dtype must be fp32 or fp16, got 'fp8'/],
      [['export', MODEL, '--target', 'tflite'], /--target must be one of ort, tensorrt, coreml, web, got 'tflite'/],
      [['export', MODEL, '--io', 'fp16'], /--io fp16 needs --dtype fp16/],
      [['inspect', extModel, '--target', 'nnapi'], /--target must be one of ort, tensorrt, coreml, web, got 'nnapi'/],
    ];
    for (const [args, msg] of cases) {
      const r = vitx(args, { cwd: dir });
      expect(r.code, args.join(' ')).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  });
});
