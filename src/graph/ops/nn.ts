/**
 * Convolutions, pools, normalizations, matrix products and reductions.
 *
 *   Conv           y: [N, C_out, ⌊(in + pads − ((k−1)·d + 1)) / s⌋ + 1 …]   MACs |y| · C_in/g · ∏k
 *   ConvTranspose  y: s·(in − 1) + output_padding + (k−1)·d + 1 − pads       MACs |x| · C_out/g · ∏k
 *   MatMul         [..., M, K] × [..., K, N] → [..., M, N] (batch broadcast) MACs |y| · K
 *   Gemm           M · N · K
 */
import { averagePoolRule, axesInputRule, groupNormRule, layerNormRule, reduceRule } from './opsets.js';
import type { Attrs, Dim } from '../ir.js';
import { numel, type Tensor } from '../tensor.js';
import { broadcast, convLike, fail, int, ints, needRank, normAxis, compatDim, shapeToString, t, type InferFn, UNKNOWN } from './infer-util.js';
import { forEachRun, getInt, make, nums } from './kernel-util.js';
import { defineOp, type Kernel } from './registry.js';

const size = (dims: readonly Dim[]) => dims.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
const num = (d: Dim | undefined) => (typeof d === 'number' ? d : 1);

defineOp('Conv', {
  infer: (ins, attrs) => {
    const x = t(ins, 0), w = t(ins, 1, 'weight');
    needRank(x, 3, 'Conv');
    const g = int(attrs, 'group', 1);
    if (x.shape.length !== w.shape.length) fail(`input rank ${x.shape.length} vs weight rank ${w.shape.length}`);
    const cin = x.shape[1]!, wcin = w.shape[1]!;
    if (typeof cin === 'number' && typeof wcin === 'number' && cin !== wcin * g) {
      fail(`input has ${cin} channels but weight ${shapeToString(w.shape)} with group ${g} expects ${Number(wcin) * g}`);
    }
    const kshape = ints(attrs, 'kernel_shape', w.shape.slice(2).map(Number));
    if (kshape.some((k, i) => k !== w.shape[2 + i])) fail(`kernel_shape [${kshape}] disagrees with weight ${shapeToString(w.shape)}`);
    const b = ins[2]?.type;
    if (b && (b.shape.length !== 1 || !compatDim(b.shape[0]!, w.shape[0]!))) fail(`bias ${shapeToString(b.shape)} does not match ${w.shape[0]} output channels`);
    return [{ dtype: x.dtype, shape: convLike(x, w.shape[0]!, attrs, false, w.shape.slice(2)) }];
  },
  macs: (n) => size(n.output.shape) * size(n.input(1).shape.slice(1)),
});

defineOp('ConvTranspose', {
  infer: (ins, attrs) => {
    const x = t(ins, 0), w = t(ins, 1, 'weight');
    needRank(x, 3, 'ConvTranspose');
    const g = int(attrs, 'group', 1);
    const sp = x.shape.length - 2;
    if (w.shape.length !== x.shape.length) fail(`input rank ${x.shape.length} vs weight rank ${w.shape.length}`);
    const k = ints(attrs, 'kernel_shape', w.shape.slice(2).map(Number));
    const s = ints(attrs, 'strides', Array(sp).fill(1));
    const p = ints(attrs, 'pads', Array(2 * sp).fill(0));
    const d = ints(attrs, 'dilations', Array(sp).fill(1));
    const op = ints(attrs, 'output_padding', Array(sp).fill(0));
    if (k.length !== sp || s.length !== sp || d.length !== sp || op.length !== sp || p.length !== 2 * sp) fail(`ConvTranspose attributes do not match ${sp} spatial dims`);
    if (attrs['output_shape'] || (attrs['auto_pad'] && !(attrs['auto_pad'].kind === 'string' && attrs['auto_pad'].value === 'NOTSET'))) fail('ConvTranspose output_shape / auto_pad are not supported');
    if (x.shape[1] !== w.shape[0]) fail(`input has ${x.shape[1]} channels, weight expects ${w.shape[0]}`);
    const out: Dim[] = [x.shape[0]!, (w.shape[1] as number) * g];
    for (let i = 0; i < sp; i++) {
      const n = x.shape[2 + i];
      if (typeof n !== 'number') { out.push(UNKNOWN); continue; }
      const o = s[i]! * (n - 1) + op[i]! + ((k[i]! - 1) * d[i]! + 1) - p[i]! - p[sp + i]!;
      if (o < 1) fail(`ConvTranspose output dimension ${o} < 1`);
      out.push(o);
    }
    return [{ dtype: x.dtype, shape: out }];
  },
  macs: (n) => size(n.input(0).shape) * size(n.input(1).shape.slice(1)),
});

