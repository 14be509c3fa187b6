/**
 * merge-parallel-convs: two convs of the same input, added or subtracted, become one conv
 * (RepVGG/MobileOne branch sum, RepLK's 7×7 + 3×3, RepMixer's mixer − norm).
 *
 *   Conv(x; Wa, ba) ± Conv(x; Wb, bb) = Conv(x; Wa ± pad(Wb), ba ± bb)      (absent bias = 0)
 *
 * Requirements: equal strides and groups, dilation 1, equal output shapes, and sampling windows
 * that line up (models-spec rules 5–6): per axis the window of the bigger kernel, taps
 * −pa … −pa + ka − 1 around o·s, contains the smaller one's, −pb … −pb + kb − 1. The smaller kernel
 * is zero-padded by (pa − pb) before and (ka − kb) − (pa − pb) after, and the merged conv keeps the
 * bigger conv's attributes. A 1×1 pad 0 conv sits in a 3×3 pad 1 one (also with stride 2); a 3×3
 * pad 1 in a 7×7 pad 3. Exact: convolution is linear in its weights, and both convs read zero at
 * the same out-of-image positions.
 *
 *   Before:  x ─┬─Conv(W7, pad 3)─► Add ─►      After:  x ─Conv(W7 + pad₂(W3), b7 + b3, pad 3)─►
 *               └─Conv(W3, pad 1)──┘
 *
 * Fires only when both conv outputs have one use and their weights are constants they own.
 */
import { Builder } from '../graph/builder.js';
import { attr, type Node, type Value } from '../graph/ir.js';
import { producedBy } from '../graph/query.js';
import { Tensor } from '../graph/tensor.js';
import { commonModule, convGeometry, type ConvGeometry, joinName, moduleOf, rewritableConv, sameShape } from './conv-geometry.js';
import { fail, type Fail, type Rule } from './driver.js';

interface MergeParallel { node: Node; a: Node; b: Node; big: 'a' | 'b'; ga: ConvGeometry; gb: ConvGeometry }

/** Whether the window of `outer` contains the window of `inner` on both axes. */
function contains(outer: ConvGeometry, inner: ConvGeometry): boolean {
  for (let i = 0; i < 2; i++) {
    if (-inner.begin[i]! < -outer.begin[i]!) return false;
    if (-inner.begin[i]! + inner.k[i]! > -outer.begin[i]! + outer.k[i]!) return false;
  }
  return true;
}

export const mergeParallelConvs: Rule<MergeParallel> = {
  name: 'merge-parallel-convs',
  ops: ['Add', 'Sub'],
  match(node): MergeParallel | Fail {
    const a = producedBy(node.inputs[0], 'Conv');
    const b = producedBy(node.inputs[1], 'Conv');
    if (!a || !b) return fail('operands are not both produced by Convs');
    if (a === b) return fail('both operands are the same conv');
    if (a.input(0) !== b.input(0)) return fail('the convs read different inputs');
    const ga = convGeometry(a), gb = convGeometry(b);
    if (typeof ga === 'string') return fail(ga);
    if (typeof gb === 'string') return fail(gb);
    const why = rewritableConv(a) ?? rewritableConv(b);
    if (why) return fail(why);
    if (ga.group !== gb.group) return fail(`groups differ (${ga.group} vs ${gb.group})`);
    if (ga.strides.some((s, i) => s !== gb.strides[i])) return fail('strides differ');
    if ([...ga.dilations, ...gb.dilations].some((d) => d !== 1)) return fail('dilation ≠ 1');
    if (!sameShape(a.output, b.output) || !sameShape(node.output, a.output)) return fail('output shapes differ');
    const big = contains(ga, gb) ? 'a' : contains(gb, ga) ? 'b' : null;
    if (!big) return fail('sampling windows do not line up (kernel/padding offsets differ)');
    return { node, a, b, big, ga, gb };
  },
  rewrite({ node, a, b: bConv, big, ga, gb }, b0) {
    const [outer, inner] = big === 'a' ? [a, bConv] : [bConv, a];
    const [go, gi] = big === 'a' ? [ga, gb] : [gb, ga];
    const wa = a.input(1), wb = bConv.input(1);
    const prefix = commonModule(moduleOf(moduleOf(wa.name)), moduleOf(moduleOf(wb.name)));
    const module = joinName(prefix, 'reparam_conv');
    const b = new Builder(b0.g, module);
    // zero-pad the inner kernel into the outer window
    const before = [go.begin[0] - gi.begin[0], go.begin[1] - gi.begin[1]];
    const after = [go.k[0] - gi.k[0] - before[0]!, go.k[1] - gi.k[1] - before[1]!];
    let wi: Value = inner.input(1);
    if ([...before, ...after].some((p) => p !== 0)) {
      wi = b.op('Pad', [wi, b.ints([0, 0, before[0]!, before[1]!, 0, 0, after[0]!, after[1]!], 'pads')], { mode: attr.string('constant') }, 'pad_kernel');
    }
    const [w1, w2] = big === 'a' ? [outer.input(1), wi] : [wi, outer.input(1)];
    const w = b.op(node.op, [w1, w2], {}, 'weight');
    const ba = a.inputs[2] ?? null, bb = bConv.inputs[2] ?? null;
    let bias: Value | null = null;
    if (ba || bb) {
      const zero = (): Value => b.constant('zero_bias', new Tensor('float32', [go.out]));
      bias = b.op(node.op, [ba ?? zero(), bb ?? zero()], {}, 'bias');
    }
    const y = b.node('Conv', bias ? [a.input(0), w, bias] : [a.input(0), w], outer.attrs, { name: '' }).output;
    const names: [Value, string][] = [[w, joinName(module, 'weight')]];
    if (bias) names.push([bias, joinName(module, 'bias')]);
    return { replace: [[node.output, y]], names };
  },
};
