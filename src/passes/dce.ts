/**
 * Dead-code removal: nodes none of whose outputs is used (or a graph output) go, repeatedly;
 * then initializers nothing reads.
 */
import type { Graph } from '../graph/ir.js';
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

export const deadCode: Pass = {
  name: 'dead-code',
  run(g) {
    const removed = removeDeadCode(g);
    return { counts: { 'dead-code': removed }, folded: 0, removed, rounds: 1 };
  },
};
