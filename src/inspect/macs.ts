/**
 * Multiply-accumulates from static shapes, as papers count "FLOPs": only Conv, ConvTranspose,
 * MatMul and Gemm (elementwise ops, normalizations, pooling and softmax are not counted).
 *
 *   Conv           |y| · (C_in / group) · ∏ kernel          (each output sums C_in/g · k² products)
 *   ConvTranspose  |x| · (C_out / group) · ∏ kernel         (each input spreads into C_out/g · k² outputs)
 *   MatMul         |y| · K                                  (K = the shared inner dimension)
 *   Gemm           M · N · K
 *
 * Symbolic dimensions count as 1, so a dynamic-batch graph reports MACs per batch item.
 */
import type { Graph, Node } from '../graph/ir.js';
import { getOp } from '../graph/ops/index.js';

/** The registry's `macs` rule for the node's op (src/graph/ops/nn.ts), 0 for ops not counted. */
export function nodeMacs(n: Node): number {
  return n.domain ? 0 : getOp(n.op)?.macs?.(n) ?? 0;
}

export interface MacCount {
  total: number;
  byOp: Map<string, number>;
}

export function countMacs(g: Graph): MacCount {
  const byOp = new Map<string, number>();
  let total = 0;
  for (const n of g.nodes) {
    const m = nodeMacs(n);
    if (m === 0) continue;
    total += m;
    byOp.set(n.op, (byOp.get(n.op) ?? 0) + m);
  }
  return { total, byOp: new Map([...byOp].sort((a, b) => b[1] - a[1])) };
}
