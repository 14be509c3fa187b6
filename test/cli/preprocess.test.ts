/**
 * `vitx export --preprocess / --postprocess` through the real binary: the same uint8 image through
 * the plain file (normalized here in float64 with the tag's mean/std, softmax and top-K here too)
 * and through the wrapped file gives the same numbers on onnxruntime CPU and WASM. Three stems:
 * MobileViT (mean 0, std 1, padded conv: everything folds), FastViT (ImageNet mean, padded conv:
 * the mean stays a Sub), EdgeViT (ImageNet mean, unpadded 4×4 patch conv: everything folds).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMM_ZOO } from '../../src/builders/timm-zoo.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import type { Backend, Outputs } from '../../src/runtime/backend.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { openWasmBackend } from '../../src/runtime/wasm.js';
import { onnxCheck } from '../helpers/checker.js';
import { needs } from '../helpers/prerequisites.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { referenceSafetensors } from '../helpers/reference.js';

let dir: string;
let wasm: Backend;

/** A deterministic "photo": smooth gradients plus noise, every byte value 0…255 in use. */
function image(h: number, w: number, layout: 'nhwc' | 'nchw'): Uint8Array {
  const out = new Uint8Array(h * w * 3);
  let s = 12345;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const v = Math.max(0, Math.min(255, Math.round((c === 0 ? x / w : c === 1 ? y / h : (x + y) / (w + h)) * 255 + ((s >>> 16) % 96) - 48)));
    out[layout === 'nhwc' ? (y * w + x) * 3 + c : (c * h + y) * w + x] = v;
  }
  return out;
}

/** The plain file's input: (x/255 − mean)/std in float64, NCHW float32 (what a user's code does). */
function normalize(img: Uint8Array, h: number, w: number, layout: 'nhwc' | 'nchw', mean: readonly number[], std: readonly number[]): Float32Array {
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) {
    const v = img[layout === 'nhwc' ? i * 3 + c : c * h * w + i]!;
    out[c * h * w + i] = (v / 255 - mean[c]!) / std[c]!;
  }
  return out;
}

