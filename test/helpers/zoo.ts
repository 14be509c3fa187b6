/**
 * The timm zoo (fixtures/zoo): every architecture of the five timm families by name, its index
 * entry and state_dict, and the export smoke check shared by test/models/zoo*.test.ts.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { getModel } from '../../src/builders/registry.js';
import { Builder } from '../../src/graph/builder.js';
import { resolveModelName } from '../../src/builders/pretrained.js';
import { exportModel } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { recipeInput } from '../../src/weights/recipe.js';
import { expectStatic } from './models.js';
import { FIXTURES } from './reference.js';

/** The 57 architectures of fixtures/zoo/index.json, listed so that a missing builder fails by name. */
export const ARCHITECTURES: Readonly<Record<string, readonly string[]>> = {
  nextvit: ['nextvit_small', 'nextvit_base', 'nextvit_large'],
  mobilevit: [
    'mobilevit_xxs', 'mobilevit_xs', 'mobilevit_s',
    'mobilevitv2_050', 'mobilevitv2_075', 'mobilevitv2_100', 'mobilevitv2_125', 'mobilevitv2_150', 'mobilevitv2_175', 'mobilevitv2_200',
  ],
  fastvit: [
    'fastvit_t8', 'fastvit_t12', 'fastvit_s12', 'fastvit_sa12', 'fastvit_sa24', 'fastvit_sa36', 'fastvit_ma36',
    'fastvit_mci0', 'fastvit_mci1', 'fastvit_mci2', 'fastvit_mci3', 'fastvit_mci4',
  ],
  mobileone: ['mobileone_s0', 'mobileone_s1', 'mobileone_s2', 'mobileone_s3', 'mobileone_s4'],
  maxvit: [
    'maxvit_tiny_tf_224', 'maxvit_tiny_tf_384', 'maxvit_tiny_tf_512',
    'maxvit_small_tf_224', 'maxvit_small_tf_384', 'maxvit_small_tf_512',
    'maxvit_base_tf_224', 'maxvit_base_tf_384', 'maxvit_base_tf_512',
    'maxvit_large_tf_224', 'maxvit_large_tf_384', 'maxvit_large_tf_512',
    'maxvit_xlarge_tf_224', 'maxvit_xlarge_tf_384', 'maxvit_xlarge_tf_512',
    'maxvit_pico_rw_256', 'maxvit_nano_rw_256', 'maxvit_tiny_rw_224', 'maxvit_tiny_rw_256',
    'maxvit_rmlp_pico_rw_256', 'maxvit_rmlp_nano_rw_256', 'maxvit_rmlp_tiny_rw_256',
    'maxvit_rmlp_small_rw_224', 'maxvit_rmlp_small_rw_256', 'maxvit_rmlp_base_rw_224', 'maxvit_rmlp_base_rw_384',
    'maxvit_tiny_pm_256',
  ],
};

export const ZOO_ARCHITECTURES = Object.entries(ARCHITECTURES).flatMap(([family, names]) => names.map((name) => ({ family, name })));

/** timm's `feature_info` of an architecture: module, channels, reduction (what `features_only=True` returns). */
export function zooFeatureInfo(name: string): { module: string; num_chs: number; reduction: number }[] {
  return (JSON.parse(readFileSync(join(ZOO, `${name}.json`), 'utf8')) as { feature_info: { module: string; num_chs: number; reduction: number }[] }).feature_info;
}

/** The builder's `b.feature()` taps at the default size have timm's feature_info channels and reductions, in order. */
export function expectFeatureTaps(name: string): void {
  const spec = getModel(name);
  const [h, w] = spec.defaultSize;
  const b = Builder.create(name, { numClasses: spec.numClasses });
  spec.build(b, b.input('input', { dtype: 'float32', shape: [1, 3, h, w] }), [h, w]);
  expect(b.ctx.features.map((v) => v.shape)).toEqual(zooFeatureInfo(name).map((f) => [1, f.num_chs, h / f.reduction, w / f.reduction]));
}

export interface ZooIndexEntry {
  family: string;
  params_1000_classes: number;
  params_default_head: number;
  default_num_classes: number;
  default_input_size: [number, number, number];
}

const ZOO = join(FIXTURES, 'zoo');
export const ZOO_INDEX = JSON.parse(readFileSync(join(ZOO, 'index.json'), 'utf8')) as Record<string, ZooIndexEntry>;

/** `[key, shape, dtype, recipe rule]` of every state_dict entry (1000-class head), in order. */
export function zooStateDict(name: string): [string, number[], string, string][] {
  return (JSON.parse(readFileSync(join(ZOO, `${name}.json`), 'utf8')) as { state_dict: [string, number[], string, string][] }).state_dict;
}

/**
 * Above this many parameters an export smoke run takes tens of seconds to minutes and GBs of
 * memory (build, fold, serialize and an onnxruntime session of a ≥ 0.5 GB model): those run in
 * test/models/zoo-heavy.test.ts, a file (worker) of their own.
 */
export const HEAVY_PARAMS = 100e6;
export const isHeavy = (name: string): boolean => ZOO_INDEX[name]!.params_1000_classes > HEAVY_PARAMS;

/**
 * The optimized export (default pipeline, deterministic weights) at the default size has no
 * BatchNormalization and no run-time shape ops, and runs on onnxruntime CPU with finite outputs.
 */
export async function expectExportRuns(name: string): Promise<void> {
  const z = ZOO_INDEX[name]!;
  const [, h, w] = z.default_input_size;
  let r: ReturnType<typeof exportModel> | null = exportModel(name, { dataLocation: 'model.onnx.data' });
  expect(r.nodesAfter.has('BatchNormalization'), 'BatchNormalization left').toBe(false);
  expectStatic(r.graph);
  // above 2 GB (maxvit_xlarge_tf_512) the export has external data: onnxruntime reads it from a folder
  let model: Uint8Array | string = r.bytes;
  const dir = r.external ? mkdtempSync(join(tmpdir(), 'vitx-zoo-')) : null;
  if (dir && r.external) {
    const fd = openSync(join(dir, 'model.onnx.data'), 'w'); // > 2 GB: chunk by chunk, no single Buffer
    try { for (const c of r.external.data) writeSync(fd, c); } finally { closeSync(fd); }
    writeFileSync(join(dir, 'model.onnx'), r.bytes);
    model = join(dir, 'model.onnx');
  }
  r = null; // the graph's tensors can go before onnxruntime copies the model
  const dims = [1, 3, h, w];
  try {
    const out = await runOnnx(model, { input: { dtype: 'float32', dims, data: recipeInput(dims) } });
    const logits = out['logits']!;
    // timm.create_model(name) takes its head size from the default pretrained tag (maxvit_xlarge_tf_224:
    // in21k, 21843 classes; the zoo index's default_num_classes says 1000 there), else the zoo's
    expect(logits.dims).toEqual([1, resolveModelName(name).cfg?.num_classes ?? z.default_num_classes]);
    expect((logits.data as Float32Array).every(Number.isFinite)).toBe(true);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
