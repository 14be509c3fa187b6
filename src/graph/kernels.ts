/**
 * Reference CPU kernels over constant tensors: what constant folding evaluates. The kernels live in
 * the op registry (src/graph/ops/*.ts, the `fold` field, with the dtypes and attribute values each
 * implements); this module keeps the historical entry points.
 */
import type { Attr } from './ir.js';
import { ShapeError } from './ops/infer-util.js';
import { FoldDeclined } from './ops/kernel-util.js';
import { defineOp, getOp, type Kernel, opNames } from './ops/index.js';
import { type DType, ONNX_DTYPE, type Tensor } from './tensor.js';

type Attrs = Readonly<Record<string, Attr>>;
export type { Kernel };
export { FoldDeclined };

const foldOps = (): string[] => opNames().filter((n) => getOp(n)!.fold);

/**
 * Every op's folding kernel by name (a view of the registry). Assigning an entry registers a kernel
 * for every dtype; prefer `defineOp(op, { fold: { dtypes, when, run } })` in src/graph/ops/.
 */
export const KERNELS: Record<string, Kernel> = new Proxy({} as Record<string, Kernel>, {
  get: (_t, op) => (typeof op === 'string' ? getOp(op)?.fold?.run : undefined),
  has: (_t, op) => typeof op === 'string' && !!getOp(op)?.fold,
  set: (_t, op, run: Kernel) => { defineOp(String(op), { fold: { dtypes: Object.keys(ONNX_DTYPE) as DType[], run } }); return true; },
  ownKeys: () => foldOps(),
  getOwnPropertyDescriptor: (_t, op) => (typeof op === 'string' && getOp(op)?.fold
    ? { value: getOp(op)!.fold!.run, enumerable: true, configurable: true, writable: true } : undefined),
});

/**
 * Why `op` cannot be folded on these inputs (no kernel, an input dtype the kernel does not
 * implement, an unsupported attribute value), or null when it can.
 */
export function foldDecline(op: string, inputs: readonly (Tensor | null)[], attrs: Attrs): string | null {
  const f = getOp(op)?.fold;
  if (!f) return `no folding kernel for ${op}`;
  for (const [i, t] of inputs.entries()) {
    if (t && (!f.operands || f.operands.includes(i)) && !f.dtypes.includes(t.dtype)) return `${op} does not fold ${t.dtype}`;
  }
  return f.when?.(inputs, attrs) ?? null;
}

/** Evaluates `op` on constant inputs, or returns null when its kernel declines (or none exists). */
export function evaluate(op: string, inputs: readonly (Tensor | null)[], attrs: Attrs): Tensor[] | null {
  try {
    if (foldDecline(op, inputs, attrs) !== null) return null;
    return getOp(op)!.fold!.run(inputs, attrs);
  } catch (e) {
    // a value the kernel cannot represent exactly, or inputs the op rejects: the runtime decides
    if (e instanceof FoldDeclined || e instanceof ShapeError) return null;
    throw e;
  }
}
