/**
 * Ops that move elements without arithmetic — Reshape, Flatten, Transpose, (Un)Squeeze, Concat,
 * Split, Slice, Gather, Pad, Expand, Resize — and the graph-constant ops exporters write: Constant
 * and Shape. Their kernels copy elements by index, so they are exact for every dtype.
 */
import { axesInputRule, padRule, resizeRule, splitRule } from './opsets.js';
import { type Attr, type Attrs, type Dim } from '../ir.js';
import { numel, ONNX_DTYPE, type DType, Tensor } from '../tensor.js';
import {
  broadcast, compatDim, constInts, dimDiv, fail, int, ints, intsOf, isUnknown, normAxis, shapeProduct, shapeToString, t, UNKNOWN,
} from './infer-util.js';
import { broadcastIndex, getInt, getInts, getString, strides, walk } from './kernel-util.js';
import { defineOp, type Kernel } from './registry.js';

const ALL: readonly DType[] = Object.keys(ONNX_DTYPE) as DType[];

/** A tensor of `t`'s dtype whose element o is t's element idx[o]. */
function pick(t: Tensor, shape: readonly number[], idx: ArrayLike<number>): Tensor {
  const src = t.data as unknown as { [i: number]: unknown; constructor: new (n: number) => unknown };
  const out = new src.constructor(idx.length) as { [i: number]: unknown };
  for (let o = 0; o < idx.length; o++) out[o] = src[idx[o]!];
  return new Tensor(t.dtype, shape, out as unknown as Tensor['data']);
}

function axesOf(inputs: readonly (Tensor | null)[], attrs: Attrs, rank: number): number[] {
  const a = attrs['axes'];
  const axes = a && a.kind === 'ints' ? [...a.value] : inputs[1] ? inputs[1].toNumbers() : [...Array(rank).keys()];
  return axes.map((x) => (x < 0 ? x + rank : x));
}

// ---------------------------------------------------------------- Reshape, Flatten, (Un)Squeeze, Transpose

defineOp('Reshape', {
  infer: (ins, attrs) => {
    const x = t(ins, 0);
    const st = t(ins, 1, 'Reshape shape');
    // a shape computed at run time (dynamic-axes exports): its length gives the rank
    if (!ins[1]!.constant && st.shape.length === 1 && typeof st.shape[0] === 'number') return [{ dtype: x.dtype, shape: Array(st.shape[0]).fill(UNKNOWN) }];
    const target = constInts(ins, 1, 'Reshape shape');
    const allowZero = int(attrs, 'allowzero', 0) === 1;
    const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? x.shape[i] ?? fail('Reshape 0 beyond input rank') : d));
    if (out.some((d) => typeof d === 'number' && d < -1)) fail(`Reshape shape [${target}] has a negative size`);
    const holes = out.filter((d) => d === -1).length;
    if (holes > 1) fail('Reshape has more than one -1');
    const total = shapeProduct(x.shape);
    if (holes === 1) {
      const known = shapeProduct(out.filter((d) => d !== -1));
      const vague = isUnknown(total) || isUnknown(known);
      const rest = dimDiv(total, known) ?? (vague ? UNKNOWN : fail(`cannot reshape ${shapeToString(x.shape)} to [${target}]`));
      out[out.indexOf(-1)] = rest;
    } else if (!compatDim(shapeProduct(out), total)) {
      fail(`cannot reshape ${shapeToString(x.shape)} (${total} elements) to [${target}]`);
    }
    return [{ dtype: x.dtype, shape: out }];
  },
  fold: {
    dtypes: ALL,
    when: (_ins, attrs) => (getInt(attrs, 'allowzero', 0) ? 'allowzero is not folded' : null),
    run: ([a, s]) => {
      const out = intsOf(s!).map((d, i) => (d === 0 ? a!.shape[i]! : d));
      const hole = out.indexOf(-1);
      if (hole >= 0) out[hole] = a!.size / numel(out.filter((d) => d !== -1));
      if (out.some((d) => !Number.isInteger(d) || d < 0) || numel(out) !== a!.size) fail(`cannot reshape [${a!.shape}] to [${intsOf(s!)}]`);
      return [a!.reshape(out)];
    },
  },
  layout: 'chain',
});

