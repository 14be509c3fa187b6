/**
 * Dead-code removal: nodes none of whose outputs is used (or a graph output) go, repeatedly;
 * then initializers nothing reads.
 */
import type { Graph, Value } from '../graph/ir.js';
import type { Pass } from './driver.js';

export function removeDeadCode(g: Graph): number {
  let removed = 0;
  let changed = true;
  while (changed) {
    changed = false;
    for (const n of [...g.nodes].reverse()) {
      if (n.outputs.every((o) => o.uses.size === 0 && !o.isGraphOutput)) {
        g.removeNode(n);
        removed++;
        changed = true;
      }
    }
  }
  for (const v of [...g.initializers.values()]) {
    if (v.uses.size === 0 && !v.isGraphOutput) { g.removeInitializer(v); removed++; }
  }
  return removed;
}

/**
 * Local dead-code removal after a rewrite: starting from `seeds` (values that may have lost their
 * last use), removes nodes whose outputs are all unused and initializers nothing reads, following
 * the inputs of what it removes. Linear in what it removes, not in the graph size.
 */
export function removeDeadFrom(g: Graph, seeds: Iterable<Value | null>): number {
  let removed = 0;
  const work = [...seeds];
  while (work.length) {
    const v = work.pop();
    if (!v || v.uses.size > 0 || v.isGraphOutput) continue;
    const n = v.producer;
    if (n) {
      if (!g.nodes.has(n) || !n.outputs.every((o) => o.uses.size === 0 && !o.isGraphOutput)) continue;
      const inputs = [...n.inputs];
      g.removeNode(n);
      removed++;
      for (const i of inputs) work.push(i); // not a spread: a node read from a file may have 300k inputs
    } else if (v.isConstant && g.initializers.get(v.name) === v) {
      g.removeInitializer(v);
      removed++;
    }
  }
  return removed;
}

export const deadCode: Pass = {
  name: 'dead-code',
  run(g) {
    const removed = removeDeadCode(g);
    return { counts: { 'dead-code': removed }, folded: 0, removed, rounds: 1 };
  },
};
