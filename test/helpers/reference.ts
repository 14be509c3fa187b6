/**
 * Reference data (fixtures/reference/<model>, copied from the PyTorch harness): rebuild the
 * reference checkpoint from the weight recipe + BatchNorm statistics, the reference input, and the
 * logits check `max|got − expected| ≤ 1e-4 · max|expected|`.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { InitRule } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { recipeFill, recipeInput } from '../../src/weights/recipe.js';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');

export interface KeyEntry { name: string; shape: number[]; dtype: string; rule: string; owner: string }
export interface Keys {
  model: string;
  float_tensors: KeyEntry[];
  integer_buffers: { name: string; shape: number[]; dtype: string; state_dict_index: number }[];
  weights_file_metadata: Record<string, string>;
  state_dict_reparam: { name: string; shape: number[]; dtype: string }[] | null;
}
export interface Stage { name: string; module: string; shape: number[]; mean: number; std: number; max_abs: number; first8: number[] }
export interface Expected {
  model: string;
  resolution: [number, number];
  params: number;
  params_after_reparam: number | null;
  /** Classifier outputs of the reference model (1000; fastvit_mci0's default head has 512). */
  num_classes: number;
  logits: number[];
  argmax: number;
  tolerance_abs: number;
  weights_sha256: string;
  input: { first8: number[]; sum: number };
  stages: Stage[];
}

export function hasReference(model: string): boolean {
  return existsSync(join(FIXTURES, 'reference', model, 'keys.json'));
}

export function loadReference(model: string): { keys: Keys; expected: Expected; bnStats: Map<string, Tensor> } {
  const dir = join(FIXTURES, 'reference', model);
  const keys = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8')) as Keys;
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const bnStats = readSafetensors(readFileSync(join(dir, 'bn_stats.safetensors'))).tensors;
  return { keys, expected, bnStats };
}

/** The reference weights, in state_dict order: recipe values with the calibrated BN statistics overlaid. */
export function referenceCheckpoint(model: string): Map<string, Tensor> {
  const { keys, bnStats } = loadReference(model);
  const out = new Map<string, Tensor>();
  for (const e of keys.float_tensors) {
    const calibrated = bnStats.get(e.name);
    if (calibrated) { out.set(e.name, calibrated); continue; }
    if (e.rule.startsWith('bn_calibrated')) throw new Error(`${model}: ${e.name} should come from bn_stats`);
    const t = new Tensor('float32', e.shape);
    recipeFill(e.rule as InitRule, e.name, e.shape, t.data as Float32Array);
    out.set(e.name, t);
  }
  return out;
}

/** The reference checkpoint as a .safetensors file, optionally with num_batches_tracked counters like a real timm file. */
export function referenceSafetensors(model: string, withCounters = true): Uint8Array {
  const { keys } = loadReference(model);
  const ck = referenceCheckpoint(model);
  const entries: [string, Tensor][] = [...ck.entries()];
  if (withCounters) for (const b of keys.integer_buffers) entries.push([b.name, Tensor.i64([12345], [])]);
  return writeSafetensors(entries, keys.weights_file_metadata);
}

export function referenceInput(model: string): { data: Float32Array; dims: number[] } {
  const { expected } = loadReference(model);
  const [h, w] = expected.resolution;
  const dims = [1, 3, h, w];
  return { data: recipeInput(dims), dims };
}

export interface LogitCheck { maxAbsDiff: number; tolerance: number; pass: boolean; argmax: number; expectedArgmax: number }

export function checkLogits(model: string, got: ArrayLike<number>): LogitCheck {
  const { expected } = loadReference(model);
  let maxAbsDiff = 0, argmax = 0;
  for (let i = 0; i < expected.logits.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[i]! - expected.logits[i]!));
    if (got[i]! > got[argmax]!) argmax = i;
  }
  const maxExp = Math.max(...expected.logits.map(Math.abs));
  const tolerance = 1e-4 * maxExp;
  return { maxAbsDiff, tolerance, pass: maxAbsDiff <= tolerance && argmax === expected.argmax, argmax, expectedArgmax: expected.argmax };
}
