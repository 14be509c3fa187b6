/**
 * Shared by the rules that move a per-feature factor into a Linear layer (scale-into-linear,
 * attention-scale-into-query).
 *
 * A Linear here is one of
 *   Add(MatMul(x, W[I,O]), b)     MatMul(x, W[I,O])     Gemm(x, W, c)  (W [O,I] if transB)
 * with W (and b, c) constant initializers owned by their node, and the MatMul's result read only
 * by the Add. Scaling output feature o by f[o]:
 *
 *   (x·W + b)⊙f = x·(W·diag f) + b⊙f          Gemm: α·x·W·diag f + β·c⊙f
 *
 * `scaleLinear` emits the products as Mul nodes over the constants (the driver folds them) and
 * returns the new Linear output; the folded weights keep the old weights' names.
 */
import { Builder } from '../graph/builder.js';
import type { Node, Value } from '../graph/ir.js';
import { ownedConstant } from '../graph/query.js';
import { sameDim } from '../graph/shapes.js';
import type { Rewrite } from './driver.js';

export interface LinearMatch {
  /** The MatMul or Gemm. */
  node: Node;
  /** The bias Add after a MatMul, if any. */
  add: Node | null;
  w: Value;
  /** b of the Add, or c of the Gemm. */
  bias: Value | null;
  /** The Linear's result (the Add's output when there is one). */
  out: Value;
  /** Number of output features O. */
  features: number;
}

function sameShape(a: Value, b: Value): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => sameDim(d, b.shape[i]!));
}

function matmulLinear(mm: Node): Omit<LinearMatch, 'add' | 'bias' | 'out'> | string {
  const w = mm.inputs[1];
  if (!ownedConstant(w, mm) || w!.shape.length !== 2) return `MatMul ${mm.name} weight is not a 2-D constant owned by it`;
  if (mm.input(0).isConstant) return `MatMul ${mm.name} has a constant left operand`;
  return { node: mm, w: w!, features: w!.shape[1] as number };
}

/** The Linear layer whose result is `v`, or why `v` is not one. */
export function linearAt(v: Value): LinearMatch | string {
  const p = v.producer;
  if (!p) return `${v.name} is not computed by a node`;
  if (v.dtype !== 'float32') return `${v.name} is ${v.dtype}, not float32`;
  if (p.op === 'MatMul') {
    const m = matmulLinear(p);
    return typeof m === 'string' ? m : { ...m, add: null, bias: null, out: v };
  }
  if (p.op === 'Add') {
    const [a, c] = p.inputs;
    const y = a?.producer?.op === 'MatMul' ? a : c?.producer?.op === 'MatMul' ? c : null;
    if (!y) return `Add ${p.name} does not read a MatMul`;
    const bias = y === a ? c! : a!;
    if (!y.hasSingleUse()) return `MatMul result ${y.name} has other uses`;
    if (!ownedConstant(bias, p)) return `bias of ${p.name} is not a constant owned by it`;
    if (!sameShape(v, y)) return `bias of ${p.name} broadcasts the MatMul result to a larger shape`;
    const m = matmulLinear(y.producer!);
    return typeof m === 'string' ? m : { ...m, add: p, bias, out: v };
  }
  if (p.op === 'Gemm') {
    const w = p.input(1), c = p.inputs[2] ?? null;
    if (!ownedConstant(w, p) || (c && !ownedConstant(c, p))) return `Gemm ${p.name} weights are not constants owned by it`;
    if (p.input(0).isConstant) return `Gemm ${p.name} has a constant left operand`;
    return { node: p, add: null, w, bias: c, out: v, features: v.shape[1] as number };
  }
  return `${v.name} is computed by ${p.op}, not a Linear (MatMul, MatMul + Add, Gemm)`;
}

/**
 * Rebuilds the Linear with output feature o scaled by f[o]; `f` is a float32 constant of shape
 * [O] or [1]. Returns the replacement of the Linear's output and the names the folded weights keep.
 */
export function scaleLinear(lin: LinearMatch, f: Value): Rewrite {
  const g = f.graph;
  const { node, add, w, bias } = lin;
  const b = new Builder(g, node.name);
  const names: [Value, string][] = [];
  let out: Value;
  if (node.op === 'Gemm') {
    const transB = node.attrInt('transB', 0) === 1;
    const fw = transB ? b.reshape(f, [f.shape[0]!, 1]) : f;
    const w2 = b.mul(w, fw, 'w_scaled');
    const c2 = bias ? b.mul(bias, f, 'c_scaled') : null;
    out = b.node('Gemm', c2 ? [node.input(0), w2, c2] : [node.input(0), w2], node.attrs, { name: '' }).output;
    names.push([w2, w.name]);
    if (c2) names.push([c2, bias!.name]);
  } else {
    const w2 = b.mul(w, f, 'w_scaled');
    const mm = b.node('MatMul', [node.input(0), w2], {}, { name: '' });
    names.push([w2, w.name], [mm.output, node.output.name]);
    out = mm.output;
    if (add && bias) {
      const b2 = new Builder(g, add.name).mul(bias, f, 'b_scaled');
      const inputs = add.inputs[0] === bias ? [b2, out] : [out, b2];
      out = new Builder(g, add.name).node('Add', inputs, {}, { name: '' }).output;
      names.push([b2, bias.name]);
    }
  }
  return { replace: [[lin.out, out]], names };
}
