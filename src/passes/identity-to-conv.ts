/**
 * identity-to-conv: next to a conv that reads x, write a bare x or BN(x) operand of Add/Sub as a
 * conv of x with the partner's kernel size, padding and groups, so that merge-parallel-convs can
 * sum the two (MobileOne identity branch, RepMixer's norm and residual, RepCPE's residual).
 *
 * Identity kernel (models-spec rule 4): partner weight [O, d, kh, kw] with O = C_in, d = C_in/g,
 * stride 1, dilation 1, leading pads (ph, pw) and ph + trailing = kh − 1 (likewise w):
 *   I[o, o mod d, ph, pw] = 1, all other entries 0   ⇒   Conv(x; I) = x  (output o reads input o at
 *   offset o − ph + ph = o; input channel o lies in group ⌊o/d⌋ = the group of output o).
 * With a BatchNorm (rule 1 on the identity): BN(x) = Conv(x; s[o]·I[o], t), s = γ/√(σ²+ε), t = β − μ·s.
 *
 *   Before:  x ─┬─Conv(W)──► Add ─►         After:  x ─┬─Conv(W)────► Add ─►
 *               └─BN────────┘                           └─Conv(s·I, t)─┘
 *
 * Fires only where the merge can follow: the partner's output has one use and its weights are
 * constants it owns, the BN's output has one use and constant statistics, shapes agree exactly.
 */
import { Builder } from '../graph/builder.js';
import type { Node, Value } from '../graph/ir.js';
import { producedBy } from '../graph/query.js';
import { Tensor } from '../graph/tensor.js';
import { bnAffine, bnCheck } from './bn-affine.js';
import { convGeometry, type ConvGeometry, joinName, moduleOf, rewritableConv, sameShape } from './conv-geometry.js';
import { fail, type Fail, type Rule } from './driver.js';

interface IdentityToConv { node: Node; conv: Node; convSlot: number; bn: Node | null; geo: ConvGeometry }

/** Why `conv` cannot have an identity partner of its own geometry, or null. */
function identityGeometry(geo: ConvGeometry, cin: number): string | null {
  if (geo.out !== cin) return `conv maps ${cin} channels to ${geo.out}`;
  if (geo.strides.some((s) => s !== 1)) return 'conv has stride ≠ 1';
  if (geo.dilations.some((d) => d !== 1)) return 'conv has dilation ≠ 1';
  for (let a = 0; a < 2; a++) {
    if (geo.begin[a]! + geo.end[a]! !== geo.k[a]! - 1 || geo.begin[a]! < 0 || geo.begin[a]! >= geo.k[a]!) return 'conv padding does not keep the spatial size';
  }
  return null;
}

function matchPair(node: Node, convSlot: number): IdentityToConv | string {
  const convOut = node.input(convSlot);
  const other = node.input(1 - convSlot);
  const conv = producedBy(convOut, 'Conv');
  if (!conv) return 'operand is not produced by a Conv';
  const x = conv.input(0);
  let bn: Node | null = null;
  if (other !== x) {
    bn = producedBy(other, 'BatchNormalization');
    if (!bn || bn.input(0) !== x) return 'the other operand is neither the conv input nor BatchNormalization of it';
    const why = bnCheck(bn);
    if (why) return why;
    if (!other.hasSingleUse()) return 'BatchNormalization output has other uses';
  }
  const geo = convGeometry(conv);
  if (typeof geo === 'string') return geo;
  const cin = x.shape[1];
  if (typeof cin !== 'number') return 'channel dimension is symbolic';
  const why = identityGeometry(geo, cin) ?? rewritableConv(conv);
  if (why) return why;
  if (!sameShape(convOut, other) || !sameShape(node.output, convOut)) return 'operand shapes differ';
  return { node, conv, convSlot, bn, geo };
}

/** The identity kernel I [C, C/g, kh, kw] with ones at (o, o mod d, ph, pw). */
export function identityKernel(c: number, geo: ConvGeometry): Tensor {
  const d = c / geo.group;
  const [kh, kw] = geo.k;
  const t = new Tensor('float32', [c, d, kh, kw]);
  const data = t.data as Float32Array;
  for (let o = 0; o < c; o++) data[((o * d + (o % d)) * kh + geo.begin[0]) * kw + geo.begin[1]] = 1;
  return t;
}

export const identityToConv: Rule<IdentityToConv> = {
  name: 'identity-to-conv',
  ops: ['Add', 'Sub'],
  match(node): IdentityToConv | Fail {
    if (!node.inputs[0] || !node.inputs[1]) return fail('missing operand');
    const first = matchPair(node, 0);
    if (typeof first !== 'string') return first;
    const second = matchPair(node, 1);
    if (typeof second !== 'string') return second;
    return fail(first);
  },
  rewrite({ node, conv, convSlot, bn, geo }, b0) {
    const x = conv.input(0);
    const c = geo.out;
    // names: the BN's own module, or (bare x) a sibling `identity` of the partner's module
    const module = bn ? moduleOf(bn.input(1).name) : joinName(moduleOf(moduleOf(conv.input(1).name)), 'identity');
    const b = new Builder(b0.g, module);
    const kernel = b.constant('identity_kernel', identityKernel(c, geo));
    let w: Value = kernel, bias: Value | null = null;
    if (bn) {
      const { s, t } = bnAffine(b, bn);
      w = b.mul(kernel, b.reshape(s, [c, 1, 1, 1]), 'w_scaled');
      bias = t;
    }
    const id = b.node('Conv', bias ? [x, w, bias] : [x, w], conv.attrs, { name: '' }).output;
    const operands = convSlot === 0 ? [node.input(0), id] : [id, node.input(1)];
    const y = new Builder(b0.g, node.name).node(node.op, operands, node.attrs, { name: '' }).output;
    const names: [Value, string][] = [[w, joinName(module, 'weight')]];
    if (bias) names.push([bias, joinName(module, 'bias')]);
    return { replace: [[node.output, y]], names };
  },
};
