/**
 * flatten-tokens: token-wise ops on [A, N, C] (or [B, H, W, C]) run on [A·N, C] instead, so that onnxruntime fuses a
 * Linear (MatMul + Add) into one Gemm without the Reshape pair it otherwise wraps around a 3-D Gemm,
 * and the Reshapes between consecutive token-wise ops cancel (cancel-layout / simplify afterwards).
 *
 * Each op here treats the rows x[a, n, :] independently (a MatMul by a 2-D weight, LayerNorm over
 * the last axis, elementwise ops whose other operand is a per-channel constant or a tensor of the
 * same shape), so  op(x)[a, n, :] = op(Reshape(x, [A·N, C]))[a·N + n, :]:
 *
 *   Before:  x[A,N,C] ─MatMul(W)─► [A,N,O]
 *   After:   x[A,N,C] ─Reshape[A·N,C]─MatMul(W)─Reshape[A,N,O]─►
 *
 * MatMul (2-D right operand) and LayerNormalization (last axis) start a flattened chain; an
 * elementwise op (Add, Mul, Sub, Div with a per-channel or same-shape operand; GELU, Sigmoid, …)
 * joins when one operand comes out of one, reusing the flat value, so its Reshape back dies. Maps
 * that are not token chains (NCHW convolution blocks) are left alone. The Reshape pairs that remain
 * between flattened ops are merged by simplify's reshape-chain rule afterwards (not cancel-layout:
 * onnxruntime's 2-D Transpose [C, N] → [N, C] measured 4× slower than the same data as [1, C, N]).
 *
 * Exact: the same operations on the same rows. Not matched: rank < 3, symbolic dims, operands that
 * broadcast over tokens, a norm over more than the last axis, other domains than com.microsoft's
 * elementwise GELUs.
 */
import type { Node, Value } from '../graph/ir.js';
import { fail, type Fail, type Rule } from './driver.js';

const UNARY = new Set(['Gelu', 'FastGelu', 'QuickGelu', 'Sigmoid', 'Relu', 'Tanh', 'Erf']);
const BINARY = new Set(['Add', 'Mul', 'Sub', 'Div']);

interface FlattenTokens { node: Node; rows: number }

const staticTokens = (v: Value) => v.shape.length >= 3 && v.shape.every((d) => typeof d === 'number');
const rowsOf = (v: Value) => (v.shape.slice(0, -1) as number[]).reduce((a, b) => a * b, 1);
const last = (v: Value) => v.shape[v.shape.length - 1] as number;

/** An operand that broadcasts along the channels only: rank ≤ 1, or [1, 1, C] / [1, C]. */
function perChannel(v: Value): boolean {
  return v.shape.length <= 1 || v.shape.slice(0, -1).every((d) => d === 1);
}

/** `v` is Reshape(y) of a [rows, C] value y (what this rule leaves behind). */
function flattened(v: Value, rows: number): Value | null {
  const p = v.producer, inner = p?.op === 'Reshape' && !p.domain ? p.input(0) : null;
  return inner && inner.shape.length === 2 && inner.shape[0] === rows && inner.shape[1] === last(v) ? inner : null;
}

export const flattenTokens: Rule<FlattenTokens> = {
  name: 'flatten-tokens',
  ops: [...UNARY, ...BINARY, 'MatMul', 'LayerNormalization'],
  match(node): FlattenTokens | Fail {
    if (node.domain && node.domain !== 'com.microsoft') return fail('other domain');
    if (node.domain === 'com.microsoft' && !UNARY.has(node.op)) return fail('contrib op that is not elementwise');
    if (node.outputs.length !== 1 || node.output.dtype !== 'float32' || !staticTokens(node.output)) return fail('not one static float32 rank-3 output');
    const x = node.input(0), out = node.output;
    if (!staticTokens(x) || x.shape.length !== out.shape.length || x.shape.slice(0, -1).some((d, i) => d !== out.shape[i])) return fail('input is not [A, N, ·]');
    if (node.op === 'MatMul') {
      const w = node.input(1);
      if (w.shape.length !== 2) return fail('MatMul right operand is not 2-D');
    } else if (node.op === 'LayerNormalization') {
      const axis = node.attrInt('axis', -1);
      if (axis !== -1 && axis !== out.shape.length - 1) return fail('norm over more than the last axis');
    } else if (BINARY.has(node.op)) {
      const [p, q] = node.inputs as [Value, Value];
      const ok = (v: Value) => (staticTokens(v) && v.shape.length === out.shape.length && v.shape.every((d, i) => d === out.shape[i])) || (perChannel(v) && v.shape.length < 3);
      if (!ok(p) || !ok(q)) return fail('an operand broadcasts over tokens');
    } else if (node.inputs.length !== 1) return fail('not unary');
    // elementwise ops follow a flattened producer (token chains only, not NCHW maps)
    if (node.op !== 'MatMul' && node.op !== 'LayerNormalization' && !node.inputs.some((v) => v && flattened(v, rowsOf(out)))) return fail('no flattened operand');
    return { node, rows: rowsOf(out) };
  },
  rewrite(m, b) {
    const node = m.node;
    const flat = (v: Value | null) => {
      if (!v || !staticTokens(v)) return v;
      // the [A·N, C] value a flattened producer already has (its Reshape back to 3-D then dies)
      return flattened(v, m.rows) ?? b.reshape(v, [m.rows, last(v)]);
    };
    const inputs = node.op === 'LayerNormalization' || node.op === 'MatMul' ? [flat(node.input(0)), ...node.inputs.slice(1)] : node.inputs.map(flat);
    const attrs = node.op === 'LayerNormalization' ? { ...node.attrs, axis: { kind: 'int' as const, value: -1 } } : node.attrs;
    const out = node.output;
    const y = b.g.addNode(node.op, inputs, [{ dtype: out.dtype, shape: [m.rows, last(out)] }], { name: node.name, attrs, domain: node.domain }).output;
    return { replace: [[out, b.reshape(y, out.shape)]] };
  },
};
