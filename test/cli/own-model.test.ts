/**
 * The own-model flags through the real binary: a fine-tuned 10-class checkpoint exports without
 * flags, --num-classes 0 gives the embedding, a contradicting --num-classes is refused in one line,
 * --features (static, with --target and --dtype fp16) writes the feature maps with their metadata,
 * pretrained tags are model names whose metadata equals timm's pretrained_cfg (fixtures/zoo), and
 * `vitx list --pretrained` lists every tag of the registered architectures.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runOnnx } from '../../src/runtime/ort.js';
import { asNumbers } from '../../src/verify/compare.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { FIXTURES, loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';
import { cutHead, expectSummary } from '../helpers/stages.js';

const MODEL = 'mobilevit_xxs';
let dir: string, ft10: string;

beforeAll(() => {
  dir = tempDir('vitx-own-');
  ft10 = join(dir, 'ft10.safetensors');
  writeFileSync(ft10, writeSafetensors(cutHead(MODEL, referenceCheckpoint(MODEL), 10)));
});

async function run(file: string) {
  const x = referenceInput(MODEL);
  return runOnnx(readFileSync(file), { input: { dtype: 'float32', dims: x.dims, data: x.data } });
}

function metadata(file: string): Record<string, string> {
  const r = vitx(['inspect', file, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { metadata: Record<string, string> }).metadata;
}

describe('head size', () => {
  it('a 10-class checkpoint exports without flags: logits = the first 10 reference logits', async () => {
    const out = join(dir, 'ft10.onnx');
    const r = vitx(['export', MODEL, '--weights', ft10, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/outputs {2}logits 1×10\b/);
    const { expected } = loadReference(MODEL);
    const got = (await run(out))['logits']!;
    expect(got.dims).toEqual([1, 10]);
    const d = Math.max(...expected.logits.slice(0, 10).map((v, i) => Math.abs((got.data as Float32Array)[i]! - v)));
    expect(d).toBeLessThanOrEqual(expected.tolerance_abs);
  });

  it('--num-classes 0: the pooled embedding (reference pre_logits); the checkpoint head is ignored', async () => {
    const out = join(dir, 'emb.onnx');
    const r = vitx(['export', MODEL, '--weights', ft10, '--num-classes', '0', '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    const o = await run(out);
    expect(Object.keys(o)).toEqual(['embeddings']);
    expectSummary(o['embeddings']!, loadReference(MODEL).expected.stages.find((s) => s.name === 'pre_logits')!);
  });

  it('a --num-classes the checkpoint contradicts: one line naming both, exit 1, no file', () => {
    const out = join(dir, 'bad.onnx');
    const r = vitx(['export', MODEL, '--weights', ft10, '--num-classes', '5', '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/ft10\.safetensors has a 10-class head \(head\.fc\.weight \[10, 320\]\) but 5 classes/);
    expect(existsSync(out)).toBe(false);
    expect(vitx(['export', MODEL, '--num-classes', 'x']).code).toBe(2);
    expect(vitx(['export', MODEL, '--features', '--num-classes', '3']).code).toBe(2);
  });

  it('--num-classes N without weights: an N-way head', () => {
    const out = join(dir, 'n7.onnx');
    expect(vitx(['export', 'edgevit_xxs', '--num-classes', '7', '-o', out, '-q']).code).toBe(0);
    expect(vitx(['inspect', out]).stdout).toMatch(/outputs +logits: float32\[1, 7\]/);
  });
});

describe('--features', () => {
  it('static, --target tensorrt, --dtype fp16: outputs features.<i> with channels and reductions; no BatchNormalization', async () => {
    const out = join(dir, 'feat.onnx');
    const r = vitx(['export', MODEL, '--weights', ft10, '--features', '2,3,4', '--target', 'tensorrt', '--dtype', 'fp16', '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/outputs {2}features\.2 1×48×32×32, features\.3 1×64×16×16, features\.4 1×320×8×8 \(reductions \/8 \/16 \/32/);
    const md = metadata(out);
    expect([md['vitx.features'], md['vitx.feature_channels'], md['vitx.feature_reductions'], md['vitx.feature_modules']])
      .toEqual(['2,3,4', '48,64,320', '8,16,32', 'stages.2,stages.3,final_conv']);
    const text = vitx(['inspect', out]).stdout;
    expect(text).toMatch(/features features\.2: stages\.2, 48 channels, reduction 8\n {9}features\.3: stages\.3, 64 channels, reduction 16/);
    expect(text).not.toMatch(/BatchNormalization/);
    const o = await run(out);
    expect(Object.keys(o)).toEqual(['features.2', 'features.3', 'features.4']);
    const stages = loadReference(MODEL).expected.stages;
    // fp16 weights and compute: the maps agree with PyTorch at fp16 precision
    for (const [name, stage] of [['features.2', 'stage2'], ['features.3', 'stage3'], ['features.4', 'final_conv']] as const) {
      const ref = stages.find((s) => s.name === stage)!;
      const got = asNumbers(o[name]!);
      expect(o[name]!.dims).toEqual(ref.shape);
      ref.first8.forEach((v, i) => expect(Math.abs(got[i]! - v)).toBeLessThanOrEqual(2e-2 * ref.max_abs));
    }
  });

  it('a feature index the model lacks is a usage error', () => {
    const r = vitx(['export', MODEL, '--features', '5', '-o', join(dir, 'x.onnx')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--features 5: mobilevit_xxs has feature maps 0…4/);
  });
});

interface ZooCfg { input_size: number[]; mean: number[]; std: number[]; crop_pct: number; interpolation: string; num_classes: number }
const zooTags = (arch: string): Record<string, ZooCfg> =>
  (JSON.parse(readFileSync(join(FIXTURES, 'zoo', `${arch}.json`), 'utf8')) as { pretrained_tags: Record<string, ZooCfg> }).pretrained_tags;

function expectCfgMetadata(md: Record<string, string>, tag: string, cfg: ZooCfg): void {
  expect(md['vitx.pretrained_tag']).toBe(tag);
  expect(md['vitx.input_size']).toBe(`${cfg.input_size[1]}x${cfg.input_size[2]}`);
  expect(md['vitx.mean']!.split(',').map(Number)).toEqual(cfg.mean);
  expect(md['vitx.std']!.split(',').map(Number)).toEqual(cfg.std);
  expect(Number(md['vitx.crop_pct'])).toBe(cfg.crop_pct);
  expect(md['vitx.interpolation']).toBe(cfg.interpolation);
}

describe('pretrained tags', () => {
  it('vitx export nextvit_small.bd_in1k_384: a 384×384 model whose metadata is timm\'s pretrained_cfg', () => {
    const r = vitx(['export', 'nextvit_small.bd_in1k_384'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = join(dir, 'nextvit_small.bd_in1k_384.onnx');
    expect(r.stdout).toMatch(/input 1×3×384×384/);
    const md = metadata(out);
    expectCfgMetadata(md, 'nextvit_small.bd_in1k_384', zooTags('nextvit_small')['nextvit_small.bd_in1k_384']!);
    expect(vitx(['inspect', out]).stdout).toMatch(/preproc {2}384x384, mean 0\.485,0\.456,0\.406, std 0\.229,0\.224,0\.225, crop_pct 1, bicubic resize, tag nextvit_small\.bd_in1k_384/);
  });

  it('a bare architecture takes its default tag; mobilevit_xxs.cvnets_in1k has mean 0, std 1', () => {
    const out = join(dir, 'mv.onnx');
    expect(vitx(['export', MODEL, '-o', out, '-q']).code).toBe(0);
    const cfg = zooTags(MODEL)['mobilevit_xxs.cvnets_in1k']!;
    expect(cfg.mean).toEqual([0, 0, 0]);
    expectCfgMetadata(metadata(out), 'mobilevit_xxs.cvnets_in1k', cfg);
  });

  it('vitx list --pretrained lists every tag of the registered architectures (fixtures/zoo)', () => {
    const models = (JSON.parse(vitx(['list', '--json']).stdout) as { name: string }[]).map((m) => m.name);
    const want = models.filter((m) => existsSync(join(FIXTURES, 'zoo', `${m}.json`))).flatMap((m) => Object.keys(zooTags(m)));
    expect(want.length).toBeGreaterThan(30);
    const r = vitx(['list', '--pretrained', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { tag: string; input_size: string; num_classes: number }[];
    expect(rows.map((x) => x.tag).sort()).toEqual(want.sort());
    const text = vitx(['list', '--pretrained']).stdout;
    for (const t of want) expect(text).toContain(t);
    // every zoo file of a registered architecture is covered, and EdgeViT (not in timm) has no tags
    expect(readdirSync(join(FIXTURES, 'zoo')).some((f) => f.startsWith('edgevit'))).toBe(false);
  });

  it('an unknown tag is a usage error with suggestions', () => {
    const r = vitx(['export', 'mobilevit_xxs.cvnet_in1k']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown pretrained tag 'mobilevit_xxs\.cvnet_in1k'.*mobilevit_xxs\.cvnets_in1k/);
    expect(vitx(['verify', 'nextvit_smal.bd_in1k', '--ep', 'cpu']).code).toBe(2);
  });

  it('export --help documents the flags', () => {
    const h = vitx(['export', '--help']).stdout;
    for (const s of ['--num-classes', '--features', 'pretrained tag', 'embeddings', 'features.<i>']) expect(h).toContain(s);
  });
});