defineOp('BatchNormalization', {
  infer: (ins) => {
    const x = t(ins, 0);
    needRank(x, 2, 'BatchNormalization');
    for (let i = 1; i <= 4; i++) {
      const p = t(ins, i, `BatchNormalization input ${i}`);
      if (p.shape.length !== 1 || !compatDim(p.shape[0]!, x.shape[1]!)) fail(`parameter ${i} ${shapeToString(p.shape)} does not match ${x.shape[1]} channels`);
    }
    return [x];
  },
});

defineOp('LayerNormalization', {
  infer: (ins, attrs) => {
    const x = t(ins, 0);
    const axis = normAxis(int(attrs, 'axis', -1), x.shape.length);
    const norm = x.shape.slice(axis);
    const sc = t(ins, 1, 'scale');
    if (sc.shape.length !== norm.length || sc.shape.some((d, i) => !compatDim(d, norm[i]!))) fail(`scale ${shapeToString(sc.shape)} does not match normalized shape ${shapeToString(norm)}`);
    return [x];
  },
  opsets: layerNormRule,
});
defineOp('GroupNormalization', { opsets: groupNormRule });
// QDQ (quant/qdq.ts): y has x's shape; Q's type is the zero point's (uint8 when absent), DQ's the scale's
defineOp('QuantizeLinear', { infer: (ins) => [{ dtype: ins[2]?.type?.dtype ?? 'uint8', shape: t(ins, 0).shape }] });
defineOp('DequantizeLinear', { infer: (ins) => [{ dtype: t(ins, 1, 'scale').dtype, shape: t(ins, 0).shape }] });
/** Normalizes each (batch, channel) slice over the spatial axes; scale and B are [C]. Statistics stay float32 under fp16. */
defineOp('InstanceNormalization', {
  infer: (ins) => {
    const x = t(ins, 0);
    if (x.shape.length < 3) fail(`InstanceNormalization needs rank ≥ 3, got ${shapeToString(x.shape)}`);
    for (let i = 1; i <= 2; i++) {
      const p = t(ins, i, `InstanceNormalization input ${i}`);
      if (p.shape.length !== 1 || !compatDim(p.shape[0]!, x.shape[1]!)) fail(`parameter ${i} ${shapeToString(p.shape)} does not match ${x.shape[1]} channels`);
    }
    return [x];
  },
  fp16: 'fp32',
});

/** 2-D MatMul in float64, rounded once; every product is formed (0 · Inf = NaN, as in IEEE). */
const matmul2d: Kernel = ([a, b]) => {
  const [m, k] = a!.shape as [number, number];
  const n = b!.shape[1]!;
  const x = nums(a!), y = nums(b!);
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
    const xv = x[i * k + p]!;
    for (let j = 0; j < n; j++) out[i * n + j]! += xv * y[p * n + j]!;
  }
  return [make(a!.dtype, [m, n], out)];
};

defineOp('MatMul', {
  infer: (ins) => {
    const a = t(ins, 0), b = t(ins, 1);
    if (a.shape.length < 2 || b.shape.length < 2) fail('MatMul operands must have rank ≥ 2');
    const k1 = a.shape[a.shape.length - 1]!, k2 = b.shape[b.shape.length - 2]!;
    if (!compatDim(k1, k2)) fail(`MatMul inner dimensions differ: ${shapeToString(a.shape)} × ${shapeToString(b.shape)}`);
    const batch = broadcast(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return [{ dtype: a.dtype, shape: [...batch, a.shape[a.shape.length - 2]!, b.shape[b.shape.length - 1]!] }];
  },
  fold: {
    dtypes: ['float32'],
    when: ([a, b]) => (a!.shape.length === 2 && b!.shape.length === 2 ? null : 'only 2-D MatMul is folded'),
    run: matmul2d,
  },
  macs: (n) => { const a = n.input(0).shape; return size(n.output.shape) * num(a[a.length - 1]); },
});

defineOp('Gemm', {
  infer: (ins, attrs) => {
    const a = t(ins, 0), b = t(ins, 1);
    if (a.shape.length !== 2 || b.shape.length !== 2) fail('Gemm operands must be 2-D');
    const ta = int(attrs, 'transA', 0), tb = int(attrs, 'transB', 0);
    const [m, k1] = ta ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [k2, n] = tb ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (!compatDim(k1, k2)) fail(`Gemm inner dimensions differ: ${k1} vs ${k2}`);
    return [{ dtype: a.dtype, shape: [m, n] }];
  },
  macs: (n) => { const a = n.input(0).shape; return size(n.output.shape) * num(n.attrInt('transA', 0) ? a[0] : a[1]); },
});

// ---------------------------------------------------------------- pools

const pool = (op: string): InferFn => (ins, attrs) => {
  const x = t(ins, 0);
  needRank(x, 3, op);
  return [{ dtype: x.dtype, shape: convLike(x, x.shape[1]!, attrs, int(attrs, 'ceil_mode', 0) === 1) }];
};
defineOp('AveragePool', { infer: pool('AveragePool'), opsets: averagePoolRule });
defineOp('MaxPool', { infer: pool('MaxPool') });
defineOp('GlobalAveragePool', {
  infer: (ins) => {
    const x = t(ins, 0);
    needRank(x, 3, 'GlobalAveragePool');
    return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] }];
  },
  fp16: 'fp32',
});
defineOp('GlobalLpPool', { fp16: 'fp32' });

