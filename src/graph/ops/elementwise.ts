/**
 * Elementwise ops: activations, arithmetic with broadcasting, Cast, Softmax.
 *
 * Folding: float32 (and int64 where ONNX defines it), computed in float64 and rounded once.
 * Transcendental functions (Exp, Tanh, Sigmoid, Sqrt, Pow) use JS's double-precision versions,
 * within an ulp of onnxruntime's float32 ones.
 */
import { castRule, geluRule } from './opsets.js';
import { ONNX_DTYPE, type DType, type Tensor } from '../tensor.js';
import { broadcast, constInts, elementwise, fail, type InferFn, int, normAxis, same, t } from './infer-util.js';
import { binary, FoldDeclined, getInt, make, nums, unary } from './kernel-util.js';
import { defineOp } from './registry.js';

const F32: readonly DType[] = ['float32'];
const F32_I64: readonly DType[] = ['float32', 'int64'];
const ALL: readonly DType[] = Object.keys(ONNX_DTYPE) as DType[];

const unaries: [string, (a: number) => number, readonly DType[]][] = [
  ['Sqrt', Math.sqrt, F32], ['Neg', (a) => -a, F32_I64], ['Abs', Math.abs, F32_I64],
  ['Reciprocal', (a) => 1 / a, F32], ['Relu', (a) => Math.max(a, 0), F32_I64],
  ['Sigmoid', (a) => 1 / (1 + Math.exp(-a)), F32], ['Tanh', Math.tanh, F32], ['Exp', Math.exp, F32],
];
for (const [op, f, dtypes] of unaries) defineOp(op, { infer: same, fold: { dtypes, run: unary(f) } });
defineOp('Erf', { infer: same });
defineOp('Gelu', { infer: same, opsets: geluRule });
defineOp('Identity', { infer: same, fold: { dtypes: ALL, run: ([a]) => [a!] }, layout: 'chain' });
defineOp('Dropout', { infer: (ins) => [t(ins, 0)], noFold: true });

/** Pow: the exponent may have another numeric type than the base (result: the base's type). */
const powInfer: InferFn = (ins) => { const a = t(ins, 0), b = t(ins, 1); return [{ dtype: a.dtype, shape: broadcast(a.shape, b.shape) }]; };

const binaries: [string, (a: number, b: number) => number, readonly DType[]][] = [
  ['Add', (a, b) => a + b, F32_I64], ['Sub', (a, b) => a - b, F32_I64], ['Mul', (a, b) => a * b, F32_I64],
  ['Div', (a, b) => a / b, F32_I64], ['Pow', (a, b) => a ** b, F32],
];
for (const [op, f, dtypes] of binaries) defineOp(op, { infer: op === 'Pow' ? powInfer : elementwise, fold: { dtypes, operands: op === 'Pow' ? [0] : undefined, run: binary(f) } });

/** Comparisons and logic: broadcast like arithmetic, bool result (Where: the branches' dtype). */
const boolOut: InferFn = (ins) => { const [r] = elementwise(ins, {}); return [{ dtype: 'bool', shape: r!.shape }]; };
for (const op of ['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor']) defineOp(op, { infer: boolOut });
defineOp('Not', { infer: same });
defineOp('Where', {
  infer: (ins) => {
    const c = t(ins, 0), x = t(ins, 1), y = t(ins, 2);
    if (c.dtype !== 'bool') fail(`Where condition must be bool, got ${c.dtype}`);
    if (x.dtype !== y.dtype) fail(`Where branches differ: ${x.dtype} vs ${y.dtype}`);
    return [{ dtype: x.dtype, shape: broadcast(broadcast(c.shape, x.shape), y.shape) }];
  },
});

defineOp('Softmax', {
  infer: (ins, attrs) => { const x = t(ins, 0); normAxis(int(attrs, 'axis', -1), x.shape.length); return [x]; },
  fp16: 'fp32',
});

// ---------------------------------------------------------------- Cast

