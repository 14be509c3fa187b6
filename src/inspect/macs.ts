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
import type { Dim, Graph, Node } from '../graph/ir.js';

const size = (dims: readonly Dim[]) => dims.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
const num = (d: Dim | undefined) => (typeof d === 'number' ? d : 1);

export function nodeMacs(n: Node): number {
  switch (n.op) {
    case 'Conv': {
      const w = n.input(1).shape;
      return size(n.output.shape) * size(w.slice(1));
    }
    case 'ConvTranspose': {
      const w = n.input(1).shape;
      return size(n.input(0).shape) * size(w.slice(1));
    }
    case 'MatMul': {
      const a = n.input(0).shape;
      return size(n.output.shape) * num(a[a.length - 1]);
    }
    case 'Gemm': {
      const a = n.input(0).shape;
      const k = n.attrInt('transA', 0) ? a[0] : a[1];
      return size(n.output.shape) * num(k);
    }
    default:
      return 0;
  }
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
