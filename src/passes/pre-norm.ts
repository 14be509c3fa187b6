/**
 * merge-pre-norm: fold a BatchNorm into the linear layers that read it (Next-ViT's `merge_bn`,
 * generalized). BN(x) = s⊙x + t per channel. Follow every use of BN's output through ops that
 * carry the channel axis unchanged and are linear with unit weight sum per channel — Reshape,
 * Transpose, Flatten, Identity, AveragePool (padding not counted), GlobalAveragePool,
 * ReduceMean over other axes — down to "absorbers" that contract the channel axis with a constant
 * weight:
 *
 *   Conv (group 1, zero padding)   W′[o,i,…] = W[o,i,…]·s[i]     b′ = b + Σ_{i,…} W[o,i,…]·t[i]
 *   MatMul(x, B[C,O])              B′ = diag(s)·B                 + t·B added after it
 *   Gemm(x, B, transB)             same on B's input axis         c′ = c + B·t
 *
 * The carriers commute with the affine map (a mean of s·x+t is s·mean(x)+t), so the BN can be
 * bypassed once every absorber has taken s and t. A BN feeding another BN through carriers is
 * folded after the later one has been absorbed (the driver's fixed point does that), which gives
 * Next-ViT's two-BN E-MHSA key/value merge. Exact: no approximation beyond float rounding.
 *
 *   Before:  x ─BN─► u ─Reshape─► ─Transpose─► MatMul(Bq) ─Add(bq)─►      After:  x ─Reshape─► ─Transpose─► MatMul(B′q) ─Add(b′q)─►
 *                       └─AveragePool─► ─Transpose─► MatMul(Bk) ─►                     └─AveragePool─► ─Transpose─► MatMul(B′k) ─Add(t·Bk)─►
 *
 * merge-pre-affine: the same for a per-channel affine written as Add(Mul(x, s), t) with constant
 * s, t of one value per channel of axis 1 (the weight and bias of a GroupNorm(1) after its
 * normalization, MobileViT v2's pre-norms).
 */
import { Builder } from '../graph/builder.js';
import { attr, type Node, type Value } from '../graph/ir.js';
import { ownedConstant } from '../graph/query.js';
import { sameDim, shapeProduct } from '../graph/shapes.js';
import { biasNameFor, bnAffine, bnCheck } from './bn-affine.js';
import { fail, type Fail, isFail, type Rewrite, type Rule } from './driver.js';

interface Absorber { node: Node; axis: number }
interface PreNorm { bn: Node; absorbers: Absorber[] }

/** Where the channel axis goes through a carrier op, or null if `n` does not carry it. */
export function carry(n: Node, axis: number, c: number): number | null {
  const inShape = n.input(0).shape;
  const out = n.outputs[0]!.shape;
  switch (n.op) {
    case 'Identity': return axis;
    case 'Transpose': return n.attrInts('perm').indexOf(axis);
    case 'Reshape': case 'Flatten': {
      // the channel dimension must survive as its own output axis with the same prefix volume
      const prefix = shapeProduct(inShape.slice(0, axis));
      for (let a = 0; a < out.length; a++) {
        if (sameDim(shapeProduct(out.slice(0, a)), prefix) && sameDim(out[a]!, c)) return a;
      }
      return null;
    }
    case 'AveragePool': {
      if (axis !== 1) return null;
      const pads = n.attrInts('pads', []);
      if (pads.some((p) => p !== 0) && n.attrInt('count_include_pad', 0) !== 0) return null;
      return 1;
    }
    case 'GlobalAveragePool': return axis === 1 ? 1 : null;
    case 'ReduceMean': {
      const r = inShape.length;
      const axes = n.attrInts('axes', []).map((a) => (a < 0 ? a + r : a));
      if (axes.length === 0 || axes.includes(axis)) return null;
      return n.attrInt('keepdims', 1) ? axis : axis - axes.filter((a) => a < axis).length;
    }
    default: return null;
  }
}

