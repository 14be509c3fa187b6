/**
 * conv-affine: fold a constant per-output-channel scale or shift into the conv before it
 * (FastViT's layer scale γ, a bias added after a conv).
 *
 *   Mul(Conv(x; W, b), c) = Conv(x; W′, b′)   W′[o] = c[o]·W[o],  b′[o] = c[o]·b[o]
 *   Add(Conv(x; W, b), c) = Conv(x; W,  b′)   b′[o] = b[o] + c[o]                    (b = 0 if absent)
 *
 * c must broadcast along the output-channel axis only: a scalar, [C,1,1], [1,C,1,1] (or any shape
 * whose non-unit dimension lines up with axis 1), and the result must keep the conv's own shape.
 * Exact: a per-channel factor commutes with the convolution sum of that channel.
 *
 *   Before:  x ─Conv(W,b)─► y ─Mul(γ)─► z        After:  x ─Conv(γ·W, γ·b)─► z
 *
 * Fires only when y has no other use and W (and b) are constants owned by the conv.
 */
import { Builder } from '../graph/builder.js';
import type { Node, Value } from '../graph/ir.js';
import { producedBy } from '../graph/query.js';
import { Tensor } from '../graph/tensor.js';
import { biasNameFor } from './bn-affine.js';
import { convGeometry, rewritableConv, sameShape } from './conv-geometry.js';
import { fail, type Fail, type Rule } from './driver.js';

interface ConvAffine { node: Node; conv: Node; c: Value; perChannel: boolean }

/** Whether constant `c` broadcasts against [N, out, …] along axis 1 only (null) or why not. */
function channelBroadcast(c: Value, rank: number, out: number): { perChannel: boolean } | string {
  const shape = c.shape as number[];
  if (shape.length > rank) return `constant ${c.name} has higher rank than the conv output`;
  let perChannel = false;
  for (let i = 0; i < shape.length; i++) {
    const axis = rank - shape.length + i;
    if (shape[i] === 1) continue;
    if (axis === 1 && shape[i] === out) { perChannel = true; continue; }
    return `constant ${c.name} [${shape}] varies along axis ${axis}, not only the output channels`;
  }
  return { perChannel };
}

export const convAffine: Rule<ConvAffine> = {
  name: 'conv-affine',
  ops: ['Mul', 'Add'],
  match(node): ConvAffine | Fail {
    const [a, b] = node.inputs;
    if (!a || !b) return fail('missing operand');
    const convSide = producedBy(a, 'Conv') ? a : producedBy(b, 'Conv') ? b : null;
    if (!convSide) return fail('no operand is produced by a Conv');
    const c = convSide === a ? b : a;
    if (!c.constant || c.isGraphInput) return fail('the other operand is not a constant');
    if (c.dtype !== convSide.dtype) return fail(`constant ${c.name} is ${c.dtype}, the conv output ${convSide.dtype}`);
    const conv = convSide.producer!;
    const geo = convGeometry(conv);
    if (typeof geo === 'string') return fail(geo);
    const why = rewritableConv(conv);
    if (why) return fail(why);
    if (!sameShape(node.output, convSide)) return fail('the constant broadcasts the conv output to a larger shape');
    const bc = channelBroadcast(c, convSide.shape.length, geo.out);
    if (typeof bc === 'string') return fail(bc);
    return { node, conv, c, perChannel: bc.perChannel };
  },
  rewrite({ node, conv, c, perChannel }, b0) {
    const b = new Builder(b0.g, conv.name);
    const out = conv.input(1).shape[0] as number;
    const w = conv.input(1);
    const bias = conv.inputs[2] ?? null;
    const cVec = b.reshape(c, [perChannel ? out : 1]); // [O] or [1]: broadcasts against a bias [O]
    let w2 = w, b2: Value | null = bias;
    if (node.op === 'Mul') {
      w2 = b.mul(w, b.reshape(c, [perChannel ? out : 1, 1, 1, 1]), 'w_scaled');
      if (bias) b2 = b.mul(bias, cVec, 'b_scaled');
    } else {
      const base = bias ?? b.constant('zero_bias', new Tensor('float32', [out]));
      b2 = b.add(base, cVec, 'b_shifted');
    }
    const y = b.node('Conv', b2 ? [conv.input(0), w2, b2] : [conv.input(0), w2], conv.attrs, { name: '' }).output;
    const names: [Value, string][] = [[w2, w.name]];
    if (b2) names.push([b2, bias?.name ?? biasNameFor(w)]);
    return { replace: [[node.output, y]], names };
  },
};
