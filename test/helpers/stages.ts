/** Reference stage summaries (fixtures/reference/<model>/expected.json `stages`) and heads cut from reference checkpoints. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Tensor } from '../../src/graph/tensor.js';
import type { HostTensor } from '../../src/runtime/ort.js';
import { asNumbers } from '../../src/verify/compare.js';
import { FIXTURES, type Stage } from './reference.js';

export function summarize(x: ArrayLike<number>): { mean: number; std: number; maxAbs: number; first8: number[] } {
  let sum = 0, maxAbs = 0;
  for (let i = 0; i < x.length; i++) { sum += x[i]!; maxAbs = Math.max(maxAbs, Math.abs(x[i]!)); }
  const mean = sum / x.length;
  let sq = 0;
  for (let i = 0; i < x.length; i++) sq += (x[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(sq / x.length), maxAbs, first8: Array.from({ length: 8 }, (_, i) => x[i]!) };
}

export function expectSummary(t: HostTensor, stage: Stage, data: ArrayLike<number> = asNumbers(t)): void {
  expect(t.dims.slice(1), stage.name).toEqual(stage.shape.slice(1));
  const s = summarize(data);
  const tol = 1e-4 * stage.max_abs;
  const what = `${stage.name} (tolerance ${tol})`;
  expect(Math.abs(s.mean - stage.mean), `${what} mean`).toBeLessThanOrEqual(tol);
  expect(Math.abs(s.std - stage.std), `${what} std`).toBeLessThanOrEqual(tol);
  expect(Math.abs(s.maxAbs - stage.max_abs), `${what} max_abs`).toBeLessThanOrEqual(tol);
  s.first8.forEach((v, i) => expect(Math.abs(v - stage.first8[i]!), `${what} first8[${i}]`).toBeLessThanOrEqual(tol));
}

/** The classifier module: timm's pretrained_cfg `classifier` (fixtures/zoo), `head` for EdgeViT (official code). */
export function classifierModule(model: string): string {
  const zoo = join(FIXTURES, 'zoo', `${model}.json`);
  if (!existsSync(zoo)) return 'head';
  const tags = Object.values((JSON.parse(readFileSync(zoo, 'utf8')) as { pretrained_tags: Record<string, { classifier: string }> }).pretrained_tags);
  return tags[0]?.classifier ?? 'head.fc';
}

/** The first `n` rows of the classifier weight [classes, …] and bias [classes]. */
export function cutHead(model: string, ckpt: Map<string, Tensor>, n: number): Map<string, Tensor> {
  const out = new Map(ckpt);
  const m = classifierModule(model);
  for (const key of [`${m}.weight`, `${m}.bias`]) {
    const t = ckpt.get(key)!;
    const row = t.size / t.shape[0]!;
    out.set(key, new Tensor('float32', [n, ...t.shape.slice(1)], (t.data as Float32Array).slice(0, n * row)));
  }
  return out;
}

