/** Small predicates passes use to decide that a rewrite is safe. */
import type { Node, Value } from './ir.js';
import type { Tensor } from './tensor.js';

/** The node producing `v` if it has op type `op`. */
export function producedBy(v: Value | null | undefined, op: string): Node | null {
  return v?.producer && v.producer.op === op ? v.producer : null;
}

/** `v`'s constant tensor when `v` is an initializer read only by `node` (safe to replace). */
export function ownedConstant(v: Value | null | undefined, node: Node): Tensor | null {
  if (!v || !v.constant || v.isGraphInput || v.isGraphOutput) return null;
  for (const u of v.uses) if (u.node !== node) return null;
  return v.constant;
}

/** Every listed input is a constant initializer (shared use allowed). */
export function allConstant(vs: readonly (Value | null | undefined)[]): boolean {
  return vs.every((v) => v && v.constant && !v.isGraphInput);
}
