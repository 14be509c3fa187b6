/**
 * slice-before-norm: a Slice that keeps whole rows of a LayerNormalization over the last axis is
 * moved in front of it, so the norm runs only on the rows that are kept.
 *
 *   LN normalizes each row x[…, :] (the last axis) on its own:  LN(x)[r] = (x[r] − μ_r)/σ_r·γ + β.
 *   A Reshape that keeps the last axis size keeps every row whole (row-major), and a Slice on other
 *   axes picks whole rows, so  Slice(Reshape(LN(x))) = LN(Slice(Reshape(x))),  element for element.
 *
 * EdgeViT's global sparse attention normalizes all H·W tokens and then keeps every sr-th row and
 * column of them (AvgPool2d(1, sr)): with sr = 4 the norm did 16× the work it needs.
 *
 *   Before:  x ─LayerNormalization─► ─Reshape[1,56,56,36]─► ─Slice(steps 4, 4)─►
 *   After:   x ─Reshape[1,56,56,36]─► ─Slice(steps 4, 4)─► ─LayerNormalization─►
 *
 * Not matched: a norm over more than the last axis, a Reshape that changes the last axis, a Slice
 * of the last axis (or without explicit axes), values with other uses, a norm with Mean/InvStdDev
 * outputs. Exact: the same float operations on the same rows.
 */
import { Builder } from '../graph/builder.js';
import { attr, type Node, type Value } from '../graph/ir.js';
import { fail, type Fail, type Rule } from './driver.js';

interface SliceBeforeNorm { slice: Node; reshapes: Node[]; norm: Node }

export const sliceBeforeNorm: Rule<SliceBeforeNorm> = {
  name: 'slice-before-norm',
  ops: ['Slice'],
  match(slice): SliceBeforeNorm | Fail {
    if (slice.domain) return fail('not a standard Slice');
    const reshapes: Node[] = [];
    let v: Value = slice.input(0);
    while (v.producer?.op === 'Reshape' && !v.producer.domain && v.hasSingleUse()) { reshapes.unshift(v.producer); v = v.producer.input(0); }
    const norm = v.producer;
    if (!norm || norm.op !== 'LayerNormalization' || norm.domain) return fail('the Slice does not read a LayerNormalization (through Reshapes)');
    if (!v.hasSingleUse() || norm.outputs.length !== 1) return fail(`${v.name} has other uses or outputs`);
    const rank = v.shape.length;
    const axis = norm.attrInt('axis', -1);
    if (axis !== -1 && axis !== rank - 1) return fail('the norm is over more than the last axis');
    const c = v.shape[rank - 1];
    if (typeof c !== 'number') return fail('the last axis is symbolic');
    for (const r of reshapes) if (r.output.shape[r.output.shape.length - 1] !== c) return fail(`${r.name} changes the last axis`);
    const axes = slice.inputs[3]?.constant?.toNumbers();
    const out = slice.output.shape.length;
    if (!axes) return fail('the Slice has no constant axes');
    if (axes.some((a) => (a < 0 ? a + out : a) === out - 1)) return fail('the Slice cuts the normalized axis');
    return { slice, reshapes, norm };
  },
  rewrite(m, b) {
    let x = m.norm.input(0);
    for (const r of m.reshapes) x = b.op('Reshape', [x, r.input(1)], r.attrs);
    x = b.op('Slice', [x, ...m.slice.inputs.slice(1)]);
    const y = new Builder(b.g, m.norm.name).op('LayerNormalization', [x, ...m.norm.inputs.slice(1)], { ...m.norm.attrs, axis: attr.int(-1) }, ''); // keeps the norm's node name
    return { replace: [[m.slice.output, y]] };
  },
};
