/**
 * Constant folding: a node whose inputs are all constants is evaluated (the op registry's folding
 * kernels, graph/kernels.ts) and replaced by initializers that keep the node's output names. A
 * node whose output depends only on its inputs' static shapes (Shape) folds from their types.
 *
 *   Before:  W ──Transpose──► Wt ──► MatMul(x, Wt)        After:  Wt (initializer) ──► MatMul(x, Wt)
 *
 * A kernel declines what it does not implement exactly (dtype, attribute value, out-of-range
 * index); a folded tensor whose dtype or shape differs from the value it replaces is a bug and throws.
 */
import type { Graph, Node, Value } from '../graph/ir.js';
import { evaluate } from '../graph/kernels.js';
import { getOp } from '../graph/ops/index.js';
import { sameDim, shapeToString } from '../graph/shapes.js';
import type { Tensor } from '../graph/tensor.js';
import type { Pass, PassStats } from './driver.js';

export class FoldMismatchError extends Error {}

function evaluateNode(n: Node): Tensor[] | null {
  if (n.inputs.every((v) => v === null || v.isConstant)) return evaluate(n.op, n.inputs.map((v) => v?.constant ?? null), n.attrs);
  return getOp(n.op)?.foldFromTypes?.(n.inputs.map((v) => v?.type ?? null), n.attrs) ?? null;
}

export function foldNode(g: Graph, n: Node): Value[] | null {
  if (n.domain || getOp(n.op)?.noFold) return null; // noFold: Expand (grows), Dropout, random ops
  if (n.outputs.some((o) => o.isGraphOutput)) return null;
  const res = evaluateNode(n);
  if (!res) return null;
  res.forEach((t, i) => {
    const o = n.outputs[i];
    // a symbolic dimension of the replaced value may become any number; a static one must match
    if (!o || t.dtype !== o.dtype || t.shape.length !== o.shape.length || t.shape.some((d, j) => typeof o.shape[j] === 'number' && !sameDim(d, o.shape[j]!))) {
      throw new FoldMismatchError(`folding ${n.op} ${n.label} gave ${t.dtype}${shapeToString(t.shape)} for ${o ? `${o.name}: ${o.dtype}${shapeToString(o.shape)}` : `output ${i}, which it does not have`}`);
    }
  });
  const names = n.outputs.map((o) => o.name);
  const consts = res.map((t, i) => g.addConstant(`${names[i]}__folded`, t));
  n.outputs.forEach((o, i) => o.replaceAllUsesWith(consts[i]!));
  g.removeNode(n);
  consts.forEach((c, i) => g.renameValue(c, names[i]!));
  return consts;
}

/** Folds the given nodes (in order) where possible; returns old→new value map. */
export function foldNodes(g: Graph, nodes: readonly Node[]): { count: number; map: Map<Value, Value> } {
  const map = new Map<Value, Value>();
  let count = 0;
  for (const n of nodes) {
    if (!g.nodes.has(n)) continue;
    const olds = [...n.outputs];
    const res = foldNode(g, n);
    if (res) { count++; olds.forEach((o, i) => map.set(o, res[i]!)); }
  }
  return { count, map };
}

export const foldConstants: Pass = {
  name: 'fold-constants',
  run(g: Graph): PassStats {
    g.topoSort();
    const { count } = foldNodes(g, [...g.nodes]);
    return { counts: { 'fold-constants': count }, folded: count, removed: 0, rounds: 1 };
  },
};