defineOp('Flatten', {
  infer: (ins, attrs) => {
    const x = t(ins, 0);
    const axis = int(attrs, 'axis', 1);
    const a = axis < 0 ? axis + x.shape.length : axis;
    if (a < 0 || a > x.shape.length) fail(`Flatten axis ${axis} out of range for rank ${x.shape.length}`);
    return [{ dtype: x.dtype, shape: [shapeProduct(x.shape.slice(0, a)), shapeProduct(x.shape.slice(a))] }];
  },
  fold: {
    dtypes: ALL,
    run: ([a], attrs) => {
      const ax0 = getInt(attrs, 'axis', 1);
      const ax = ax0 < 0 ? ax0 + a!.shape.length : ax0;
      return [a!.reshape([numel(a!.shape.slice(0, ax)), numel(a!.shape.slice(ax))])];
    },
  },
  layout: 'chain',
});

defineOp('Unsqueeze', {
  infer: (ins, attrs) => {
    const x = t(ins, 0);
    const axes = attrs['axes'] ? ints(attrs, 'axes') : constInts(ins, 1, 'Unsqueeze axes');
    const r = x.shape.length + axes.length;
    const ax = new Set(axes.map((a) => normAxis(a, r)));
    if (ax.size !== axes.length) fail(`Unsqueeze axes [${axes}] repeat`);
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) out.push(ax.has(i) ? 1 : x.shape[j++]!);
    return [{ dtype: x.dtype, shape: out }];
  },
  fold: {
    dtypes: ALL,
    run: (inputs, attrs) => {
      const a = inputs[0]!;
      const n = attrs['axes'] ? getInts(attrs, 'axes', []).length : inputs[1]!.size;
      const set = new Set(axesOf(inputs, attrs, a.shape.length + n));
      const shape: number[] = [];
      let j = 0;
      for (let i = 0; i < a.shape.length + n; i++) shape.push(set.has(i) ? 1 : a.shape[j++]!);
      return [a.reshape(shape)];
    },
  },
  opsets: axesInputRule,
  layout: 'chain',
});

defineOp('Squeeze', {
  infer: (ins, attrs) => {
    const x = t(ins, 0);
    const axes = attrs['axes'] ? ints(attrs, 'axes') : ins[1] ? constInts(ins, 1, 'Squeeze axes') : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    const ax = new Set(axes.map((a) => normAxis(a, x.shape.length)));
    for (const a of ax) if (!compatDim(x.shape[a]!, 1)) fail(`cannot squeeze axis ${a} of size ${x.shape[a]}`);
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !ax.has(i)) }];
  },
  fold: {
    dtypes: ALL,
    run: (inputs, attrs) => {
      const a = inputs[0]!;
      const given = attrs['axes'] || inputs[1];
      const axes = new Set(given ? axesOf(inputs, attrs, a.shape.length) : a.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
      return [a.reshape(a.shape.filter((_, i) => !axes.has(i)))];
    },
  },
  opsets: axesInputRule,
  layout: 'chain',
});

function checkPerm(perm: readonly number[], rank: number): void {
  if (perm.length !== rank || new Set(perm).size !== perm.length || perm.some((p) => !Number.isInteger(p) || p < 0 || p >= rank)) {
    fail(`bad perm [${perm}] for rank ${rank}`);
  }
}

defineOp('Transpose', {
  infer: (ins, attrs) => {
    const x = t(ins, 0);
    const perm = ints(attrs, 'perm', [...x.shape.keys()].reverse());
    checkPerm(perm, x.shape.length);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
  },
  fold: {
    dtypes: ALL,
    run: ([a], attrs) => {
      const perm = getInts(attrs, 'perm', [...a!.shape.keys()].reverse());
      checkPerm(perm, a!.shape.length);
      const inStr = strides(a!.shape);
      const shape = perm.map((p) => a!.shape[p]!);
      return [pick(a!, shape, walk(shape, 0, perm.map((p) => inStr[p]!)))];
    },
  },
  layout: 'chain',
});

// ---------------------------------------------------------------- Concat, Split

