/**
 * Shape and type inference. Builders call it for every node they add, so a wrong shape fails at the
 * op that caused it; the verifier and the ONNX reader reuse it. The rules live in the op registry
 * (src/graph/ops/*.ts, the `infer` field); this module keeps the historical entry points.
 */
import type { Attr, ValueType } from './ir.js';
import { defineOp, getOp, opNames } from './ops/index.js';
import { type InferFn, type InferInput, ShapeError } from './ops/infer-util.js';

export {
  broadcast, dimDiv, dimMul, type InferFn, type InferInput, sameDim, ShapeError, shapeProduct, shapeToString,
} from './ops/infer-util.js';

const inferOps = (): string[] => opNames().filter((n) => getOp(n)!.infer);

/** Every op's inference rule by name (a view of the registry; assigning an entry registers it). */
export const INFER: Record<string, InferFn> = new Proxy({} as Record<string, InferFn>, {
  get: (_t, op) => (typeof op === 'string' ? getOp(op)?.infer : undefined),
  has: (_t, op) => typeof op === 'string' && !!getOp(op)?.infer,
  set: (_t, op, fn: InferFn) => { defineOp(String(op), { infer: fn }); return true; },
  ownKeys: () => inferOps(),
  getOwnPropertyDescriptor: (_t, op) => (typeof op === 'string' && getOp(op)?.infer
    ? { value: getOp(op)!.infer, enumerable: true, configurable: true, writable: true } : undefined),
});

/** Infers output types for `op`; errors name the op. */
export function inferTypes(op: string, inputs: readonly InferInput[], attrs: Readonly<Record<string, Attr>>): ValueType[] {
  const fn = getOp(op)?.infer;
  if (!fn) throw new ShapeError(`no shape rule for op ${op}`);
  return fn(inputs, attrs);
}
