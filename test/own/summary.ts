/** A tensor against a reference stage summary (shape, mean, std, max_abs, first8) at 1e-4 · max_abs. */
import { expect } from 'vitest';
import type { HostTensor } from '../../src/runtime/ort.js';
import { asNumbers } from '../../src/verify/compare.js';
import type { Stage } from '../helpers/reference.js';

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