function absorbs(n: Node, v: Value, axis: number): string | null {
  const rank = v.shape.length;
  switch (n.op) {
    case 'Conv': {
      if (n.inputs[0] !== v || axis !== 1) return 'Conv reads it off the channel axis';
      if (n.attrInt('group', 1) !== 1) return 'grouped Conv';
      if (n.attrInts('pads', []).some((p) => p !== 0)) return 'padded Conv (padding would not see the shift)';
      if (!ownedConstant(n.input(1), n) || (n.inputs[2] && !ownedConstant(n.inputs[2], n))) return 'Conv weights are not constants owned by it';
      return null;
    }
    case 'MatMul': {
      if (n.inputs[0] !== v || axis !== rank - 1) return 'MatMul does not contract the channel axis';
      const w = n.inputs[1];
      if (!ownedConstant(w, n) || w!.shape.length !== 2) return 'MatMul weight is not a 2-D constant owned by it';
      return null;
    }
    case 'Gemm': {
      if (n.inputs[0] !== v || axis !== 1 || n.attrInt('transA', 0) !== 0) return 'Gemm does not contract the channel axis';
      if (n.attrFloat('alpha', 1) !== 1 || n.attrFloat('beta', 1) !== 1) return 'Gemm with alpha/beta ≠ 1';
      if (!ownedConstant(n.input(1), n) || (n.inputs[2] && !ownedConstant(n.inputs[2], n))) return 'Gemm weights are not constants owned by it';
      return null;
    }
    default: return `${n.op} ${n.label} neither carries the channel axis nor absorbs it`;
  }
}

/** The linear layers that read `out` (channel axis 1, `c` channels) through carriers, or why it cannot be absorbed. */
function findAbsorbers(out: Value, c: number): Absorber[] | Fail {
  const absorbers: Absorber[] = [];
  const seen = new Set<Node>();
  const stack: [Value, number][] = [[out, 1]];
  while (stack.length) {
    const [v, axis] = stack.pop()!;
    if (v.isGraphOutput) return fail(`${v.name} is a graph output`);
    for (const u of v.uses) {
      const n = u.node;
      if (seen.has(n)) return fail(`${n.label} reads the normalized tensor twice`);
      seen.add(n);
      const next = u.slot === 0 ? carry(n, axis, c) : null;
      if (next !== null && next >= 0) { stack.push([n.outputs[0]!, next]); continue; }
      const no = absorbs(n, v, axis);
      if (no) return fail(no);
      absorbers.push({ node: n, axis });
    }
  }
  if (absorbers.length === 0) return fail('no consumer to absorb it');
  return absorbers;
}

export const mergePreNorm: Rule<PreNorm> = {
  name: 'merge-pre-norm',
  ops: ['BatchNormalization'],
  match(bn): PreNorm | Fail {
    const why = bnCheck(bn);
    if (why) return fail(why);
    const c = bn.input(0).shape[1];
    if (typeof c !== 'number') return fail('channel dimension is symbolic');
    const absorbers = findAbsorbers(bn.output, c);
    return isFail(absorbers) ? absorbers : { bn, absorbers };
  },
  rewrite({ bn, absorbers }, b0) {
    const { s, t } = bnAffine(b0, bn);
    return absorbAffine(b0, bn.output, bn.input(0), absorbers, s, t);
  },
};

/** `v` is a constant with one value per channel of axis 1 of a rank-`rank` tensor ([c, 1, …] or [1, c, 1, …]). */
function perChannel(v: Value | null, rank: number, c: number): boolean {
  if (!v?.constant || v.isGraphInput) return false;
  const sh = v.shape;
  if (sh.length > rank || sh.length < rank - 1) return false;
  const padded = [...Array(rank - sh.length).fill(1), ...sh];
  return padded.every((d, i) => d === (i === 1 ? c : 1));
}

interface PreAffine { add: Node; x: Value; s: Value; t: Value; absorbers: Absorber[] }

