/**
 * Deterministic parameter initialization from names alone: the `vitx-fnv1a-golden-v1` recipe of
 * the reference data. With no checkpoint, vitx fills every parameter this way, so an export without
 * weights is reproducible anywhere, bit for bit, and the same code rebuilds the reference weights.
 *
 *   u_j = (((j·2654435761 + fnv1a32(name)) mod 2^32) >> 16) / 65536 − 0.5
 *
 * Each value is computed in float64 in the order written below and rounded once to float32.
 */
import type { InitRule } from '../graph/ir.js';

export const RECIPE = 'vitx-fnv1a-golden-v1';

export function fnv1a32(str: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(str)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Fills `out` with the rule's values for tensor `name` of `shape`. */
export function recipeFill(rule: InitRule, name: string, shape: readonly number[], out: Float32Array): Float32Array {
  const h = fnv1a32(name);
  const k = out.length;
  const u = (j: number) => (((Math.imul(j, 2654435761 | 0) + h) >>> 0) >>> 16) / 65536 - 0.5;
  switch (rule) {
    case 'affine_weight': {
      const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
      const s = 2.0 / Math.sqrt(fanIn);
      for (let j = 0; j < k; j++) out[j] = u(j) * s;
      break;
    }
    case 'affine_bias': case 'norm_bias': for (let j = 0; j < k; j++) out[j] = 0.1 * u(j); break;
    case 'norm_weight': for (let j = 0; j < k; j++) out[j] = 1.0 + 0.2 * u(j); break;
    case 'layer_scale': for (let j = 0; j < k; j++) out[j] = 0.5 + 0.5 * u(j); break;
    case 'norm_running_mean': for (let j = 0; j < k; j++) out[j] = 0.1 * u(j); break;
    case 'norm_running_var': for (let j = 0; j < k; j++) out[j] = 0.5 + Math.abs(u(j)); break;
    case 'rel_pos_table': case 'other': for (let j = 0; j < k; j++) out[j] = u(j); break;
  }
  return out;
}

/** The reference input: x_j = 4·u_j for the name "input". */
export function recipeInput(shape: readonly number[], name = 'input'): Float32Array {
  const k = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(k);
  const h = fnv1a32(name);
  for (let j = 0; j < k; j++) out[j] = 4 * ((((Math.imul(j, 2654435761 | 0) + h) >>> 0) >>> 16) / 65536 - 0.5);
  return out;
}
