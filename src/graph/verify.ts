/**
 * Graph invariants, checked after builders and after every pass in tests:
 * use sets match inputs, every input is defined (graph input, initializer or earlier node output),
 * names are unique, the graph is acyclic, and every node's output types equal what shape
 * inference computes from its inputs.
 */
import type { Graph } from './ir.js';
import { INFER, inferTypes, sameDim, shapeToString } from './shapes.js';

export class VerifyError extends Error {}

export function verifyGraph(g: Graph): void {
  const problems: string[] = [];
  const defined = new Set([...g.inputs, ...g.initializers.values()]);
  const names = new Set<string>();
  for (const v of defined) {
    if (names.has(v.name)) problems.push(`duplicate name ${v.name}`);
    names.add(v.name);
  }
  g.topoSort(); // throws on a cycle
  const nodeNames = new Set<string>();
  for (const n of g.nodes) {
    if (nodeNames.has(n.name)) problems.push(`duplicate node name ${n.name}`);
    nodeNames.add(n.name);
    n.inputs.forEach((v, i) => {
      if (!v) return;
      if (!defined.has(v)) problems.push(`${n.label} input ${i} (${v.name}) is not defined before it`);
      if (![...v.uses].some((u) => u.node === n && u.slot === i)) problems.push(`${v.name} does not record its use by ${n.label}[${i}]`);
    });
    for (const o of n.outputs) {
      if (o.producer !== n) problems.push(`${o.name} has the wrong producer`);
      if (names.has(o.name)) problems.push(`duplicate name ${o.name}`);
      names.add(o.name);
      defined.add(o);
      for (const u of o.uses) if (u.node.inputs[u.slot] !== o) problems.push(`${o.name} lists a stale use by ${u.node.label}`);
    }
    if (Object.hasOwn(INFER, n.op) && !n.domain) {
      try {
        const types = inferTypes(n.op, n.inputs.map((v) => ({ type: v?.type ?? null, constant: v?.constant ?? null })), n.attrs);
        types.forEach((t, i) => {
          const o = n.outputs[i];
          if (!o) return;
          const ok = t.dtype === o.dtype && t.shape.length === o.shape.length && t.shape.every((d, j) => sameDim(d, o.shape[j]!));
          if (!ok) problems.push(`${n.label}: output ${o.name} is ${o.dtype}${shapeToString(o.shape)} but inference gives ${t.dtype}${shapeToString(t.shape)}`);
        });
      } catch (e) {
        problems.push(`${n.described}: ${(e as Error).message}`);
      }
    }
  }
  for (const o of g.outputs) if (!defined.has(o)) problems.push(`graph output ${o.name} is not produced`);
  if (problems.length) throw new VerifyError(`graph ${g.name} is invalid: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`);
}
