/**
 * Filling a built graph's parameters: deterministic init, or a checkpoint validated key by key.
 */
import type { Graph, Value } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { recipeFill } from './recipe.js';
import { resampleRelPosTables } from './resample.js';

export class CheckpointError extends Error {}

/** Parameters a builder created (initializers with an init rule), in creation order. */
export function parameters(g: Graph): Value[] {
  return [...g.initializers.values()].filter((v) => v.initRule !== null);
}

/** Fills every parameter with the deterministic recipe. */
export function initDeterministic(g: Graph): void {
  for (const v of parameters(g)) {
    const shape = v.staticShape();
    const t = new Tensor('float32', shape);
    recipeFill(v.initRule!, v.name, shape, t.data as Float32Array);
    g.setConstant(v, t);
  }
}

/** Integer training counters that a checkpoint may carry and inference ignores. */
export function isIgnorableKey(name: string, t: Tensor): boolean {
  return name.endsWith('num_batches_tracked') && (t.dtype === 'int64' || t.dtype === 'int32') && t.size <= 1;
}

function list(names: string[], max = 6): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, … (${names.length - max} more)`;
}

export interface CheckpointDiff { missing: string[]; unexpected: string[]; misshaped: string[] }

/**
 * Keys missing from the checkpoint, keys the graph has no parameter for, and mis-shaped ones.
 * `unused`: keys of the architecture that this graph does not build (a head left out with
 * numClasses 0, everything after the last feature map): accepted and ignored, whatever their shape.
 */
export function diffCheckpoint(g: Graph, ckpt: ReadonlyMap<string, Tensor>, unused?: ReadonlySet<string>): CheckpointDiff {
  const params = parameters(g);
  const names = new Set(params.map((p) => p.name));
  const missing = params.filter((p) => !ckpt.has(p.name)).map((p) => p.name);
  const unexpected = [...ckpt.entries()].filter(([k, t]) => !names.has(k) && !isIgnorableKey(k, t) && !unused?.has(k)).map(([k]) => k);
  const misshaped: string[] = [];
  for (const p of params) {
    const t = ckpt.get(p.name);
    if (!t) continue;
    const want = p.staticShape();
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) misshaped.push(`${p.name} [${t.shape}] (model expects [${want}])`);
    else if (!['float32', 'float16', 'bfloat16', 'float64'].includes(t.dtype)) misshaped.push(`${p.name} has dtype ${t.dtype} (model expects a float type)`);
  }
  return { missing, unexpected, misshaped };
}

export function describeDiff(d: CheckpointDiff): string {
  const parts: string[] = [];
  if (d.missing.length) parts.push(`${d.missing.length} missing: ${list(d.missing)}`);
  if (d.unexpected.length) parts.push(`${d.unexpected.length} unexpected: ${list(d.unexpected)}`);
  if (d.misshaped.length) parts.push(`${d.misshaped.length} mis-shaped: ${list(d.misshaped, 3)}`);
  return parts.join('; ');
}

/**
 * Copies a checkpoint into the graph's parameters; every mismatch is reported in one error. Keys in
 * `unused` (parts of the architecture this graph leaves out) are accepted and ignored. With
 * `relPosWindow` (the model's attention window), relative-position tables of another window size
 * are first resampled as timm's checkpoint filter does (weights/resample.ts).
 */
export function applyCheckpoint(g: Graph, ckpt: ReadonlyMap<string, Tensor>, what = 'checkpoint', unused?: ReadonlySet<string>, relPosWindow?: readonly [number, number]): void {
  if (relPosWindow) ckpt = resampleRelPosTables(ckpt, new Map(parameters(g).map((p) => [p.name, p.staticShape()])), relPosWindow);
  const d = diffCheckpoint(g, ckpt, unused);
  if (d.missing.length || d.unexpected.length || d.misshaped.length) {
    throw new CheckpointError(`${what} does not match the model: ${describeDiff(d)}`);
  }
  for (const p of parameters(g)) {
    const t = ckpt.get(p.name)!;
    g.setConstant(p, t.dtype === 'float32' ? t : new Tensor('float32', t.shape, t.toFloat32()));
  }
}
