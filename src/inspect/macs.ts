/**
 * Multiply-accumulates from static shapes, as papers count "FLOPs": only Conv, ConvTranspose,
 * MatMul and Gemm (elementwise ops, normalizations, pooling and softmax are not counted).
 *
 *   Conv           |y| · (C_in / group) · ∏ kernel          (each output sums C_in/g · k² products)
 *   ConvTranspose  |x| · (C_out / group) · ∏ kernel         (each input spreads into C_out/g · k² outputs)
 *   MatMul         |y| · K                                  (K = the shared inner dimension)
 *   Gemm           M · N · K
 *   com.microsoft.Attention (x [B, S, D], packed weights [D, 3H], `--target ort`)
 *                  B·S·D·3H + B·S²·2H         (the q/k/v projection, then scores and context
 *                                             over all heads: what the MatMuls it replaces count)
 *
 * Symbolic dimensions count as 1, so a dynamic-batch graph reports MACs per batch item.
 */
import type { Graph, Node } from '../graph/ir.js';
import { getOp } from '../graph/ops/index.js';

const prod = (dims: readonly (number | string)[]): number => dims.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);

/** onnxruntime's contrib Attention: packed projection, then q·kᵀ and p·v for every head. */
function attentionMacs(n: Node): number {
  const x = n.input(0).shape;
  const cols = n.input(1).shape[1];
  if (x.length !== 3 || typeof cols !== 'number') return 0;
  const sizes = n.attrs['qkv_hidden_sizes'];
  const [hq, , hv] = sizes?.kind === 'ints' ? sizes.value : [cols / 3, cols / 3, cols / 3];
  const [batch, seq] = [prod([x[0]!]), prod([x[1]!])];
  return prod(x) * cols + batch * seq * seq * (hq! + hv!);
}

/** The registry's `macs` rule for the node's op (src/graph/ops/nn.ts), 0 for ops not counted. */
export function nodeMacs(n: Node): number {
  if (n.domain === 'com.microsoft' && n.op === 'Attention') return attentionMacs(n);
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
