/**
 * Multiply-accumulates from static shapes, as papers count "FLOPs": only Conv, ConvTranspose,
 * MatMul and Gemm (elementwise ops, normalizations, pooling and softmax are not counted).
 *
 *   Conv           |y| · (C_in / group) · ∏ kernel          (each output sums C_in/g · k² products)
 *   ConvTranspose  |x| · (C_out / group) · ∏ kernel         (each input spreads into C_out/g · k² outputs)
 *   MatMul         |y| · K                                  (K = the shared inner dimension)
 *   Gemm           M · N · K
 *
 * Ops that do the same work in another form — com.microsoft Attention / MultiHeadAttention (`--target
 * ort`, int8 files), the quantized QLinearConv / QLinearMatMul / QGemm … of onnxruntime-optimized
 * files — count what the standard ops they replace count (src/graph/ops/contrib.ts). The rules live
 * in the op registry (`macs`), keyed `<domain>.<op>` outside the default domain.
 *
 * Symbolic dimensions count as 1, so a dynamic-batch graph reports MACs per batch item.
 */
import type { Graph, Node } from '../graph/ir.js';
import { getOp } from '../graph/ops/index.js';

/** The registry key of a node's op: `<domain>.<op>` outside the default domain ('' or 'ai.onnx'). */
function opKey(n: Node): string {
  return n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.op}` : n.op;
}

/** The registry's `macs` rule for the node's op (src/graph/ops/nn.ts, contrib.ts), 0 for ops not counted. */
export function nodeMacs(n: Node): number {
  return getOp(opKey(n))?.macs?.(n) ?? 0;
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
