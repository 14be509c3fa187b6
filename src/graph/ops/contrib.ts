/**
 * MAC rules of the ops that are not plain ONNX Conv / ConvTranspose / MatMul / Gemm but do their
 * work: onnxruntime's com.microsoft contrib ops vitx writes (`--target ort`, int8) or reads
 * (onnxruntime-optimized files), and the quantized operator forms of int8 files. Each counts what
 * the float standard-op graph it replaces counts, so a file's total does not depend on its form.
 * Contrib entries are keyed `<domain>.<op>` (nodeMacs in inspect/macs.ts looks them up so); they
 * hold `macs` only: vitx neither infers nor folds contrib ops.
 *
 *   com.microsoft.Attention  x [B, S, D], packed weights [D, 3H] (q, k, v hidden sizes hq, hk, hv)
 *                   B·S·D·3H + B·S²·(hq + hv)     packed projection; q·kᵀ and p·v over all heads
 *   com.microsoft.MultiHeadAttention  q [B, S, Dq], k [B, L, Dq], v [B, L, Dv] → [B, S, Dv]
 *                   B·S·L·(Dq + Dv)               per head h: S·L·d (q·kᵀ) + S·L·d_v (p·v), summed
 *                   over the heads; also packed q [B, S, N, 3, H], packed k/v [B, L, N, 2, H],
 *                   BNSH k/v [B, N, L, H], and past_key [B, N, P, H] (L becomes P + L)
 *   QLinearConv, ConvInteger, com.microsoft.FusedConv       as Conv (weight at slot 3 / 1 / 1)
 *   QLinearMatMul, MatMulInteger, com.microsoft.FusedMatMul as MatMul (FusedMatMul: transA)
 *   com.microsoft.QGemm, com.microsoft.FusedGemm            as Gemm
 *
 * Gelu, FastGelu, QuickGelu, BiasGelu, QuantizeLinear / DequantizeLinear and the other QLinear*
 * elementwise ops are elementwise: 0, as their standard forms. A contrib node's output dims are
 * often unknown in an onnxruntime-optimized file ('?…'): the output size then comes from the float
 * op's shape rule on the node's inputs where those are static.
 */
import type { Dim, Node, Value } from '../ir.js';
import { defineOp, getOp } from './registry.js';

const size = (dims: readonly Dim[]) => dims.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
const num = (d: Dim | undefined) => (typeof d === 'number' ? d : 1);
const known = (dims: readonly Dim[]) => dims.every((d) => typeof d === 'number');
const slot = (n: Node, i: number): Value | null => n.inputs[i] ?? null;

/** Elements of output 0: its static shape, else the float op's shape rule on `operands` (slots). */
function outputSize(n: Node, floatOp: string, operands: readonly number[]): number {
  const y = n.outputs[0]!.shape;
  if (known(y)) return size(y);
  try {
    const ins = operands.map((i) => ({ type: slot(n, i)?.type ?? null, constant: null }));
    const [t] = getOp(floatOp)!.infer!(ins, n.attrs);
    if (t && known(t.shape)) return size(t.shape);
  } catch { /* inputs the rule does not take: fall back to the declared dims (unknown ones count 1) */ }
  return size(y);
}

/** Conv-like: |y| · C_in/g · ∏k, with the weight at slot `w`. */
const convMacs = (x: number, w: number) => (n: Node): number => {
  const wv = slot(n, w);
  return wv ? outputSize(n, 'Conv', [x, w]) * size(wv.shape.slice(1)) : 0;
};

/** MatMul-like: |y| · K, K the last dim of A (the one before it with transA). */
const matmulMacs = (a: number, b: number) => (n: Node): number => {
  const av = slot(n, a);
  if (!av) return 0;
  const s = av.shape, trans = n.attrs['transA']?.kind === 'int' && n.attrs['transA'].value !== 0;
  return (trans ? size(n.outputs[0]!.shape) : outputSize(n, 'MatMul', [a, b])) * num(s[s.length - (trans ? 2 : 1)]);
};

/** Gemm-like: M · N · K. */
const gemmMacs = (a: number, b: number) => (n: Node): number => {
  const av = slot(n, a);
  if (!av) return 0;
  const trans = n.attrs['transA']?.kind === 'int' && n.attrs['transA'].value !== 0;
  return outputSize(n, 'Gemm', [a, b]) * num(trans ? av.shape[0] : av.shape[1]);
};

/** onnxruntime's contrib Attention: packed projection, then q·kᵀ and p·v for every head. */
function attentionMacs(n: Node): number {
  const x = n.input(0).shape;
  const cols = n.input(1).shape[1];
  if (x.length !== 3 || typeof cols !== 'number') return 0;
  const sizes = n.attrs['qkv_hidden_sizes'];
  const [hq, , hv] = sizes?.kind === 'ints' ? sizes.value : [cols / 3, cols / 3, cols / 3];
  const [batch, seq] = [num(x[0]), num(x[1])];
  return size(x) * cols + batch * seq * seq * (hq! + hv!);
}

/** onnxruntime's contrib MultiHeadAttention: q·kᵀ and p·v over all heads (no projections inside). */
function multiHeadAttentionMacs(n: Node): number {
  const q = slot(n, 0)?.shape, k = slot(n, 1)?.shape, v = slot(n, 2)?.shape, past = slot(n, 6)?.shape;
  if (!q || (q.length !== 3 && q.length !== 5)) return 0;
  const [batch, seq] = [num(q[0]), num(q[1])];
  const dq = q.length === 3 ? num(q[2]) : num(q[2]) * num(q[4]);
  let kv = !k ? seq : k.length === 4 ? num(k[2]) : num(k[1]); // packed qkv: keys are the queries' tokens
  if (past?.length === 4) kv += num(past[2]);
  const y = n.outputs[0]!.shape;
  const dv = typeof y[2] === 'number' ? y[2] : v?.length === 3 ? num(v[2]) : v?.length === 4 ? num(v[1]) * num(v[3]) : dq;
  return batch * seq * kv * (dq + dv);
}

const MS = 'com.microsoft';
defineOp(`${MS}.Attention`, { macs: attentionMacs });
defineOp(`${MS}.MultiHeadAttention`, { macs: multiHeadAttentionMacs });
defineOp(`${MS}.FusedConv`, { macs: convMacs(0, 1) });
defineOp(`${MS}.FusedMatMul`, { macs: matmulMacs(0, 1) });
defineOp(`${MS}.FusedGemm`, { macs: gemmMacs(0, 1) });
defineOp(`${MS}.QGemm`, { macs: gemmMacs(0, 3) });
defineOp('QLinearConv', { macs: convMacs(0, 3) });
defineOp('ConvInteger', { macs: convMacs(0, 1) });
defineOp('QLinearMatMul', { macs: matmulMacs(0, 3) });
defineOp('MatMulInteger', { macs: matmulMacs(0, 1) });
