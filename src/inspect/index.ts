/**
 * `inspect`: what an ONNX graph contains and whether a target will take it — parameters, MACs,
 * op histogram, largest tensor rank, dynamic dimensions, and the target's lint findings.
 */
import type { Graph, Value } from '../graph/ir.js';
import { getTarget, lintFor, type Finding } from '../targets/index.js';
import { allValues } from '../targets/lint.js';
import { countMacs } from './macs.js';

export interface ValueSummary { name: string; dtype: string; shape: (number | string)[] }

export interface InspectReport {
  graph: string;
  opset: number;
  producer: string | null;
  metadata: Record<string, string>;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  /**
   * Parameters: elements of the floating-point initializers, and in a quantized (QDQ) file of the
   * integer weights and biases a DequantizeLinear reads — not the scales and zero points — so an
   * int8 file reports the parameters of the float model it was quantized from.
   */
  params: number;
  /** Bytes of all initializers. */
  weightBytes: number;
  /** Multiply-accumulates of Conv, ConvTranspose, MatMul, Gemm (per batch item if the batch is symbolic). */
  macs: number;
  macsByOp: Record<string, number>;
  nodes: number;
  ops: Record<string, number>;
  maxRank: number;
  /** A value of the largest rank (the first in graph order). */
  maxRankValue: string | null;
  /** Symbolic dimension names used anywhere in the graph. */
  dynamicDims: string[];
  /** Dimensions known only at run time (a foreign file without value_info: see onnx/known.ts). */
  unknownDims: number;
  target: string | null;
  findings: Finding[];
}

/** See InspectReport.params. */
function paramCount(g: Graph): number {
  const quantization = new Set<Value>(); // scales and zero points of QuantizeLinear / DequantizeLinear
  const quantized = new Set<Value>(); // integer tensors a DequantizeLinear turns into weights or biases
  for (const n of g.nodes) {
    if (n.domain || (n.op !== 'QuantizeLinear' && n.op !== 'DequantizeLinear')) continue;
    for (const v of n.inputs.slice(1)) if (v) quantization.add(v);
    const x = n.inputs[0];
    if (n.op === 'DequantizeLinear' && x?.isConstant) quantized.add(x);
  }
  let count = 0;
  for (const v of g.initializers.values()) {
    if (quantization.has(v)) continue;
    if (v.dtype.startsWith('float') || v.dtype === 'bfloat16' || quantized.has(v)) count += v.constant!.size;
  }
  return count;
}

export function inspectGraph(g: Graph, o: { opset: number; producer?: string; target?: string }): InspectReport {
  g.topoSort();
  const values = allValues(g);
  let maxRank = 0, maxRankValue: string | null = null;
  for (const v of values) if (v.shape.length > maxRank) { maxRank = v.shape.length; maxRankValue = v.name; }
  const dyn = new Set<string>();
  let unknownDims = 0;
  for (const v of values) {
    for (const d of v.shape) {
      if (typeof d !== 'string') continue;
      if (d.includes('?')) { unknownDims++; continue; }
      for (const s of d.split('*')) if (!/^\d+$/.test(s)) dyn.add(s);
    }
  }
  const macs = countMacs(g);
  let weightBytes = 0;
  for (const v of g.initializers.values()) weightBytes += v.constant!.data.byteLength;
  const target = o.target ? getTarget(o.target) : null;
  const summary = (v: { name: string; dtype: string; shape: readonly (number | string)[] }): ValueSummary => ({ name: v.name, dtype: v.dtype, shape: [...v.shape] });
  return {
    graph: g.name,
    opset: o.opset,
    producer: o.producer ?? null,
    metadata: Object.fromEntries([...g.metadata].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    inputs: g.inputs.map(summary),
    outputs: g.outputs.map(summary),
    params: paramCount(g),
    weightBytes,
    macs: macs.total,
    macsByOp: Object.fromEntries(macs.byOp),
    nodes: g.nodeCount,
    ops: Object.fromEntries(g.opHistogram()),
    maxRank,
    maxRankValue,
    dynamicDims: [...dyn].sort(),
    unknownDims,
    target: target?.name ?? null,
    findings: target ? lintFor(g, target, o.opset) : [],
  };
}

export { countMacs, nodeMacs } from './macs.js';
