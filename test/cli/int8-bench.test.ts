/** `vitx quantize`, `vitx export --dtype int8` and `vitx bench` as a user runs them. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { onnx } from '../../src/onnx/proto.js';
import { ROOT, tempDir, vitx } from '../helpers/cli.js';
import { needs } from '../helpers/prerequisites.js';

const CAL = join(ROOT, 'fixtures/images/calibration');
const EVAL = join(ROOT, 'fixtures/images/evaluation');
let dir: string, fp32: string;

beforeAll(() => {
  dir = tempDir();
  fp32 = join(dir, 'm.onnx');
  const r = vitx(['export', 'mobileone_s0', '-o', fp32, '-q']);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

describe('vitx quantize', () => {
  it('writes an int8 file with the fidelity report and --json', () => {
    const out = join(dir, 'q.onnx'), json = join(dir, 'q.json');
    const r = vitx(['quantize', fp32, '-o', out, '--calibration', CAL, '--eval', EVAL, '--json', json, '--latency-runs', '2'], { env: { VITX_TEST_LATENCY_MS: 'float32=10,int8=5' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*q\.onnx \([\d.]+ MB, int8/);
    expect(r.stdout).toMatch(/fidelity 4 held-out inputs/);
    expect(r.stdout).toMatch(/pearson \d\.\d{4}, cosine \d\.\d{4}, max rel error/);
    expect(r.stdout).toMatch(/loses most: \S+ \(Conv\)/);
    expect(r.stdout).toMatch(/latency {2}cpu: float32 10\.00 ms, int8 5\.00 ms \(0\.50×/);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(j.written).toBe(true);
    expect(j.fidelity.samples).toHaveLength(4);
    expect(j.quantized.weights).toBeGreaterThan(10);
    expect(r.stdout).toContain(`: ${j.quantized.weights} weights int8 per channel`);
    expect(readFileSync(out).byteLength).toBeLessThan(readFileSync(fp32).byteLength / 2);
  }, 60_000);

  it('--target web: the report names the uint8 weights the file holds (zero point 128)', () => {
    const out = join(dir, 'web.onnx');
    const r = vitx(['quantize', fp32, '-o', out, '--calibration', CAL, '--target', 'web', '--latency-runs', '2'], { env: { VITX_TEST_LATENCY_MS: 'float32=10,int8=5' } });
    expect(r.code, r.stderr).toBe(0);
    const n = Number(/: (\d+) weights uint8 per channel \(zero point 128\)/.exec(r.stdout)?.[1]);
    const m = onnx.ModelProto.decode(readFileSync(out));
    const inits = new Map(m.graph!.initializer!.map((t) => [t.name!, t]));
    // weights: DequantizeLinear of a rank ≥ 2 initializer with per-channel scales (biases are rank 1, int32)
    const weights = m.graph!.node!.filter((x) => x.opType === 'DequantizeLinear' && (inits.get(x.input![0]!)?.dims?.length ?? 0) >= 2 && (inits.get(x.input![1]!)?.dims?.length ?? 0) === 1);
    expect(weights.length).toBe(n);
    for (const w of weights) {
      expect(inits.get(w.input![0]!)!.dataType, w.name!).toBe(onnx.TensorProto.DataType.UINT8);
      const z = inits.get(w.input![2]!)!;
      expect(new Uint8Array(z.rawData!.buffer, z.rawData!.byteOffset, z.rawData!.byteLength).every((v) => v === 128), w.name!).toBe(true);
    }
  }, 60_000);

  it('refuses (exit 1, nothing written) when int8 is slower, unless --force', () => {
    const out = join(dir, 'slow.onnx');
    const env = { VITX_TEST_LATENCY_MS: 'float32=5,int8=9' };
    const r = vitx(['quantize', fp32, '-o', out, '--calibration', CAL, '--latency-runs', '2'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^vitx: error: the int8 file is slower than float32 on cpu \(9\.00 ms vs 5\.00 ms\); .*slow\.onnx not written \(--force/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
    const f = vitx(['quantize', fp32, '-o', out, '--calibration', CAL, '--latency-runs', '2', '--force'], { env });
    expect(f.code, f.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  }, 60_000);

  it('vitx export --dtype int8: float32 export, then the same report; a dynamic batch works', () => {
    const out = join(dir, 'e.onnx');
    const r = vitx(['export', 'mobileone_s0', '--batch', 'dynamic', '--dtype', 'int8', '--calibration', CAL, '-o', out, '--latency-runs', '2'], { env: { VITX_TEST_LATENCY_MS: 'float32=4,int8=3' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*e\.onnx \([\d.]+ MB, opset 17, input N×3×224×224/);
    expect(r.stdout).toMatch(/int8 {5}QDQ for ort: \d+ weights int8 per channel/);
    expect(r.stdout).toMatch(/fidelity 1 held-out input on cpu \(1 of 5 images/);
    expect(r.stdout).toMatch(/latency {2}cpu: float32 4\.00 ms, int8 3\.00 ms \(0\.75×/);
    expect(readFileSync(out).byteLength).toBeGreaterThan(0);
  }, 60_000);

  it('vitx export --dtype int8: the score path as MultiHeadAttention, standard ops with --quantize-attention', () => {
    const env = { VITX_TEST_LATENCY_MS: 'float32=4,int8=3' };
    const mha = join(dir, 'mha.onnx'), std = join(dir, 'std.onnx');
    const a = vitx(['export', 'mobilevit_xxs', '--dtype', 'int8', '--calibration', CAL, '-o', mha, '--latency-runs', '2'], { env });
    expect(a.code, a.stderr).toBe(0);
    const b = vitx(['export', 'mobilevit_xxs', '--dtype', 'int8', '--quantize-attention', '--calibration', CAL, '-o', std, '--latency-runs', '2'], { env });
    expect(b.code, b.stderr).toBe(0);
    const has = (f: string, op: string) => onnx.ModelProto.decode(readFileSync(f)).graph!.node!.some((n) => n.opType === op);
    expect(has(mha, 'MultiHeadAttention')).toBe(true);
    expect(has(mha, 'Softmax')).toBe(false);
    expect(has(std, 'MultiHeadAttention')).toBe(false);
    expect(has(std, 'Softmax')).toBe(true);
  }, 120_000);

  it.each([
    [['quantize', 'x.onnx'], 2, /needs --calibration/],
    [['quantize', 'missing.onnx', '--calibration', CAL], 1, /cannot read ONNX file missing\.onnx: no such file/],
    [['quantize', 'PLACEHOLDER', '--calibration', '/nonexistent-folder'], 1, /cannot read calibration data \/nonexistent-folder/],
    [['quantize', 'PLACEHOLDER', '--calibration', CAL, '--calibration-method', 'magic'], 2, /--calibration-method must be one of minmax, percentile, entropy/],
    [['quantize', 'PLACEHOLDER', '--calibration', CAL, '--target', 'coreml'], 2, /--target must be one of ort, web, tensorrt/],
    [['quantize', 'PLACEHOLDER', '--calibration', 'BADNPY'], 1, /calibration data .*bad\.npy: not a \.npy file/],
    [['quantize', 'PLACEHOLDER', '--calibration', 'WRONGNPY'], 1, /shape \(2, 3, 8, 8\) does not match the model input \[N, 3, 224, 224\]/],
    [['quantize', 'PLACEHOLDER', '--calibration', 'BADIMG'], 1, /image .*broken\.jpg: cannot decode/],
    [['export', 'mobileone_s0', '--dtype', 'int8'], 2, /--dtype int8 needs --calibration/],
    [['export', 'mobileone_s0', '--dtype', 'int4'], 2, /--dtype must be fp32 or fp16, got 'int4' \(or int8, with --calibration\)/],
  ] as const)('bad input %j → exit %i, one line', (args, code, msg) => {
    writeFileSync(join(dir, 'bad.npy'), 'not numpy');
    const npy = join(dir, 'wrong.npy');
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 8, 8), }";
    const pad = 64 - ((10 + header.length + 1) % 64);
    writeFileSync(npy, Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), Buffer.from(Uint16Array.of(header.length + pad + 1).buffer),
      Buffer.from(`${header}${' '.repeat(pad)}\n`), Buffer.alloc(2 * 3 * 64 * 4)]));
    const imgs = join(dir, 'imgs');
    mkdirSync(imgs, { recursive: true });
    writeFileSync(join(imgs, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 1, 2, 3]));
    const map: Record<string, string> = { PLACEHOLDER: fp32, BADNPY: join(dir, 'bad.npy'), WRONGNPY: npy, BADIMG: imgs };
    const r = vitx(args.map((a) => map[a] ?? a), { cwd: dir });
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});

describe('vitx bench', () => {
  it('prints p50/p90 and throughput per backend, and --json', () => {
    const json = join(dir, 'b.json');
    const r = vitx(['bench', fp32, '--ep', 'cpu,wasm', '--runs', '3', '--warmup', '1', '--threads', '1', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 runs after 1 warm-up, batch 1, threads 1, onnxruntime optimizations on/);
    expect(r.stdout).toMatch(/^ {2}cpu +\d+\.\d\d +\d+\.\d\d +\d+\.\d$/m);
    expect(r.stdout).toMatch(/^ {2}wasm +\d+\.\d\d +\d+\.\d\d +\d+\.\d$/m);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(j.results.map((x: { ep: string }) => x.ep)).toEqual(['cpu', 'wasm']);
    for (const x of j.results) {
      expect(x.latency.runs).toBe(3);
      expect(x.latency.p90).toBeGreaterThanOrEqual(x.latency.p50);
    }
  }, 120_000);

  it('browser-wasm: onnxruntime-web in headless Chromium, timed in the page', (ctx) => {
    needs(ctx, 'chromium');
    const r = vitx(['bench', fp32, '--ep', 'browser-wasm', '--runs', '2', '--warmup', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}browser-wasm +\d+\.\d\d +\d+\.\d\d +\d+\.\d$/m);
  }, 120_000);

  it('--profile lists node types by time from onnxruntime\'s profiler', () => {
    const r = vitx(['bench', fp32, '--runs', '2', '--warmup', '1', '--profile']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/profile cpu, top node types/);
    expect(r.stdout).toMatch(/^ {4}Conv +\d+\.\d\d ms +\d+\.\d %$/m);
  }, 60_000);

  it.each([
    [['bench', 'PLACEHOLDER', '--ep', 'tpu'], /--ep: 'tpu' is not a bench backend/],
    [['bench', 'PLACEHOLDER', '--runs', '0'], /--runs must be an integer from 1 to 10000/],
    [['bench', 'PLACEHOLDER', '--threads', '-1'], /--threads must be an integer/],
    [['bench', 'nosuchmodel'], /unknown model/],
  ] as const)('bad flags %j → exit 2, one line', (args, msg) => {
    const r = vitx(args.map((a) => (a === 'PLACEHOLDER' ? fp32 : a)));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