export const mergePreAffine: Rule<PreAffine> = {
  name: 'merge-pre-affine',
  ops: ['Add'],
  match(add): PreAffine | Fail {
    const [a0, a1] = add.inputs as [Value, Value];
    const [m, t] = a0.producer?.op === 'Mul' && a1.constant ? [a0, a1] : a1.producer?.op === 'Mul' && a0.constant ? [a1, a0] : [null, null];
    if (!m || !t) return fail('not Add(Mul(x, s), t) with a constant t');
    if (m.isGraphOutput || m.uses.size !== 1) return fail(`${m.name} has other uses`);
    const [m0, m1] = m.producer!.inputs as [Value, Value];
    const [x, s] = m1.constant && !m0.constant ? [m0, m1] : m0.constant && !m1.constant ? [m1, m0] : [null, null];
    if (!x || !s) return fail('Mul is not x·s with one constant operand');
    const c = x.shape[1];
    if (x.shape.length < 2 || typeof c !== 'number') return fail('no static channel axis');
    if (!perChannel(s, x.shape.length, c) || !perChannel(t, x.shape.length, c)) return fail('scale or shift is not one value per channel of axis 1');
    const absorbers = findAbsorbers(add.output, c);
    return isFail(absorbers) ? absorbers : { add, x, s, t, absorbers };
  },
  rewrite({ add, x, s, t, absorbers }, b0) {
    const c = x.shape[1] as number;
    const b = new Builder(b0.g, add.name);
    return absorbAffine(b0, add.output, x, absorbers, b.reshape(s, [c]), b.reshape(t, [c]));
  },
};

/** Rewrites every absorber of `out` = s⊙x + t (s, t: [c]) to read `x` instead (see the header). */
function absorbAffine(b0: Builder, out: Value, x: Value, absorbers: readonly Absorber[], s: Value, t: Value): Rewrite {
  const c = x.shape[1] as number;
  const replace: [Value, Value][] = [[out, x]];
  const names: [Value, string][] = [];
  for (const { node: n } of absorbers) {
    const b = new Builder(b0.g, n.name);
    const w = n.input(1);
    if (n.op === 'Conv') {
      const k = w.shape.length - 2;
      const sw = b.reshape(s, [1, c, ...Array(k).fill(1)]);
      const tw = b.reshape(t, [1, c, ...Array(k).fill(1)]);
      const w2 = b.mul(w, sw, 'w_scaled');
      const axes = [...Array(k + 1).keys()].map((i) => i + 1);
      let extra = b.op('ReduceSum', [b.mul(w, tw, 'w_shift')], { axes: attr.ints(axes), keepdims: attr.int(0) });
      const bias = n.inputs[2];
      if (bias) extra = b.add(bias, extra, 'b_shifted');
      const y = b.node('Conv', [n.input(0), w2, extra], n.attrs, { name: '' }).output;
      replace.push([n.output, y]);
      names.push([w2, w.name], [extra, bias?.name ?? biasNameFor(w)]);
    } else if (n.op === 'MatMul') {
      const o = w.shape[1] as number;
      const w2 = b.mul(w, b.reshape(s, [c, 1]), 'w_scaled');
      const shift = b.reshape(b.matmul(b.reshape(t, [1, c]), w), [o]);
      const y = b.node('MatMul', [n.input(0), w2], {}, { name: '' }).output;
      const addNode = [...n.output.uses].length === 1 && !n.output.isGraphOutput ? [...n.output.uses][0]!.node : null;
      const bias = addNode?.op === 'Add' ? addNode.inputs.find((x) => x !== n.output && x?.constant && x.shape.length === 1 && sameDim(x.shape[0]!, o)) : undefined;
      if (addNode && bias && ownedConstant(bias, addNode)) {
        const b2 = b.add(bias, shift, 'b_shifted');
        replace.push([addNode.output, new Builder(b0.g, addNode.name).node('Add', [y, b2], {}, { name: '' }).output]);
        names.push([w2, w.name], [b2, bias.name]);
      } else {
        replace.push([n.output, b.add(y, shift, 'bias')]);
        names.push([w2, w.name], [shift, `${w.name}_bias`]);
      }
    } else {
      const transB = n.attrInt('transB', 0) === 1;
      const o = w.shape[transB ? 0 : 1] as number;
      const w2 = b.mul(w, b.reshape(s, transB ? [1, c] : [c, 1]), 'w_scaled');
      const wc = transB ? b.transpose(w, [1, 0]) : w;
      let shift = b.reshape(b.matmul(b.reshape(t, [1, c]), wc), [o]);
      const bias = n.inputs[2];
      if (bias) shift = b.add(bias, shift, 'b_shifted');
      const y = b.node('Gemm', [n.input(0), w2, shift], n.attrs, { name: '' }).output;
      replace.push([n.output, y]);
      names.push([w2, w.name], [shift, bias?.name ?? biasNameFor(w)]);
    }
  }
  return { replace, names };
}