defineOp('Concat', {
  infer: (ins, attrs) => {
    const first = t(ins, 0);
    const axis = normAxis(int(attrs, 'axis', 0), first.shape.length);
    let total: Dim = 0;
    for (let i = 0; i < ins.length; i++) {
      const v = t(ins, i);
      if (v.dtype !== first.dtype) fail(`Concat inputs differ in element type: ${first.dtype} vs ${v.dtype}`);
      if (v.shape.length !== first.shape.length) fail('Concat inputs differ in rank');
      v.shape.forEach((d, j) => { if (j !== axis && !compatDim(d, first.shape[j]!)) fail(`Concat inputs differ at axis ${j}: ${shapeToString(first.shape)} vs ${shapeToString(v.shape)}`); });
      const d = v.shape[axis]!;
      total = typeof d === 'number' && typeof total === 'number' ? total + d : UNKNOWN;
    }
    const shape = [...first.shape];
    shape[axis] = total;
    return [{ dtype: first.dtype, shape }];
  },
  fold: {
    dtypes: ALL,
    run: (inputs, attrs) => {
      const ts = inputs as Tensor[];
      const r = ts[0]!.shape.length;
      const axis = normAxis(getInt(attrs, 'axis', 0), r);
      const outer = numel(ts[0]!.shape.slice(0, axis));
      const shape = [...ts[0]!.shape];
      shape[axis] = ts.reduce((s, x) => s + x.shape[axis]!, 0);
      const src = ts[0]!.data as unknown as { constructor: new (n: number) => { [i: number]: unknown } };
      const out = new src.constructor(numel(shape));
      let o = 0;
      for (let q = 0; q < outer; q++) {
        for (const x of ts) {
          const inner = numel(x.shape.slice(axis));
          const d = x.data as unknown as { [i: number]: unknown };
          for (let i = 0; i < inner; i++) out[o++] = d[q * inner + i];
        }
      }
      return [new Tensor(ts[0]!.dtype, shape, out as unknown as Tensor['data'])];
    },
  },
});

defineOp('Split', {
  infer: (ins, attrs) => {
    const x = t(ins, 0);
    const axis = normAxis(int(attrs, 'axis', 0), x.shape.length);
    const sizes = ins[1]?.constant ? ins[1].constant.toNumbers() : ints(attrs, 'split');
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (sizes.some((s) => s < 0) || !compatDim(x.shape[axis]!, sum)) fail(`Split sizes [${sizes}] do not add up to ${x.shape[axis]}`);
    return sizes.map((s) => { const shape = [...x.shape]; shape[axis] = s; return { dtype: x.dtype, shape }; });
  },
  opsets: splitRule,
});

// ---------------------------------------------------------------- Slice, Gather

interface SliceAxis { start: number; step: number; size: number }

/**
 * ONNX Slice on one axis of size n: negative start/end count from the end; with step > 0 start is
 * clamped to [0, n] and end to [0, n]; with step < 0 start to [0, n−1] and end to [−1, n−1].
 * size = max(0, ⌈(end − start) / step⌉).
 */
function sliceAxis(n: number, start: number, end: number, step: number): SliceAxis {
  if (step === 0) fail('Slice step 0');
  const s0 = start < 0 ? start + n : start, e0 = end < 0 ? end + n : end;
  const s = step > 0 ? Math.min(Math.max(s0, 0), n) : Math.min(Math.max(s0, 0), n - 1);
  const e = step > 0 ? Math.min(Math.max(e0, 0), n) : Math.min(Math.max(e0, -1), n - 1);
  return { start: s, step, size: Math.max(0, Math.ceil((e - s) / step)) };
}

function sliceParams(rank: number, starts: number[], ends: number[], axes0: number[] | null, steps0: number[] | null): { axes: number[]; steps: number[] } {
  const axes = (axes0 ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
  const steps = steps0 ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) fail('Slice starts / ends / axes / steps differ in length');
  if (new Set(axes).size !== axes.length) fail(`Slice axes [${axes}] repeat`);
  return { axes, steps };
}

