/**
 * Lint findings and the checks target profiles are made of. A finding names a rule, a severity,
 * the node (or value) it is about and a one-line message; `formatFinding` prints it on one line.
 * Checks look at the graph only, so no target runtime is needed.
 */
import { getOp, opsWhere } from '../graph/ops/index.js';
import type { Graph, Node, Value } from '../graph/ir.js';
import { shapeToString } from '../graph/shapes.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  rule: string;
  /** Node name (or value name for graph-level findings); null for whole-model findings. */
  node: string | null;
  message: string;
}

export interface LintContext {
  /** The opset the graph is (or will be) written at. */
  opset: number;
}

export function formatFinding(f: Finding): string {
  return `${f.severity.padEnd(7)} ${f.rule}${f.node ? ` ${f.node}` : ''}: ${f.message}`;
}

export const countErrors = (fs: readonly Finding[]) => fs.filter((f) => f.severity === 'error').length;

export function allValues(g: Graph): Value[] {
  return [...g.inputs, ...g.initializers.values(), ...[...g.nodes].flatMap((n) => n.outputs)];
}

/** Values of rank above `max` (one finding per producing node or graph value). */
export function checkRank(g: Graph, max: number, severity: Severity = 'error'): Finding[] {
  return allValues(g).filter((v) => v.shape.length > max).map((v) => ({
    severity, rule: 'max-rank', node: v.producer?.label ?? v.name,
    message: `${v.name} has rank ${v.shape.length} ${shapeToString(v.shape)}; the target allows at most ${max}`,
  }));
}

/** Ops outside a supported set (or in a non-default domain). */
export function checkOps(g: Graph, supported: ReadonlySet<string>, severity: Severity, what: string): Finding[] {
  const out: Finding[] = [];
  for (const n of g.nodes) {
    if (n.domain) out.push({ severity, rule: 'unsupported-op', node: n.label, message: `${n.domain}::${n.op} is not a standard ONNX op; ${what}` });
    else if (!supported.has(n.op)) out.push({ severity, rule: 'unsupported-op', node: n.label, message: `${n.op} ${what}` });
  }
  return out;
}

/** Symbolic dimensions of graph inputs: batch (axis 0) at `batchSeverity`, others at `otherSeverity`. */
export function checkDynamic(g: Graph, batchSeverity: Severity, otherSeverity: Severity, advice: string): Finding[] {
  const out: Finding[] = [];
  for (const v of g.inputs) {
    v.shape.forEach((d, i) => {
      if (typeof d === 'number') return;
      out.push({
        severity: i === 0 ? batchSeverity : otherSeverity, rule: 'dynamic-shape', node: v.name,
        message: `input ${v.name} ${shapeToString(v.shape)} has the symbolic dimension ${d} (axis ${i}); ${advice}`,
      });
    });
  }
  return out;
}

/** Ops that compute shapes at run time. */
export function checkShapeOps(g: Graph, severity: Severity, why: string): Finding[] {
  return [...g.nodes].filter((n) => n.op === 'Shape' || n.op === 'Size').map((n) => ({
    severity, rule: 'runtime-shape', node: n.label, message: `${n.op} computes a shape at run time; ${why}`,
  }));
}

/** Inputs that must be initializers (shape-like operands), by op: input slots. */
export const SHAPE_OPERANDS: Readonly<Record<string, readonly number[]>> = Object.fromEntries(
  [...opsWhere((s) => !!s.shapeOperands)].map((op) => [op, getOp(op)!.shapeOperands!]),
); // the registry's `shapeOperands` (src/graph/ops/targets.ts)

export function checkConstantOperands(g: Graph, severity: Severity, why: string): Finding[] {
  const out: Finding[] = [];
  for (const n of g.nodes) {
    for (const slot of (Object.hasOwn(SHAPE_OPERANDS, n.op) ? SHAPE_OPERANDS[n.op] : undefined) ?? []) {
      const v = n.inputs[slot];
      if (v && !v.constant) out.push({ severity, rule: 'computed-operand', node: n.label, message: `${n.op} input ${slot} (${v.name}) is computed, not an initializer; ${why}` });
    }
  }
  return out;
}

/** Element types outside `allowed`. */
export function checkDtypes(g: Graph, allowed: ReadonlySet<string>, severity: Severity, why: string): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const v of allValues(g)) {
    if (allowed.has(v.dtype) || seen.has(v.dtype)) continue;
    seen.add(v.dtype);
    out.push({ severity, rule: 'dtype', node: v.producer?.label ?? v.name, message: `${v.name} is ${v.dtype}; ${why}` });
  }
  return out;
}

/**
 * A LayerNormalization that was decomposed for an opset below 17: ReduceMean(x) feeding Sub(x, ·).
 * Returns the Sub nodes.
 */
export function decomposedLayerNorms(g: Graph): Node[] {
  const out: Node[] = [];
  for (const n of g.nodes) {
    if (n.op !== 'Sub') continue;
    const mean = n.inputs[1]?.producer;
    if (mean?.op === 'ReduceMean' && mean.inputs[0] === n.inputs[0]) out.push(n);
  }
  return out;
}
