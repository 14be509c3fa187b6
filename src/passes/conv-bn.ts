/**
 * conv-bn: fold an inference BatchNorm into the convolution that feeds it.
 *
 *   y = BN(Conv(x; W, b))  with  s = γ/√(σ²+ε),  t = β − μ·s
 *     = Conv(x; W′, b′)    with  W′[o] = s[o]·W[o],  b′[o] = s[o]·b[o] + t[o]   (b = 0 if absent)
 *
 * Exact for any kernel, stride, dilation, group and (zero) padding: BN scales output channels.
 *
 *   Before:  x ─Conv(W)─► c ─BN(γ,β,μ,σ²)─► y        After:  x ─Conv(W′, b′)─► y
 *
 * Fires only when c has no other use and W (and b) are constants owned by this conv.
 */
import { Builder } from '../graph/builder.js';
import type { Node } from '../graph/ir.js';
import { ownedConstant, producedBy } from '../graph/query.js';
import { biasNameFor, bnAffine, bnCheck } from './bn-affine.js';
import { fail, type Fail, type Rule } from './driver.js';

interface ConvBn { bn: Node; conv: Node }

export const convBn: Rule<ConvBn> = {
  name: 'conv-bn',
  ops: ['BatchNormalization'],
  match(bn): ConvBn | Fail {
    const conv = producedBy(bn.input(0), 'Conv') ?? producedBy(bn.input(0), 'ConvTranspose');
    if (!conv) return fail('input is not produced by a Conv');
    if (conv.op === 'ConvTranspose' && conv.attrInt('group', 1) !== 1) return fail('grouped ConvTranspose: weight layout [in, out/g] not handled');
    if (!bn.input(0).hasSingleUse()) return fail('conv output has other uses');
    const why = bnCheck(bn);
    if (why) return fail(why);
    if (!ownedConstant(conv.input(1), conv)) return fail('conv weight is not a constant owned by this conv');
    if (conv.inputs[2] && !ownedConstant(conv.inputs[2], conv)) return fail('conv bias is not a constant owned by this conv');
    return { bn, conv };
  },
  rewrite({ bn, conv }, b0) {
    const b = new Builder(b0.g, conv.name);
    const { s, t } = bnAffine(b, bn);
    const w = conv.input(1);
    const cout = bn.input(0).shape[1] as number;
    // Conv weight is [out, in/g, …]; ConvTranspose (group 1) is [in, out, …]
    const sShape = conv.op === 'Conv' ? [cout, ...Array(w.shape.length - 1).fill(1)] : [1, cout, ...Array(w.shape.length - 2).fill(1)];
    const w2 = b.mul(w, b.reshape(s, sShape), 'w_scaled');
    const bias = conv.inputs[2];
    const b2 = bias ? b.add(b.mul(bias, s, 'b_scaled'), t, 'b_shifted') : t;
    const y = b.node(conv.op, [conv.input(0), w2, b2], conv.attrs, { name: '' }).output;
    return { replace: [[bn.output, y]], names: [[w2, w.name], [b2, bias?.name ?? biasNameFor(w)]] };
  },
};