defineOp('Slice', {
  infer: (ins) => {
    const x = t(ins, 0);
    if (!ins[1]?.constant || !ins[2]?.constant) {
      // run-time bounds: the sliced axes become unknown
      const axes = ins[3]?.type ? constInts(ins, 3, 'Slice axes').map((a) => normAxis(a, x.shape.length)) : [...x.shape.keys()].slice(0, Number(t(ins, 1).shape[0] ?? 0));
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (axes.includes(i) ? UNKNOWN : d)) }];
    }
    const starts = constInts(ins, 1, 'Slice starts'), ends = constInts(ins, 2, 'Slice ends');
    const { axes, steps } = sliceParams(x.shape.length, starts, ends,
      ins[3]?.type ? constInts(ins, 3, 'Slice axes') : null, ins[4]?.type ? constInts(ins, 4, 'Slice steps') : null);
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const n = x.shape[a];
      if (typeof n !== 'number') { shape[a] = starts[i] === 0 && ends[i]! >= 2 ** 53 - 1 && steps[i] === 1 ? n : UNKNOWN; return; }
      shape[a] = sliceAxis(n, starts[i]!, ends[i]!, steps[i]!).size;
    });
    return [{ dtype: x.dtype, shape }];
  },
  fold: {
    dtypes: ALL,
    run: ([a, st, en, ax, sp]) => {
      const x = a!;
      const starts = intsOf(st!), ends = intsOf(en!);
      const { axes, steps } = sliceParams(x.shape.length, starts, ends, ax ? intsOf(ax) : null, sp ? intsOf(sp) : null);
      const inStr = strides(x.shape);
      const shape = [...x.shape], step = [...inStr];
      let base = 0;
      axes.forEach((d, i) => {
        const s = sliceAxis(x.shape[d]!, starts[i]!, ends[i]!, steps[i]!);
        shape[d] = s.size;
        base += s.start * inStr[d]!;
        step[d] = s.step * inStr[d]!;
      });
      return [pick(x, shape, numel(shape) === 0 ? [] : walk(shape, base, step))];
    },
  },
});

defineOp('Gather', {
  infer: (ins, attrs) => {
    const x = t(ins, 0), idx = t(ins, 1);
    if (idx.dtype !== 'int64' && idx.dtype !== 'int32') fail(`Gather indices must be int32 or int64, got ${idx.dtype}`);
    const axis = normAxis(int(attrs, 'axis', 0), x.shape.length);
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)] }];
  },
  fold: {
    dtypes: ALL,
    /** Indices outside [−n, n) are an error in ONNX: left for the runtime to report. */
    when: ([a, idx], attrs) => {
      const axis = normAxis(getInt(attrs, 'axis', 0), a!.shape.length);
      const n = a!.shape[axis]!;
      return intsOf(idx!).some((i) => i < -n || i >= n) ? `Gather index out of range for axis of size ${n}` : null;
    },
    run: ([a, idx], attrs) => {
      const x = a!;
      const axis = normAxis(getInt(attrs, 'axis', 0), x.shape.length);
      const n = x.shape[axis]!;
      const ind = intsOf(idx!).map((i) => (i < 0 ? i + n : i));
      const outer = numel(x.shape.slice(0, axis)), inner = numel(x.shape.slice(axis + 1));
      const out = new Int32Array(outer * ind.length * inner);
      let p = 0;
      for (let o = 0; o < outer; o++) for (const i of ind) for (let k = 0; k < inner; k++) out[p++] = (o * n + i) * inner + k;
      return [pick(x, [...x.shape.slice(0, axis), ...idx!.shape, ...x.shape.slice(axis + 1)], out)];
    },
  },
});

// ---------------------------------------------------------------- Pad, Expand, Resize

