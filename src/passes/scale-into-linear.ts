/**
 * scale-into-linear: fold a constant per-output-feature scale into the Linear before it
 * (FastViT's layer_scale_1.gamma [C,1,1] after the attention proj, a scalar factor after a Linear).
 *
 *   y = x·W + b  (or x·W, or Gemm)      γ varies only along y's feature axis o (or is a scalar)
 *   L(y)⊙γ = L(y⊙γ) = L(x·W′ + b′)      W′ = W·diag(γ),  b′ = γ⊙b
 *
 * where L is a chain of Reshape / Transpose / Flatten / Identity that keeps the feature axis as
 * one axis of its own (tracked with pre-norm's `carry`); γ must line up with that axis in L(y).
 * Layout ops only move elements, so every element of L(y) still belongs to one feature o and
 * scaling it by γ[o] commutes with L. A scalar γ commutes with any such chain. Exact.
 *
 *   Before:  x ─MatMul(W)─► ─Add(b)─► y ─Transpose─► ─Reshape─► ─Mul(γ)─► z
 *   After:   x ─MatMul(W·diag γ)─► ─Add(γ⊙b)─► y′ ─Transpose─► ─Reshape─► z
 *
 * Fires only when every value from y to the Mul has a single use and W, b are constants owned
 * by the Linear.
 */
import { Builder } from '../graph/builder.js';
import type { Node, Value } from '../graph/ir.js';
import { sameDim } from '../graph/shapes.js';
import { fail, type Fail, type Rule } from './driver.js';
import { type LinearMatch, linearAt, scaleLinear } from './linear-match.js';
import { carry } from './pre-norm.js';

interface ScaleIntoLinear { mul: Node; v: Value; gamma: Value; lin: LinearMatch; layout: Node[]; perFeature: boolean }

/** Ops that only move elements and that `carry` can follow the feature axis through. */
export const LAYOUT_OPS = new Set(['Reshape', 'Transpose', 'Flatten', 'Identity']);

/** The constant operand of a binary node and the other one, if exactly one is a constant. */
export function constantOperand(node: Node): { c: Value; v: Value } | string {
  const [a, b] = node.inputs;
  if (!a || !b) return 'missing operand';
  const isConst = (x: Value) => x.isConstant && !x.isGraphInput;
  if (isConst(a) === isConst(b)) return isConst(a) ? 'both operands are constants' : 'no operand is a constant';
  const [c, v] = isConst(a) ? [a, b] : [b, a];
  if (c.dtype !== v.dtype) return `constant ${c.name} is ${c.dtype}, the other operand ${v.dtype}`;
  if (node.output.shape.length !== v.shape.length || !node.output.shape.every((d, i) => sameDim(d, v.shape[i]!))) {
    return `constant ${c.name} broadcasts ${v.name} to a larger shape`;
  }
  return { c, v };
}

export const scaleIntoLinear: Rule<ScaleIntoLinear> = {
  name: 'scale-into-linear',
  ops: ['Mul'],
  match(mul): ScaleIntoLinear | Fail {
    const ops = constantOperand(mul);
    if (typeof ops === 'string') return fail(ops);
    const { c: gamma, v } = ops;
    const layout: Node[] = [];
    let y = v;
    while (y.producer && LAYOUT_OPS.has(y.producer.op)) {
      if (!y.hasSingleUse()) return fail(`${y.name} has other uses`);
      layout.unshift(y.producer);
      y = y.producer.input(0);
    }
    if (!y.hasSingleUse()) return fail(`${y.name} has other uses`);
    const lin = linearAt(y);
    if (typeof lin === 'string') return fail(lin);
    // which axis of v γ varies along (γ is right-aligned against v)
    const rank = v.shape.length, gs = gamma.shape;
    if (gs.length > rank) return fail(`constant ${gamma.name} has higher rank than ${v.name}`);
    const varying = gs.map((d, i) => [rank - gs.length + i, d] as const).filter(([, d]) => d !== 1);
    if (varying.length === 0) return { mul, v, gamma, lin, layout, perFeature: false };
    if (varying.length > 1) return fail(`constant ${gamma.name} [${gs}] varies along more than one axis`);
    let axis = y.shape.length - 1;
    for (const n of layout) {
      const next = carry(n, axis, lin.features);
      if (next === null || next < 0) return fail(`${n.op} ${n.label} does not keep the output features as one axis`);
      axis = next;
    }
    const [gAxis, gDim] = varying[0]!;
    if (gAxis !== axis || gDim !== lin.features) return fail(`constant ${gamma.name} [${gs}] varies along axis ${gAxis}, the features are axis ${axis}`);
    return { mul, v, gamma, lin, layout, perFeature: true };
  },
  rewrite({ mul, v, gamma, lin, layout, perFeature }) {
    const f = new Builder(mul.graph, mul.name).reshape(gamma, [perFeature ? lin.features : 1]);
    const r = scaleLinear(lin, f);
    const y2 = r.replace[0]![1];
    // with no layout ops in between, the Mul reads the Linear directly
    return { replace: layout.length ? [...r.replace, [mul.output, v]] : [[mul.output, y2]], names: r.names };
  },
};