function softmax(logits: Float32Array): Float64Array {
  const m = Math.max(...logits);
  const e = Float64Array.from(logits, (v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

interface Case { model: string; args: string[]; layout: 'nhwc' | 'nchw'; size: number; preprocess: RegExp; histogram: Record<string, number> }

const CASES: Case[] = [
  { model: 'mobilevit_xxs', args: ['--input-layout', 'nchw'], layout: 'nchw', size: 256, preprocess: /^uint8 RGB NCHW 0-255, \(x\/255 - mean\)\/std; scale folded into the first conv$/, histogram: { Cast: 1 } },
  { model: 'fastvit_t8', args: ['--postprocess', 'softmax'], layout: 'nhwc', size: 256, preprocess: /^uint8 RGB NHWC 0-255, \(x\/255 - mean\)\/std; scale folded into the first conv, Sub kept as ops$/, histogram: { Transpose: 1, Cast: 1, Sub: 1 } },
  { model: 'edgevit_xxs', args: ['--postprocess', 'topk=5'], layout: 'nhwc', size: 224, preprocess: /^uint8 RGB NHWC 0-255, \(x\/255 - mean\)\/std; scale and mean folded into the first conv$/, histogram: { Transpose: 1, Cast: 1 } },
];

beforeAll(async () => {
  dir = tempDir('vitx-pre-');
  wasm = await openWasmBackend();
});
afterAll(async () => {
  await wasm?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('--preprocess / --postprocess agree with the plain file and host-side normalization', () => {
  for (const c of CASES) {
    it(`${c.model} ${c.args.join(' ')}`, async (ctx) => {
      needs(ctx, 'python3-onnx'); // the ONNX checker is one of the oracles
      const weights = join(dir, `${c.model}.safetensors`);
      writeFileSync(weights, referenceSafetensors(c.model));
      const plain = join(dir, `${c.model}.onnx`), wrapped = join(dir, `${c.model}.pre.onnx`);
      expect(vitx(['export', c.model, '-w', weights, '-o', plain, '-q']).code).toBe(0);
      const r = vitx(['export', c.model, '-w', weights, '-o', wrapped, '--preprocess', ...c.args]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`input 1×${c.layout === 'nhwc' ? `${c.size}×${c.size}×3` : `3×${c.size}×${c.size}`} uint8`));

      // the graph: uint8 input `image`, the preprocessing ops that could not fold, the metadata
      const tag = TIMM_ZOO[c.model]?.defaultTag;
      const cfg = tag ? TIMM_ZOO[c.model]!.pretrained[tag]! : { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
      expect(onnxCheck(readFileSync(wrapped))).toBe('ok 17');
      const g = parseOnnx(readFileSync(wrapped)).graph;
      expect(g.inputs.map((v) => [v.name, v.dtype, v.shape])).toEqual([['image', 'uint8', c.layout === 'nhwc' ? [1, c.size, c.size, 3] : [1, 3, c.size, c.size]]]);
      const pre = [...g.nodes].filter((n) => n.name.startsWith('preprocess/'));
      expect(Object.fromEntries(pre.reduce((m, n) => m.set(n.op, (m.get(n.op) ?? 0) + 1), new Map<string, number>()))).toEqual(c.histogram);
      expect(g.metadata.get('vitx.preprocess')).toMatch(c.preprocess);
      expect(g.metadata.get('vitx.mean')).toBe(cfg.mean.join(','));
      expect(g.metadata.get('vitx.std')).toBe(cfg.std.join(','));

      const img = image(c.size, c.size, c.layout);
      const x = normalize(img, c.size, c.size, c.layout, cfg.mean, cfg.std);
      const plainFeeds = { input: { dtype: 'float32' as const, dims: [1, 3, c.size, c.size], data: x } };
      const imageFeeds = { image: { dtype: 'uint8' as const, dims: g.inputs[0]!.shape as number[], data: img } };
      const runs: [string, (f: string, feeds: Parameters<typeof runOnnx>[1]) => Promise<Outputs>][] = [
        ['cpu', (f, feeds) => runOnnx(readFileSync(f), feeds)],
        ['wasm', (f, feeds) => wasm.run(readFileSync(f), feeds)],
      ];
      for (const [ep, run] of runs) {
        const logits = (await run(plain, plainFeeds))['logits']!.data as Float32Array;
        const out = await run(wrapped, imageFeeds);
        const scale = Math.max(...logits.map(Math.abs));
        if (c.args.length === 2 && c.args[0] === '--input-layout') {
          expect(Object.keys(out)).toEqual(['logits']);
          expect(maxAbsDiff(out['logits']!.data as Float32Array, logits), ep).toBeLessThanOrEqual(1e-4 * scale);
          continue;
        }
        const p = softmax(logits);
        if (c.args[1] === 'softmax') {
          expect(Object.keys(out)).toEqual(['probabilities']);
          expect(maxAbsDiff(out['probabilities']!.data as Float32Array, p), ep).toBeLessThanOrEqual(1e-4 * Math.max(...p));
          continue;
        }
        expect(Object.keys(out).sort()).toEqual(['indices', 'scores']);
        expect(out['indices']!.dtype).toBe('int64');
        const order = [...p.keys()].sort((a, b) => p[b]! - p[a]! || a - b).slice(0, 5);
        expect([...(out['indices']!.data as BigInt64Array)].map(Number), ep).toEqual(order);
        expect(maxAbsDiff(out['scores']!.data as Float32Array, order.map((i) => p[i]!)), ep).toBeLessThanOrEqual(1e-4 * p[order[0]!]!);
      }
    });
  }

  it('usage mistakes are one line, exit 2, no file', () => {
    const out = join(dir, 'bad.onnx');
    const cases: [string[], string][] = [
      [['--postprocess', 'topk=0'], "--postprocess must be softmax or topk=K with K ≥ 1, got 'topk=0'"],
      [['--postprocess', 'argmax'], "--postprocess must be softmax or topk=K with K ≥ 1, got 'argmax'"],
      [['--postprocess', 'topk=1001'], '--postprocess topk=1001: the model has 1000 classes'],
      [['--input-layout', 'nhwc'], '--input-layout needs --preprocess'],
      [['--preprocess', '--input-layout', 'hwc'], "--input-layout must be nhwc or nchw, got 'hwc'"],
      // --layout (the issues' shared name) routes by value: image layouts need --preprocess …
      [['--layout', 'nchw'], '--input-layout needs --preprocess'],
      [['--layout', 'hwc'], "--layout must be nhwc or nchw (image layout, with --preprocess) or official or timm (checkpoint layout), got 'hwc'"],
      // … checkpoint layouts need --weights
      [['--layout', 'official'], '--checkpoint-layout needs --weights'],
    ];
    for (const [args, message] of cases) {
      const r = vitx(['export', 'mobilevit_xxs', '-o', out, ...args]);
      expect(r.stderr, args.join(' ')).toBe(`vitx: error: ${message}\n`);
      expect(r.code).toBe(2);
    }
    expect(() => readFileSync(out)).toThrow();
  });

  it('--layout nchw is --input-layout nchw', () => {
    const out = join(dir, 'layout.onnx');
    const r = vitx(['export', 'mobilevit_xxs', '-o', out, '--preprocess', '--layout', 'nchw', '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const input = parseOnnx(readFileSync(out)).graph.inputs[0]!;
    expect([input.dtype, ...input.shape]).toEqual(['uint8', 1, 3, 256, 256]);
    rmSync(out);
  });

  it('vitx export --help lists the flags', () => {
    const r = vitx(['export', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--pretrained', '--preprocess', '--input-layout <nhwc|nchw>', '--postprocess <softmax|topk=K>']) expect(r.stdout).toContain(flag);
  });
});