defineOp('Pad', {
  infer: (ins, attrs) => {
    const x = t(ins, 0);
    const pads = attrs['pads'] ? ints(attrs, 'pads') : constInts(ins, 1, 'Pad pads');
    const r = x.shape.length;
    const axes = ins[3]?.type ? constInts(ins, 3, 'Pad axes').map((a) => normAxis(a, r)) : [...Array(r).keys()];
    if (pads.length !== 2 * axes.length) fail(`Pad pads [${pads}] do not match ${axes.length} axes`);
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const n = shape[a]!;
      const extra = pads[i]! + pads[axes.length + i]!;
      if (extra === 0) return;
      if (typeof n !== 'number') fail('Pad on a symbolic axis');
      if (n + extra < 0) fail(`Pad makes axis ${a} negative`);
      shape[a] = n + extra;
    });
    return [{ dtype: x.dtype, shape }];
  },
  fold: {
    dtypes: ALL,
    /** Folds mode 'constant' with non-negative pads; reflect / edge / wrap are left to the runtime. */
    when: ([, p], attrs) => {
      const mode = getString(attrs, 'mode', 'constant');
      if (mode !== 'constant') return `Pad mode ${mode} is not folded`;
      if (attrs['pads'] || !p) return 'attribute-form Pad is not folded';
      return intsOf(p).some((v) => v < 0) ? 'negative pads are not folded' : null;
    },
    run: ([a, p, v, ax]) => {
      const x = a!;
      const r = x.shape.length;
      const pads = intsOf(p!);
      const axes = ax ? intsOf(ax).map((d) => normAxis(d, r)) : [...Array(r).keys()];
      const before = x.shape.map(() => 0), after = x.shape.map(() => 0);
      axes.forEach((d, i) => { before[d] = pads[i]!; after[d] = pads[axes.length + i]!; });
      const shape = x.shape.map((d, i) => d + before[i]! + after[i]!);
      const out = new Tensor(x.dtype, shape);
      const dst = out.data as unknown as { [i: number]: unknown; fill: (v: unknown) => void };
      if (v && v.size > 0) dst.fill((v.data as unknown as { [i: number]: unknown })[0]);
      const src = x.data as unknown as { [i: number]: unknown };
      const outStr = strides(shape);
      const idx = walk(x.shape, before.reduce((s, b, d) => s + b * outStr[d]!, 0), outStr);
      for (let i = 0; i < idx.length; i++) dst[idx[i]!] = src[i];
      return [out];
    },
  },
  opsets: padRule,
});

const expandKernel: Kernel = ([a, s]) => {
  const shape = broadcast(a!.shape, intsOf(s!)) as number[];
  return [pick(a!, shape, broadcastIndex(shape, a!.shape))];
};
defineOp('Expand', {
  infer: (ins) => {
    const x = t(ins, 0), st = t(ins, 1, 'Expand shape');
    if (!ins[1]!.constant && st.shape.length === 1 && typeof st.shape[0] === 'number') return [{ dtype: x.dtype, shape: broadcast(x.shape, Array(st.shape[0]).fill(UNKNOWN)) }];
    return [{ dtype: x.dtype, shape: broadcast(x.shape, constInts(ins, 1, 'Expand shape')) }];
  },
  fold: { dtypes: ALL, run: expandKernel },
  noFold: true, // the result is larger than its inputs: kept as an op
});

/** Output = `sizes` (input 3), or ⌊dim·scale⌋ from `scales` (input 2); a symbolic dim needs scale 1. */
defineOp('Resize', {
  infer: (ins) => {
    const x = t(ins, 0);
    if (ins[3]?.constant) {
      const sizes = constInts(ins, 3, 'Resize sizes');
      if (sizes.length !== x.shape.length) fail(`Resize sizes [${sizes}] do not match rank ${x.shape.length}`);
      return [{ dtype: x.dtype, shape: sizes.map((s, i) => (typeof x.shape[i] === 'number' ? s : x.shape[i]!)) }];
    }
    const c = ins[2]?.constant ?? fail('Resize needs constant sizes or scales');
    const scales = c.toNumbers();
    if (scales.length !== x.shape.length) fail(`Resize scales [${scales}] do not match rank ${x.shape.length}`);
    const shape = x.shape.map((d, i) => {
      if (typeof d === 'number') return Math.floor(Math.fround(d * scales[i]!));
      if (scales[i] !== 1) fail(`Resize scale ${scales[i]} on symbolic dimension ${d}`);
      return d;
    });
    return [{ dtype: x.dtype, shape }];
  },
  opsets: resizeRule,
  fixedF32: [1, 2],
});

// ---------------------------------------------------------------- Constant, Shape

