/**
 * Deterministic text form of a graph: ops, names, shapes and attributes, no weight values
 * (initializers show dtype and shape). Golden files of this text make structural changes reviewable.
 */
import type { Attr, Graph, Value } from './ir.js';
import { shapeToString } from './shapes.js';

/** An attribute value as printed in graph text and diffs. */
export function attrText(a: Attr): string {
  switch (a.kind) {
    case 'ints': case 'floats': return `[${a.value.join(',')}]`;
    case 'strings': return `[${a.value.map((s) => JSON.stringify(s)).join(',')}]`;
    case 'string': return JSON.stringify(a.value);
    case 'tensor': return `tensor<${a.value.dtype}${shapeToString(a.value.shape)}>`;
    default: return String(a.value);
  }
}

function valueText(v: Value | null): string {
  if (!v) return '_';
  return v.isConstant ? `%${v.name}` : v.name;
}

export function printGraph(g: Graph): string {
  g.topoSort();
  const lines: string[] = [`graph ${g.name}`];
  for (const v of g.inputs) lines.push(`  input ${v.name}: ${v.dtype}${shapeToString(v.shape)}`);
  for (const v of g.initializersInUseOrder()) lines.push(`  init %${v.name}: ${v.dtype}${shapeToString(v.shape)}`);
  for (const n of g.nodes) {
    const attrs = Object.entries(n.attrs).map(([k, a]) => `${k}=${attrText(a)}`).join(' ');
    const outs = n.outputs.map((o) => `${o.name}: ${o.dtype}${shapeToString(o.shape)}`).join(', ');
    lines.push(`  ${outs} = ${n.op}(${n.inputs.map(valueText).join(', ')})${attrs ? ` {${attrs}}` : ''}  # ${n.name}`);
  }
  lines.push(`  outputs ${g.outputs.map((v) => v.name).join(', ')}`);
  return `${lines.join('\n')}\n`;
}
