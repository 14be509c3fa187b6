/**
 * attention-scale-into-query: fold the attention scale s = 1/√d into the query projection.
 *
 *   s·(q·kᵀ) = (s·q)·kᵀ          s·q = x·(s·W_q) + s·b_q
 *
 * The scalar Mul is found either on the scores, Mul(MatMul(q, kᵀ), s) (Next-ViT, EdgeViT), or on
 * the query itself, Mul(q, s) (FastViT, MaxViT, MobileViT). q must come from a Linear through
 * Reshape / Transpose / Flatten / Identity (a scalar commutes with any of them) and Split. When a
 * fused qkv Linear is split along its feature axis (tracked from the Linear with pre-norm's
 * `carry`), only the query's feature range [lo, hi) of W and b is scaled: W′ = W·diag(f),
 * b′ = b⊙f with f[o] = s on [lo, hi) and 1 elsewhere (×1 is exact, so k and v are unchanged).
 * If q does not qualify, k (the other MatMul operand) is tried the same way.
 *
 *   Before:  x ─qkv(W,b)─► ─Split─► q ─Reshape─► ─Transpose─► ─Mul(s)─► ─MatMul(·, kᵀ)─►
 *   After:   x ─qkv(W·diag f, b⊙f)─► ─Split─► q ─Reshape─► ─Transpose─► ─MatMul(·, kᵀ)─►
 *
 * Every value from the Linear to the Mul (the Split's input included) must have a single use,
 * and W, b must be constants owned by the Linear. Exact up to float rounding.
 */
import { Builder } from '../graph/builder.js';
import type { Node, Value } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { fail, type Fail, type Rule } from './driver.js';
import { type LinearMatch, linearAt, scaleLinear } from './linear-match.js';
import { carry } from './pre-norm.js';
import { constantOperand, LAYOUT_OPS } from './scale-into-linear.js';

interface Path { lin: LinearMatch; lo: number; hi: number }
interface AttentionScale { mul: Node; v: Value; s: number; path: Path }

function splitSizes(n: Node, axis: number): number[] | null {
  const sizes = n.inputs[1]?.constant?.toNumbers();
  if (sizes) return sizes;
  const a = n.attrs['split'];
  if (a?.kind === 'ints') return [...a.value];
  const d = n.input(0).shape[axis]; // no sizes: equal parts
  return typeof d === 'number' && d % n.outputs.length === 0 ? Array<number>(n.outputs.length).fill(d / n.outputs.length) : null;
}

/** Follows `q` back to a Linear; returns the feature range of that Linear that becomes q. */
function traceQuery(q: Value): Path | string {
  const path: { node: Node; index: number }[] = [];
  let cur = q;
  for (;;) {
    if (!cur.hasSingleUse()) return `${cur.name} has other uses`;
    const p = cur.producer;
    if (!p || !(LAYOUT_OPS.has(p.op) || p.op === 'Split')) break;
    path.unshift({ node: p, index: cur.index });
    cur = p.input(0);
  }
  const lin = linearAt(cur);
  if (typeof lin === 'string') return lin;
  // forward from the Linear: where the feature axis is and which range of it is left
  let axis: number | null = cur.shape.length - 1;
  let lo = 0, hi = lin.features;
  for (const { node, index } of path) {
    if (node.op !== 'Split') {
      if (axis !== null) { const next = carry(node, axis, hi - lo); axis = next !== null && next >= 0 ? next : null; }
      continue;
    }
    const rank = node.input(0).shape.length;
    const splitAxis = (node.attrInt('axis', 0) + rank) % rank;
    if (axis !== splitAxis) return `Split ${node.label} is not along the Linear's feature axis`;
    const sizes = splitSizes(node, splitAxis);
    if (!sizes) return `Split ${node.label} has no static sizes`;
    lo += sizes.slice(0, index).reduce((a, b) => a + b, 0);
    hi = lo + sizes[index]!;
  }
  return { lin, lo, hi };
}

export const attentionScaleIntoQuery: Rule<AttentionScale> = {
  name: 'attention-scale-into-query',
  ops: ['Mul'],
  match(mul): AttentionScale | Fail {
    const ops = constantOperand(mul);
    if (typeof ops === 'string') return fail(ops);
    const { c, v } = ops;
    if (c.constant!.size !== 1) return fail(`constant ${c.name} [${c.shape}] is not a scalar`);
    const s = c.constant!.toNumbers()[0]!;
    const mm = v.producer?.op === 'MatMul' && v.hasSingleUse() && !v.producer.input(1).isConstant ? v.producer : null;
    const candidates = mm ? [mm.input(0), mm.input(1)] : [v];
    const why: string[] = [];
    for (const q of candidates) {
      const path = traceQuery(q);
      if (typeof path !== 'string') return { mul, v, s, path };
      why.push(path);
    }
    return fail(why.join('; '));
  },
  rewrite({ mul, v, s, path: { lin, lo, hi } }) {
    const b = new Builder(mul.graph, mul.name);
    const whole = lo === 0 && hi === lin.features;
    const f = new Tensor('float32', [whole ? 1 : lin.features]);
    (f.data as Float32Array).fill(1);
    (f.data as Float32Array).fill(s, whole ? 0 : lo, whole ? 1 : hi);
    const r = scaleLinear(lin, b.constant('query_scale', f));
    // the Mul's operand is unchanged in place unless it is the Linear's own output
    return { replace: v === lin.out ? [[mul.output, r.replace[0]![1]]] : [...r.replace, [mul.output, v]], names: r.names };
  },
};