/** Constant: exactly one value_* attribute; value (tensor), value_float(s), value_int(s). */
function constantValue(attrs: Attrs): Tensor {
  const set = Object.entries(attrs).filter(([k]) => k.startsWith('value') || k === 'sparse_value');
  if (set.length !== 1) fail(`Constant needs exactly one value attribute, has ${set.length}`);
  const [k, a] = set[0]! as [string, Attr];
  if (k === 'value' && a.kind === 'tensor') return a.value;
  if (k === 'value_float' && a.kind === 'float') return Tensor.scalarF32(a.value);
  if (k === 'value_floats' && a.kind === 'floats') return Tensor.f32([a.value.length], a.value);
  if (k === 'value_int' && a.kind === 'int') return Tensor.i64([a.value], []);
  if (k === 'value_ints' && a.kind === 'ints') return Tensor.i64([...a.value]);
  return fail(`Constant attribute ${k} (${a.kind}) is not supported`);
}

defineOp('Constant', {
  infer: (_ins, attrs) => { const c = constantValue(attrs); return [{ dtype: c.dtype, shape: c.shape }]; },
  fold: { dtypes: ALL, run: (_ins, attrs) => [constantValue(attrs)] },
});

/** Shape's [start, end) window over the dims (opset 15), clamped like Slice. */
function shapeWindow(rank: number, attrs: Attrs): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  return [clamp(getInt(attrs, 'start', 0)), clamp(getInt(attrs, 'end', rank))];
}

defineOp('Shape', {
  infer: (ins, attrs) => {
    const [s, e] = shapeWindow(t(ins, 0).shape.length, attrs);
    return [{ dtype: 'int64', shape: [Math.max(0, e - s)] }];
  },
  fold: { dtypes: ALL, run: ([a], attrs) => { const [s, e] = shapeWindow(a!.shape.length, attrs); return [Tensor.i64(a!.shape.slice(s, e))]; } },
  /** A static input shape is known without its data: Shape → Gather → … chains fold away. */
  foldFromTypes: ([x], attrs) => {
    if (!x) return null;
    const [s, e] = shapeWindow(x.shape.length, attrs);
    const dims = x.shape.slice(s, e);
    return dims.every((d) => typeof d === 'number') ? [Tensor.i64(dims as number[])] : null;
  },
});


// ---------------------------------------------------------------- shape rules only (read from foreign files)

defineOp('Size', { infer: () => [{ dtype: 'int64', shape: [] }] });

/** ConstantOfShape: dims from the (constant) shape input; value's dtype (default float32). */
defineOp('ConstantOfShape', {
  infer: (ins, attrs) => {
    const v = attrs['value'];
    const dtype = v?.kind === 'tensor' ? v.value.dtype : 'float32';
    const st = t(ins, 0, 'ConstantOfShape shape');
    if (ins[0]!.constant) return [{ dtype, shape: constInts(ins, 0, 'ConstantOfShape shape') }];
    if (st.shape.length !== 1 || typeof st.shape[0] !== 'number') fail('ConstantOfShape shape must be 1-D with a static length');
    return [{ dtype, shape: Array(st.shape[0]).fill(UNKNOWN) }];
  },
});

/** Range: ⌈(limit − start) / delta⌉ elements (at least 0) when all three are constants. */
defineOp('Range', {
  infer: (ins) => {
    const x = t(ins, 0);
    const [s, l, d] = [0, 1, 2].map((i) => ins[i]?.constant?.toNumbers()[0]);
    if (s === undefined || l === undefined || d === undefined) return [{ dtype: x.dtype, shape: [UNKNOWN] }];
    if (d === 0) fail('Range delta 0');
    return [{ dtype: x.dtype, shape: [Math.max(0, Math.ceil((l - s) / d))] }];
  },
});

defineOp('GatherElements', {
  infer: (ins) => {
    const x = t(ins, 0), idx = t(ins, 1);
    if (x.shape.length !== idx.shape.length) fail(`GatherElements indices rank ${idx.shape.length} differs from data rank ${x.shape.length}`);
    return [{ dtype: x.dtype, shape: idx.shape }];
  },
});
