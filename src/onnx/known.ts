/**
 * What the ONNX reader can compute while it reads, so that shape inference works on files written
 * by exporters that leave out `value_info` (torch.onnx.export): the values of `Constant` nodes and
 * of nodes computed from constants and static shapes only (Shape → Gather → Unsqueeze → Concat
 * chains over static dims), evaluated with the op registry's folding kernels. The graph itself is
 * not changed; constant folding (passes/fold-constants.ts) does that when asked.
 */
import type { Node, Value, ValueType } from '../graph/ir.js';
import { evaluate } from '../graph/kernels.js';
import { getOp } from '../graph/ops/index.js';
import { isUnknown } from '../graph/ops/infer-util.js';
import type { Tensor } from '../graph/tensor.js';

/** Caps what is evaluated at read time (elements per computed value). */
const MAX_KNOWN_ELEMENTS = 1 << 16;

export class KnownValues {
  private readonly values = new Map<Value, Tensor>();

  valueOf(v: Value): Tensor | null {
    return v.constant ?? this.values.get(v) ?? null;
  }

  /** Records the node's outputs when they follow from known inputs (or static input shapes). */
  add(n: Node): void {
    if (n.domain) return;
    const spec = getOp(n.op);
    if (!spec || spec.noFold) return;
    const ins = n.inputs.map((v) => (v ? this.valueOf(v) : null));
    let out: Tensor[] | null = null;
    try {
      if (n.inputs.every((v, i) => !v || ins[i])) {
        if (ins.some((t) => t && t.size > MAX_KNOWN_ELEMENTS)) return;
        out = evaluate(n.op, ins, n.attrs);
      } else {
        out = spec.foldFromTypes?.(n.inputs.map((v) => v?.type ?? null), n.attrs) ?? null;
      }
    } catch {
      return; // a node the file describes inconsistently: its value stays unknown (inference reports it)
    }
    out?.forEach((t, i) => { const o = n.outputs[i]; if (o && t.dtype === o.dtype && t.size <= MAX_KNOWN_ELEMENTS) this.values.set(o, t); });
  }
}

/** Gives each unknown dim ('?') of an inferred type a name of its own: '?<value>:<axis>'. */
export function nameUnknownDims(t: ValueType | undefined, value: string): ValueType | undefined {
  if (!t || !t.shape.some(isUnknown)) return t;
  return { dtype: t.dtype, shape: t.shape.map((d, i) => (d === '?' ? `?${value.replaceAll('*', '_')}:${i}` : d)) };
}

/**
 * The type given to an output of an op without a shape rule (a contrib op in an onnxruntime-
 * optimized file) when the file does not say: the first input's dtype and rank, every dim unknown.
 * Enough for inspection and for running the file; nothing is concluded from these dims.
 */
export function unknownLike(t: ValueType): ValueType {
  return { dtype: t.dtype, shape: t.shape.map(() => '?') };
}
