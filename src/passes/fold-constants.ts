/**
 * Constant folding: a node whose inputs are all constants is evaluated (graph/kernels.ts) and
 * replaced by initializers that keep the node's output names.
 *
 *   Before:  W ──Transpose──► Wt ──► MatMul(x, Wt)        After:  Wt (initializer) ──► MatMul(x, Wt)
 */
import type { Graph, Node, Value } from '../graph/ir.js';
import { evaluate } from '../graph/kernels.js';
import type { Pass, PassStats } from './driver.js';

/** Ops never folded (their results would be much larger than their inputs, or random). */
const KEEP = new Set(['Expand', 'RandomNormal', 'RandomUniform', 'Dropout']);

export function foldNode(g: Graph, n: Node): Value[] | null {
  if (KEEP.has(n.op) || n.domain) return null;
  if (!n.inputs.every((v) => v === null || v.isConstant)) return null;
  if (n.outputs.some((o) => o.isGraphOutput)) return null;
  const res = evaluate(n.op, n.inputs.map((v) => v?.constant ?? null), n.attrs);
  if (!res) return null;
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
