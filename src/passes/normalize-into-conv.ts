/**
 * normalize-into-conv: fold a per-input-channel scale, and where exact a shift, into the Conv that
 * reads them (the input normalization `--preprocess` puts in front of the stem).
 *
 *   scale:  Conv(x ⊙ s; W, b) = Conv(x; W′, b)          W′[o,c,i,j] = W[o,c,i,j]·s[c]
 *           exact with any zero padding: the padded border is 0·s = 0 either way.
 *   shift:  Conv(x + t; W, b) = Conv(x; W, b′)          b′[o] = b[o] + Σ_c,i,j W[o,c,i,j]·t[c]
 *           (Sub(x, t) is x + (−t)). Exact only when the conv pads nothing: with zero padding
 *           the border of x + t would be 0, not t, so border outputs would differ. The rule
 *           refuses any conv with padding (and auto_pad other than NOTSET/VALID).
 *
 *   Before:  u8 ─Cast─► x ─Sub(255·mean)─► ─Mul(1/(255·std))─► ─Conv(W,b)─►
 *   After:   u8 ─Cast─► x ─Sub(255·mean)─► ─Conv(W/(255·std), b)─►         (padded stem)
 *            u8 ─Cast─► x ─Conv(W/(255·std), b − Σ W·mean/std)─►         (unpadded stem)
 *
 * s and t must vary along axis 1 only ([1,C,1,1], [C,1,1] or a scalar). Fires when the Mul/Add/Sub
 * output has one use, the Conv's input 0, and the conv (group 1) owns its constant weights.
 */
import { Builder } from '../graph/builder.js';
import { attr, type Node, type Value } from '../graph/ir.js';
import { ownedConstant } from '../graph/query.js';
import { Tensor } from '../graph/tensor.js';
import { biasNameFor } from './bn-affine.js';
import { convGeometry } from './conv-geometry.js';
import { fail, type Fail, type Rule } from './driver.js';
import { constantOperand } from './scale-into-linear.js';

interface InputAffine { node: Node; conv: Node; v: Value; c: Value; cin: number }

/** The Conv reading `node`'s output as its only use, with the constant per-channel operand. */
function matchInputAffine(node: Node, constantFirstAllowed: boolean): InputAffine | Fail {
  const ops = constantOperand(node);
  if (typeof ops === 'string') return fail(ops);
  const { c, v } = ops;
  if (!constantFirstAllowed && node.inputs[0] === c) return fail('the constant is the minuend');
  if (!node.output.hasSingleUse()) return fail(`${node.output.name} has other uses`);
  const use = [...node.output.uses][0]!;
  const conv = use.node;
  if (conv.op !== 'Conv' || use.slot !== 0) return fail('the result is not a Conv input');
  const geo = convGeometry(conv);
  if (typeof geo === 'string') return fail(geo);
  if (geo.group !== 1) return fail(`grouped conv (group ${geo.group})`);
  if (!ownedConstant(conv.input(1), conv)) return fail('conv weight is not a constant owned by this conv');
  if (conv.inputs[2] && !ownedConstant(conv.inputs[2], conv)) return fail('conv bias is not a constant owned by this conv');
  const cin = conv.input(1).shape[1] as number;
  const rank = v.shape.length, cs = c.shape;
  if (cs.length > rank) return fail(`constant ${c.name} has higher rank than ${v.name}`);
  for (let i = 0; i < cs.length; i++) {
    const axis = rank - cs.length + i;
    if (cs[i] !== 1 && !(axis === 1 && cs[i] === cin)) return fail(`constant ${c.name} [${cs}] varies along axis ${axis}, not only the input channels`);
  }
  return { node, conv, v, c, cin };
}

/** [1, Cin, 1, 1] view of a per-channel (or scalar) constant, broadcast to Cin. */
function perChannel(b: Builder, c: Value, cin: number): Value {
  const flat = b.reshape(c, [-1]);
  const full = c.constant!.size === 1 ? b.op('Expand', [flat, b.ints([cin])]) : flat;
  return b.reshape(full, [1, cin, 1, 1]);
}

export const scaleIntoConv: Rule<InputAffine> = {
  name: 'scale-into-conv',
  ops: ['Mul'],
  match: (node) => matchInputAffine(node, true),
  rewrite({ conv, v, c, cin }, b0) {
    const b = new Builder(b0.g, conv.name);
    const w = conv.input(1);
    const w2 = b.mul(w, perChannel(b, c, cin), 'w_input_scaled');
    const bias = conv.inputs[2] ?? null;
    const y = b.node('Conv', bias ? [v, w2, bias] : [v, w2], conv.attrs, { name: '' }).output;
    return { replace: [[conv.output, y]], names: [[w2, w.name]] };
  },
};

export const shiftIntoConv: Rule<InputAffine> = {
  name: 'shift-into-conv',
  ops: ['Add', 'Sub'],
  match(node) {
    const m = matchInputAffine(node, node.op === 'Add');
    if ('failed' in m) return m;
    const geo = convGeometry(m.conv);
    if (typeof geo === 'string') return fail(geo);
    if ([...geo.begin, ...geo.end].some((p) => p !== 0)) return fail('the conv pads its input: a shift does not commute with zero padding');
    return m;
  },
  rewrite({ node, conv, v, c, cin }, b0) {
    const b = new Builder(b0.g, conv.name);
    const w = conv.input(1);
    const out = w.shape[0] as number;
    const t = node.op === 'Sub' ? b.op('Neg', [perChannel(b, c, cin)]) : perChannel(b, c, cin);
    const wt = b.op('ReduceSum', [b.mul(w, t), b.ints([1, 2, 3], 'axes')], { keepdims: attr.int(0) });
    const bias = conv.inputs[2] ?? b.constant('zero_bias', new Tensor('float32', [out]));
    const b2 = b.add(bias, wt, 'b_input_shifted');
    const y = b.node('Conv', [v, w, b2], conv.attrs, { name: '' }).output;
    return { replace: [[conv.output, y]], names: [[b2, conv.inputs[2]?.name ?? biasNameFor(w)]] };
  },
};
