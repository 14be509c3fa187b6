/**
 * `vitx export --dtype int8` with `--preprocess` / `--postprocess`, through the real binary: the
 * wraps go on after quantization, so the int8 file takes the uint8 photo. Oracle: the float32
 * `--preprocess` file of the same checkpoint on the same photo (real photos, fixtures/images/
 * evaluation, not the calibration set) on onnxruntime CPU: Pearson ≥ 0.99 per photo; the top-K
 * wrap equals softmax + top-K computed here from the int8 file's logits.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { decodeImage, preprocessImage } from '../../src/quant/images.js';
import { preprocessCfg } from '../../src/quant/pretrained-cfg.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { ROOT, tempDir, vitx } from '../helpers/cli.js';
import { referenceSafetensors } from '../helpers/reference.js';

const MODEL = 'mobileone_s0';
const CAL = join(ROOT, 'fixtures/images/calibration');
const EVAL = join(ROOT, 'fixtures/images/evaluation');
const ENV = { VITX_TEST_LATENCY_MS: 'float32=10,int8=5' }; // the latency refusal is tested elsewhere
let dir: string, fp32: string, int8: string, int8Top5: string;

function exportFile(name: string, args: string[]): string {
  const out = join(dir, name);
  const latency = args.includes('int8') ? ['--latency-runs', '2'] : [];
  const r = vitx(['export', MODEL, '-w', join(dir, 'w.safetensors'), '--preprocess', ...args, ...latency, '-o', out, '-q'], { env: ENV });
  expect(r.code, r.stderr).toBe(0);
  return out;
}

/** A photo resized and center-cropped as the tag says, as uint8 NHWC [1, H, W, 3]. */
function photo(file: string, h: number, w: number): Uint8Array {
  const cfg = { ...preprocessCfg(MODEL, [h, w]), mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };
  const chw = preprocessImage(decodeImage(readFileSync(file), file), cfg); // x/255 in [0, 1]
  const out = new Uint8Array(h * w * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) out[i * 3 + c] = Math.round(255 * chw[c * h * w + i]!);
  return out;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]! / n; mb += b[i]! / n; }
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) { const x = a[i]! - ma, y = b[i]! - mb; ab += x * y; aa += x * x; bb += y * y; }
  return ab / Math.sqrt(aa * bb);
}

const run = (file: string, img: Uint8Array) => runOnnx(readFileSync(file), { image: { dtype: 'uint8', dims: [1, 224, 224, 3], data: img } });

beforeAll(() => {
  dir = tempDir('vitx-int8-pre-');
  writeFileSync(join(dir, 'w.safetensors'), referenceSafetensors(MODEL));
  fp32 = exportFile('fp32.onnx', []);
  int8 = exportFile('int8.onnx', ['--dtype', 'int8', '--calibration', CAL]);
  int8Top5 = exportFile('int8-top5.onnx', ['--dtype', 'int8', '--calibration', CAL, '--postprocess', 'topk=5']);
}, 120_000);

describe('vitx export --dtype int8 --preprocess', () => {
  it('the int8 graph takes the uint8 image; its normalization stays float ops before the first QuantizeLinear', () => {
    const g = parseOnnx(readFileSync(int8)).graph;
    expect(g.inputs.map((v) => [v.name, v.dtype, v.shape])).toEqual([['image', 'uint8', [1, 224, 224, 3]]]);
    expect(g.outputs.map((v) => v.name)).toEqual(['logits']);
    const ops = g.opHistogram();
    expect(ops.get('QuantizeLinear')).toBeGreaterThan(10);
    expect(g.metadata.get('vitx.preprocess')).toBe('uint8 RGB NHWC 0-255, (x/255 - mean)/std; nothing folded, Sub and Mul kept as ops');
  });

  it('agrees with the float32 --preprocess file on real photos (Pearson ≥ 0.99), and is not the float file', async () => {
    const photos = readdirSync(EVAL).filter((f) => /\.(jpe?g|png)$/i.test(f));
    expect(photos.length).toBeGreaterThanOrEqual(2);
    for (const p of photos) {
      const img = photo(join(EVAL, p), 224, 224);
      const a = (await run(fp32, img))['logits']!.data as Float32Array;
      const b = (await run(int8, img))['logits']!.data as Float32Array;
      expect(a.length).toBe(1000);
      expect(pearson(a, b), p).toBeGreaterThanOrEqual(0.99);
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!))), p).toBeGreaterThan(0); // quantized: not bit-identical
    }
  });

  it('--postprocess topk=5 on the int8 file: the top 5 of softmax(int8 logits)', async () => {
    const img = photo(join(EVAL, readdirSync(EVAL).find((f) => /\.jpe?g$/i.test(f))!), 224, 224);
    const logits = (await run(int8, img))['logits']!.data as Float32Array;
    const o = await run(int8Top5, img);
    const m = Math.max(...logits);
    const e = Array.from(logits, (v) => Math.exp(v - m));
    const sum = e.reduce((s, v) => s + v, 0);
    const want = e.map((v, i) => [v / sum, i] as const).sort((x, y) => y[0] - x[0]).slice(0, 5);
    expect(Array.from(o['indices']!.data as BigInt64Array, Number)).toEqual(want.map((x) => x[1]));
    (o['scores']!.data as Float32Array).forEach((s, i) => expect(s).toBeCloseTo(want[i]![0], 5));
  });
});