function castTarget(to: number): DType | null {
  for (const [k, v] of Object.entries(ONNX_DTYPE)) if (v === to) return k as DType;
  return null;
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = { int64: [-(2 ** 53), 2 ** 53], int32: [-(2 ** 31), 2 ** 31 - 1] };

/**
 * Cast folds to float32 / float64 / float16 / int64 / int32 / bool. float → integer truncates
 * toward zero (onnxruntime's static_cast); NaN, ±Inf or out-of-range values decline, as do
 * float16 from anything but float32 / float16 (it would round twice), bfloat16, int8 and uint8.
 */
function castDecline(inputs: readonly (Tensor | null)[], attrs: Parameters<typeof getInt>[0]): string | null {
  const to = castTarget(getInt(attrs, 'to', 0));
  const from = inputs[0]!.dtype;
  if (!to || !['float32', 'float64', 'float16', 'int64', 'int32', 'bool'].includes(to)) return `Cast to ${to ?? getInt(attrs, 'to', 0)} is not folded`;
  if (to === 'float16' && from !== 'float32' && from !== 'float16') return `Cast ${from} → float16 would round twice`;
  return null;
}

defineOp('Cast', {
  opsets: castRule,
  infer: (ins, attrs) => {
    const to = int(attrs, 'to', 0);
    const dtype = castTarget(to) ?? fail(`Cast to ${to} unsupported`);
    return [{ dtype, shape: t(ins, 0).shape }];
  },
  fold: {
    dtypes: ['float32', 'float16', 'float64', 'int64', 'int32', 'bool', 'uint8', 'int8'],
    when: castDecline,
    run: ([a], attrs) => {
      const to = castTarget(getInt(attrs, 'to', 0))!;
      const v = a!.dtype === 'float16' ? Float64Array.from(a!.toNumbers()) : nums(a!);
      const range = INT_RANGE[to];
      if (range) {
        for (const x of v) if (!(x >= range[0] && x <= range[1])) throw new FoldDeclined(`Cast of ${x} to ${to}`);
      }
      return [make(to, a!.shape, v)];
    },
  },
});

// ---------------------------------------------------------------- shape rules only (read from foreign files)

for (const op of ['Log', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Softplus', 'Softsign', 'HardSwish', 'HardSigmoid', 'Elu', 'LeakyRelu', 'Clip']) {
  defineOp(op, { infer: same });
}
/** TopK (opset ≥ 10): values and int64 indices of the K largest along `axis`; K a constant [1]. */
defineOp('TopK', {
  infer: (ins, attrs) => {
    const x = t(ins, 0);
    const axis = normAxis(int(attrs, 'axis', -1), x.shape.length);
    const k = constInts(ins, 1, 'TopK k');
    if (k.length !== 1 || k[0]! < 1) fail(`TopK k must be one positive integer, got [${k}]`);
    const n = x.shape[axis]!;
    if (typeof n === 'number' && k[0]! > n) fail(`TopK k ${k[0]} exceeds axis ${axis} of size ${n}`);
    const shape = x.shape.map((d, i) => (i === axis ? k[0]! : d));
    return [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }];
  },
});
defineOp('LogSoftmax', {
  infer: (ins, attrs) => { const x = t(ins, 0); normAxis(int(attrs, 'axis', -1), x.shape.length); return [x]; },
  fp16: 'fp32',
});
defineOp('PRelu', { infer: (ins) => { const x = t(ins, 0); return [{ dtype: x.dtype, shape: broadcast(x.shape, t(ins, 1).shape) }]; } });
/** Variadic Max / Min / Sum / Mean: every input broadcast together. */
const variadic: InferFn = (ins) => {
  const first = t(ins, 0);
  let shape = first.shape;
  for (let i = 1; i < ins.length; i++) {
    const v = t(ins, i);
    if (v.dtype !== first.dtype) fail(`element types differ: ${first.dtype} vs ${v.dtype}`);
    shape = broadcast(shape, v.shape);
  }
  return [{ dtype: first.dtype, shape }];
};
for (const op of ['Max', 'Min', 'Sum', 'Mean']) defineOp(op, { infer: variadic });
