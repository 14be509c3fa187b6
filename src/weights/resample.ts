/**
 * Relative-position bias tables of a checkpoint trained at another window size, resampled as
 * timm v1.0.28 loads them (`maxxvit.checkpoint_filter_fn` → `layers/pos_embed_rel.py`
 * `resize_rel_pos_bias_table`, the default non-scipy path), reproduced in float32 step by step:
 *
 *   A table holds one value per offset d ∈ [−(s−1)/2, (s−1)/2]² of a (2w−1)-wide offset grid, as
 *   [heads, sh, sw] (RelPosBiasTf) or [sh·sw, heads] (RelPosBias, sh = sw assumed, as timm does).
 *   Source offsets are spread geometrically so that the table's edge reaches the target's:
 *     q = the bisection of 1 + q + … + q^(s//2 − 1) > t//2 over [1.01, 1.5] down to 1e-6 (float64),
 *     positions  −Σ…, −(1+q), −1, 0, 1, 1+q, 1+q+q², …   (cumulative sums of q^i, then float32);
 *   target offsets are the integers −t//2 … t//2, and each target value is the bilinear
 *   interpolation (timm's RegularGridInterpolator) of the four surrounding source values:
 *     v = Σ_corners z[corner] · (distance to the opposite corner along y) · (… along x) / (Δy · Δx)
 *   with distances clamped at 0 outside the source range (a 0/0 pair becomes 1/1: nearest edge).
 */
import { Tensor } from '../graph/tensor.js';

const f = Math.fround;

/** timm's `_calc(src, dst)`: source offset positions (float64 as Python computes them). */
export function sourcePositions(src: number, dst: number): number[] {
  const half = Math.floor(src / 2);
  const gp = (r: number, n: number) => (1.0 * (1.0 - r ** n)) / (1.0 - r);
  let left = 1.01, right = 1.5, q = NaN;
  while (right - left > 1e-6) {
    q = (left + right) / 2.0;
    if (gp(q, half) > Math.floor(dst / 2)) right = q; else left = q;
  }
  const dis: number[] = [];
  let cur = 1;
  for (let i = 0; i < half; i++) { dis.push(cur); cur += q ** (i + 1); }
  return [...[...dis].reverse().map((d) => -d), 0, ...dis];
}

interface Axis { left: Int32Array; right: Int32Array; dl: Float32Array; dr: Float32Array; overall: Float32Array }

/** bucketize + left/right distances of every target offset on one axis (float32, as torch). */
function axis(src: number, dst: number): Axis {
  const p = Float32Array.from(sourcePositions(src, dst));
  const t = Math.floor(dst / 2);
  const a: Axis = { left: new Int32Array(dst), right: new Int32Array(dst), dl: new Float32Array(dst), dr: new Float32Array(dst), overall: new Float32Array(dst) };
  for (let k = 0; k < dst; k++) {
    const x = -t + k;
    let r = 0;
    while (r < p.length && p[r]! < x) r++; // torch.bucketize(right=False): first p[r] >= x
    if (r >= p.length) r = p.length - 1;
    const l = Math.min(Math.max(r - 1, 0), p.length - 1);
    let dl = f(x - p[l]!), dr = f(p[r]! - x);
    if (dl < 0) dl = 0;
    if (dr < 0) dr = 0;
    if (dl === 0 && dr === 0) dl = dr = 1;
    a.left[k] = l; a.right[k] = r; a.dl[k] = dl; a.dr[k] = dr; a.overall[k] = f(dl + dr);
  }
  return a;
}

/** One [sh, sw] plane (row-major, read through `at`) → [th, tw] (float32). */
function resamplePlane(at: (i: number, j: number) => number, src: readonly [number, number], dst: readonly [number, number]): Float32Array {
  const ay = axis(src[0], dst[0]), ax = axis(src[1], dst[1]);
  const out = new Float32Array(dst[0] * dst[1]);
  for (let y = 0; y < dst[0]; y++) for (let x = 0; x < dst[1]; x++) {
    const iy = [ay.left[y]!, ay.right[y]!], ix = [ax.left[x]!, ax.right[x]!];
    const dy = [ay.dl[y]!, ay.dr[y]!], dx = [ax.dl[x]!, ax.dr[x]!];
    let num = 0;
    for (const a of [0, 1]) for (const c of [0, 1]) num = f(num + f(at(iy[a]!, ix[c]!) * f(dy[1 - a]! * dx[1 - c]!)));
    out[y * dst[1] + x] = f(num / f(ay.overall[y]! * ax.overall[x]!));
  }
  return out;
}

/**
 * `table` resampled to the (2·wh−1)×(2·ww−1) offset grid of `window`, in the layout of `newShape`
 * ([heads, th, tw] or [th·tw, heads]); null when the two shapes are not tables of one kind
 * (different head counts, a non-square flat source, prefix tokens, an even side: not 2w−1).
 */
export function resizeRelPosBiasTable(table: Tensor, window: readonly [number, number], newShape: readonly number[]): Tensor | null {
  const dst: [number, number] = [2 * window[0] - 1, 2 * window[1] - 1];
  const z = table.toFloat32();
  if (table.shape.length === 3 && newShape.length === 3) {
    const [heads, sh, sw] = table.shape as [number, number, number];
    if (newShape[0] !== heads || newShape[1] !== dst[0] || newShape[2] !== dst[1] || sh % 2 === 0 || sw % 2 === 0) return null;
    const out = new Float32Array(heads * dst[0] * dst[1]);
    for (let h = 0; h < heads; h++) {
      const plane = resamplePlane((i, j) => z[(h * sh + i) * sw + j]!, [sh, sw], dst);
      out.set(plane, h * dst[0] * dst[1]);
    }
    return new Tensor('float32', newShape, out);
  }
  if (table.shape.length === 2 && newShape.length === 2) {
    const [n, heads] = table.shape as [number, number];
    const s = Math.round(Math.sqrt(n));
    if (newShape[1] !== heads || newShape[0] !== dst[0] * dst[1] || s * s !== n || s % 2 === 0) return null;
    const out = new Float32Array(dst[0] * dst[1] * heads);
    for (let h = 0; h < heads; h++) {
      const plane = resamplePlane((i, j) => z[(i * s + j) * heads + h]!, [s, s], dst);
      plane.forEach((v, k) => { out[k * heads + h] = v; });
    }
    return new Tensor('float32', newShape, out);
  }
  return null;
}

/** The key suffix timm's checkpoint filter resamples. */
export const REL_POS_TABLE = 'relative_position_bias_table';

/**
 * A checkpoint with every `relative_position_bias_table` whose shape differs from the model's
 * (`shapes`: key → model shape) resampled to `window`; other tensors pass through unchanged.
 */
export function resampleRelPosTables(ckpt: ReadonlyMap<string, Tensor>, shapes: ReadonlyMap<string, readonly number[]>, window: readonly [number, number]): Map<string, Tensor> {
  const out = new Map(ckpt);
  for (const [k, t] of ckpt) {
    const want = shapes.get(k);
    if (!k.endsWith(REL_POS_TABLE) || !want || (t.shape.length === want.length && t.shape.every((d, i) => d === want[i]))) continue;
    const r = resizeRelPosBiasTable(t, window, want);
    if (r) out.set(k, r);
  }
  return out;
}