// ---------------------------------------------------------------- reductions

function reduceAxes(ins: Parameters<InferFn>[0], attrs: Parameters<InferFn>[1], r: number): Set<number> {
  const given = attrs['axes'] ? ints(attrs, 'axes') : ins[1]?.constant ? ins[1].constant.toNumbers() : ins[1]?.type ? fail('reduction axes must be a constant') : [];
  // none or empty: every axis, unless noop_with_empty_axes = 1 (then none: the identity)
  const axes = given.length > 0 ? given : int(attrs, 'noop_with_empty_axes', 0) === 1 ? [] : [...Array(r).keys()];
  return new Set(axes.map((a) => normAxis(a, r)));
}

const reduceLike: InferFn = (ins, attrs) => {
  const x = t(ins, 0);
  const r = x.shape.length;
  const ax = reduceAxes(ins, attrs, r);
  const keep = int(attrs, 'keepdims', 1);
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => { if (!ax.has(i)) shape.push(d); else if (keep) shape.push(1); });
  return [{ dtype: x.dtype, shape }];
};

/** Sum / mean / max over `axes` (all when absent or empty, none with noop_with_empty_axes = 1). */
function reduce(kind: 'sum' | 'mean' | 'max'): Kernel {
  return (inputs, attrs) => {
    const x0 = inputs[0]!;
    const r = x0.shape.length;
    const axes = reduceAxes(inputs.map((c) => ({ type: null, constant: c })), attrs, r);
    const keep = getInt(attrs, 'keepdims', 1);
    const outShapeKeep = x0.shape.map((d, i) => (axes.has(i) ? 1 : d));
    const n = numel(outShapeKeep);
    const acc = new Float64Array(n).fill(kind === 'max' ? -Infinity : 0);
    const x = nums(x0);
    // walk the input in runs; "operand A" is the input itself, "operand B" the accumulator slot
    forEachRun(x0.shape, x0.shape, outShapeKeep, (o, _ia, ib, len, _sa, sb) => {
      for (let k = 0; k < len; k++) {
        const j = ib + k * sb;
        const v = x[o + k]!;
        acc[j] = kind === 'max' ? (Number.isNaN(v) || Number.isNaN(acc[j]!) ? NaN : Math.max(acc[j]!, v)) : acc[j]! + v;
      }
    });
    if (kind === 'mean') { const cnt = x0.size / n; for (let i = 0; i < n; i++) acc[i]! /= cnt; }
    const shape = keep ? outShapeKeep : x0.shape.filter((_, i) => !axes.has(i));
    return [make(x0.dtype, shape, acc)];
  };
}

const reduceWhen = (inputs: readonly (Tensor | null)[], attrs: Attrs): string | null => {
  if (inputs[0]!.size === 0) return 'empty reduction';
  return null;
};

defineOp('ReduceSum', { infer: reduceLike, fold: { dtypes: ['float32'], operands: [0], when: reduceWhen, run: reduce('sum') }, opsets: axesInputRule, fp16: 'fp32' });
defineOp('ReduceMean', { infer: reduceLike, fold: { dtypes: ['float32'], operands: [0], when: reduceWhen, run: reduce('mean') }, opsets: reduceRule, fp16: 'fp32' });
defineOp('ReduceMax', { infer: reduceLike, fold: { dtypes: ['float32'], operands: [0], when: reduceWhen, run: reduce('max') }, opsets: reduceRule });
defineOp('ReduceMin', { infer: reduceLike, opsets: reduceRule });
for (const op of ['ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']) {
  defineOp(op, { infer: reduceLike, opsets: reduceRule, fp16: 'fp32' });
}
