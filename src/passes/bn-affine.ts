/**
 * Inference BatchNorm as a per-channel affine map, emitted as constant arithmetic:
 *   s = γ / √(σ² + ε),   t = β − μ·s,   BN(x) = s·x + t   (per channel c).
 * The ops are folded to initializers by the driver (graph/kernels.ts does the arithmetic).
 */
import type { Builder } from '../graph/builder.js';
import type { Node, Value } from '../graph/ir.js';
import { allConstant } from '../graph/query.js';

export interface Affine { s: Value; t: Value }

/** Checks that a BatchNormalization node is inference-mode with constant parameters. */
export function bnCheck(bn: Node): string | null {
  if (bn.outputs.length !== 1) return 'BatchNormalization in training mode (extra outputs)';
  if (bn.attrInt('training_mode', 0) !== 0) return 'BatchNormalization in training mode';
  if (!allConstant(bn.inputs.slice(1))) return 'BatchNormalization parameters are not constant initializers';
  return null;
}

export function bnAffine(b: Builder, bn: Node): Affine {
  const [, gamma, beta, mean, variance] = bn.inputs as Value[];
  const eps = b.scalar(bn.attrFloat('epsilon', 1e-5), 'eps');
  const s = b.div(gamma!, b.op('Sqrt', [b.add(variance!, eps, 'var_eps')]), 'bn_scale');
  const t = b.sub(beta!, b.mul(mean!, s, 'mean_scaled'), 'bn_shift');
  return { s, t };
}

/** Name for a bias that goes with weight `w` ("x.weight" → "x.bias"). */
export function biasNameFor(w: Value): string {
  return w.name.endsWith('.weight') ? `${w.name.slice(0, -'.weight'.length)}.bias` : `${w.name}_bias`;
}
