/**
 * contrib-attention (`--target ort` only, float32): multi-head self-attention as one onnxruntime
 * `com.microsoft.Attention` node (packed q/k/v projection, heads, scores, softmax and context in
 * one CPU kernel) instead of the projection MatMul + Add, Split, per-head Reshape / Transpose,
 * two batched MatMuls, Softmax and the head-merging Transpose.
 *
 *   q = x·W_q + b_q, k = x·W_k + b_k, v = x·W_v + b_v        x [S, N, I], q/k/v [S, N, H·d]
 *   ctx[s, h] = softmax(c·q_h·k_hᵀ + B_h)·v_h                 (c a scalar, B an optional bias)
 *
 * c is the product of the scalar factors on the scores and on q or k after the head split (timm's
 * head_first attention, MaxViT's `_rw_` / `_pm_` variants, scales q there, where
 * attention-scale-into-query does not reach).
 *           = Attention(x, [W_q | W_k | W_v], [b_q | b_k | b_v], attention_bias = B, scale = c)
 *
 * onnxruntime's CPU Attention computes exactly this (its scale attribute replaces 1/√d; vitx has
 * usually folded 1/√d into W_q already, so c = 1). B is read by the kernel as [1 or S, 1 or H, N, N].
 *
 * Matched from the Softmax: Softmax(axis −1) of MatMul(qh, kt) [· c] [+ B], read only by
 * MatMul(·, vh) (the context). qh [S, H, N, d], kt [S, H, d, N] and vh [S, H, N, d] each come
 * through layout ops (Reshape, Transpose, …) and Split from Linears on one input x. Which
 * column of the Linear becomes (head h, channel j) of q, k and v is not read off the ops' attributes
 * but computed: the chain is run on an index tensor (the element numbers of the Linear's output),
 * which proves that every token keeps its row and gives the column map; the packed weights are those
 * columns (a Gather on the constant weights, folded). The context [S, H, N, d] is rebuilt from the
 * Attention output [S, N, H·d] by Reshape + Transpose, and cancel-layout then removes what is left of
 * the head merge.
 *
 *   Before:  x ─MatMul─Add─Split─┬─Reshape─Transpose─► MatMul ─Add(B)─Softmax─► MatMul ─Transpose─Reshape─►
 *                                ├─Reshape─Transpose─┘                           │
 *                                └─Reshape─Transpose─────────────────────────────┘
 *   After:   x ─com.microsoft.Attention(W, b, attention_bias = B)─►
 *
 * contrib-mha (contribMha, the int8 source file's form) takes the same match but keeps the packed
 * projection as a standard-op Linear for QDQ and fuses only the score path (see contribMhaRule).
 *
 * Not matched: a Softmax over another axis, a non-scalar scale, a bias of another shape, a token
 * that does not keep its row (a chain that mixes tokens), q/k/v of different head counts or widths,
 * Linears on different inputs, values with other uses, symbolic (dynamic) dimensions, non-float32.
 */
import { Builder } from '../graph/builder.js';
import { attr, type Node, type Value } from '../graph/ir.js';
import { evaluate } from '../graph/kernels.js';
import { Tensor } from '../graph/tensor.js';
import { cancelLayout, CHAIN_OPS } from './cancel-layout.js';
import { fail, type Fail, type Pass, type PassStats, type Rule, runRules } from './driver.js';
import { type LinearMatch, linearAt } from './linear-match.js';

/** Index tensors are float32: exact up to 2^24 elements. */
const MAX_TRACE = 2 ** 24;

interface Branch { lin: LinearMatch; cols: number[]; nodes: Node[]; scale: number }
interface Attention {
  softmax: Node; scores: Node; context: Node; mul: Node | null; add: Node | null;
  bias: Value | null; scale: number; heads: number; q: Branch; k: Branch; v: Branch;
}

const isStatic = (v: Value) => v.shape.every((d) => typeof d === 'number');
const dims = (v: Value) => v.shape as number[];

/** A scalar float32 constant operand of a binary node, and the other operand. */
function scalarOperand(n: Node): { c: number; other: Value } | null {
  for (const [i, j] of [[1, 0], [0, 1]] as const) {
    const t = n.inputs[i]?.constant;
    if (t && t.dtype === 'float32' && t.size === 1) return { c: t.toFloat32()[0]!, other: n.input(j) };
  }
  return null;
}

/**
 * Follows `x` back through layout ops and Split to a Linear with output [S, N, F]; runs the path on
 * the element numbers of that output; `layout` says where token (s, n) and column (h, j) sit in `x`.
 */
function traceBranch(x: Value, layout: 'q' | 'k' | 'v'): Branch | string {
  const path: { node: Node; index: number }[] = [];
  const scalings: Node[] = [];
  let cur = x, scale = 1;
  for (;;) {
    if (!cur.hasSingleUse()) return `${cur.name} has other uses`;
    const p = cur.producer;
    // q or k scaled after the head split (timm's head_first layout: q * scale): a factor of the scores
    const sc = p && !p.domain && p.op === 'Mul' && layout !== 'v' ? scalarOperand(p) : null;
    if (sc && sc.other.shape.join() === cur.shape.join()) {
      scale *= sc.c;
      scalings.push(p!);
      cur = sc.other;
      continue;
    }
    if (!p || p.domain || !(CHAIN_OPS.has(p.op) || p.op === 'Split')) break;
    if (p.inputs.slice(1).some((v) => v && !v.isConstant)) return `${p.name} has a computed shape operand`;
    path.unshift({ node: p, index: cur.index });
    cur = p.input(0);
  }
  const lin = linearAt(cur);
  if (typeof lin === 'string') return lin;
  if (lin.node.op !== 'MatMul') return `${lin.node.label} is a Gemm`;
  if (!isStatic(cur) || cur.shape.length !== 3) return `Linear output ${cur.name} is not a static [S, N, F]`;
  const [S, N, F] = dims(cur);
  if (S! * N! * F! > MAX_TRACE) return `Linear output ${cur.name} is too large to trace`;
  let t: Tensor | null = new Tensor('float32', [S!, N!, F!], Float32Array.from({ length: S! * N! * F! }, (_, i) => i));
  for (const { node, index } of path) {
    const consts = node.inputs.slice(1).map((v) => v?.constant ?? null);
    const rank: number = t.shape.length;
    if (node.op === 'Split') {
      const axis: number = (node.attrInt('axis', 0) + rank) % rank;
      const sizes: number[] = node.outputs.map((o) => o.shape[axis] as number);
      const start = sizes.slice(0, index).reduce((a, b) => a + b, 0);
      t = evaluate('Slice', [t, Tensor.i64([start]), Tensor.i64([start + sizes[index]!]), Tensor.i64([axis])], {})?.[0] ?? null;
    } else t = evaluate(node.op, [t, ...consts], node.attrs)?.[0] ?? null;
    if (!t) return `${node.label} could not be traced`;
  }
  // t[s, h, a, b]: (a, b) = (n, j) for q and v, (j, n) for k
  const [ts, H, A, B] = t.shape as number[];
  if (t.shape.length !== 4 || ts !== S) return `${x.name} is not [S, H, ·, ·] over the Linear's S`;
  const d = layout === 'k' ? A! : B!, n = layout === 'k' ? B! : A!;
  if (n !== N) return `${x.name} has ${n} tokens, the Linear ${N}`;
  const cols = new Array<number>(H! * d).fill(-1);
  const data = t.data as Float32Array;
  for (let s = 0, i = 0; s < S!; s++) for (let h = 0; h < H!; h++) for (let a = 0; a < A!; a++) for (let b = 0; b < B!; b++, i++) {
    const [tok, j] = layout === 'k' ? [b, a] : [a, b];
    const e = data[i]!, row = Math.floor(e / F!), col = e - row * F!;
    if (row !== s * N! + tok) return `${x.name} moves tokens between rows`;
    const c = h * d + j;
    if (cols[c] === -1) cols[c] = col;
    else if (cols[c] !== col) return `${x.name}'s columns differ between tokens`;
  }
  return { lin, cols, nodes: [...path.map((p) => p.node), ...scalings], scale };
}

function matchAttention(sm: Node): Attention | Fail {
  if (sm.domain || sm.output.dtype !== 'float32' || !isStatic(sm.output) || sm.output.shape.length !== 4) return fail('not a static float32 rank-4 Softmax');
  if (sm.attrInt('axis', -1) !== -1 && sm.attrInt('axis', -1) !== 3) return fail('Softmax is not over the last axis');
  if (!sm.output.hasSingleUse()) return fail('the probabilities have other uses');
  const context = [...sm.output.uses][0]!.node;
  if (context.op !== 'MatMul' || context.domain || context.inputs[0] !== sm.output) return fail('the probabilities are not the left operand of a MatMul');
  let z = sm.input(0), add: Node | null = null, mul: Node | null = null, bias: Value | null = null, scale = 1;
  const [S, H, N, L] = dims(sm.output);
  if (z.producer?.op === 'Add' && z.hasSingleUse()) {
    add = z.producer;
    const [a, b] = add.inputs;
    const scoresSide = a?.producer?.op === 'MatMul' || a?.producer?.op === 'Mul' ? a : b!;
    bias = scoresSide === a ? b! : a!;
    const r = bias.shape;
    if (bias.dtype !== 'float32' || !isStatic(bias) || r.length > 4) return fail('the score bias is not a static float32 tensor');
    const b4 = [...Array<number>(4 - r.length).fill(1), ...(r as number[])];
    if (b4[2] !== N || b4[3] !== L || (b4[1] !== 1 && b4[1] !== H) || (b4[0] !== 1 && b4[0] !== S)) return fail(`score bias [${r}] is not [1|S, 1|H, N, N]`);
    z = scoresSide;
  }
  if (z.producer?.op === 'Mul' && z.hasSingleUse()) {
    mul = z.producer;
    const sc = scalarOperand(mul);
    if (!sc) return fail('the scores are scaled by a non-scalar');
    scale = sc.c;
    z = sc.other;
  }
  const scores = z.producer;
  if (!scores || scores.op !== 'MatMul' || scores.domain || !z.hasSingleUse()) return fail('Softmax does not read q·kᵀ');
  if (N !== L) return fail('queries and keys of different lengths');
  const q = traceBranch(scores.input(0), 'q');
  if (typeof q === 'string') return fail(`q: ${q}`);
  const k = traceBranch(scores.input(1), 'k');
  if (typeof k === 'string') return fail(`k: ${k}`);
  const v = traceBranch(context.input(1), 'v');
  if (typeof v === 'string') return fail(`v: ${v}`);
  const x = q.lin.node.input(0);
  if (k.lin.node.input(0) !== x || v.lin.node.input(0) !== x) return fail('q, k and v are projections of different inputs');
  if (q.cols.length !== k.cols.length || q.cols.length !== v.cols.length) return fail('q, k and v have different widths');
  if ((q.lin.bias === null) !== (k.lin.bias === null) || (q.lin.bias === null) !== (v.lin.bias === null)) return fail('some projections lack a bias');
  // the packed projection must be all that reads the Linears' outputs (the three chains)
  const inside = new Set([...q.nodes, ...k.nodes, ...v.nodes, scores, context]);
  for (const br of [q, k, v]) {
    for (const n of br.nodes) for (const o of n.outputs) for (const u of o.uses) if (!inside.has(u.node)) return fail(`${o.name} is read outside the attention`);
    for (const u of br.lin.out.uses) if (!inside.has(u.node)) return fail(`${br.lin.out.name} is read outside the attention`);
  }
  return { softmax: sm, scores, context, mul, add, bias, scale: scale * q.scale * k.scale, heads: H!, q, k, v };
}

/** Columns `cols` of a [I, F] weight (or [F] bias) as a folded constant; the identity map reuses it. */
function pick(b: Builder, w: Value, cols: readonly number[], axis: number): Value {
  if (cols.length === w.shape[axis] && cols.every((c, i) => c === i)) return w;
  return b.op('Gather', [w, b.constant('columns', Tensor.i64([...cols]))], { axis: attr.int(axis) });
}

/** Packed weights [W_q | W_k | W_v] (and biases) in (head, channel) column order. */
function packed(b: Builder, m: Attention, of: (l: LinearMatch) => Value, axis: number): Value {
  const { q, k, v } = m;
  if (q.lin.node === k.lin.node && q.lin.node === v.lin.node) return pick(b, of(q.lin), [...q.cols, ...k.cols, ...v.cols], axis);
  return b.concat([q, k, v].map((br) => pick(b, of(br.lin), br.cols, axis)), axis);
}

/** The score bias as the kernels' attention_bias [1 | S, 1 | H, N, N] (none: null). */
function attentionBias(b: Builder, m: Attention): Value | null {
  if (!m.bias) return null;
  return m.bias.shape.length === 4 ? m.bias : b.reshape(m.bias, [...Array<number>(4 - m.bias.shape.length).fill(1), ...dims(m.bias)]);
}

const nodeName = (m: Attention, op: string) => `${m.scores.name.replace(/\/[^/]*$/, '')}/${op}`;

/**
 * The contrib node `op` on its three leading inputs (+ the score bias as input 5) with num_heads and
 * scale, its [S, N, H·d] output brought back to the context's [S, H, N, d].
 */
function emitAttention(b: Builder, m: Attention, op: 'Attention' | 'MultiHeadAttention', lead: [Value, Value, Value]): Value {
  const [S, H, N, d] = dims(m.context.output);
  const ab = attentionBias(b, m);
  const attrs = { num_heads: attr.int(m.heads), scale: attr.float(m.scale) };
  const inputs = ab ? [...lead, null, null, ab] : lead;
  const att = b.g.addNode(op, inputs, [{ dtype: 'float32', shape: [S!, N!, H! * d!] }], { name: nodeName(m, op), attrs, domain: 'com.microsoft' }).output;
  return b.transpose(b.reshape(att, [S!, N!, H!, d!]), [0, 2, 1, 3]);
}

export const contribAttentionRule: Rule<Attention> = {
  name: 'contrib-attention',
  ops: ['Softmax'],
  match: matchAttention,
  rewrite(m, b) {
    const [, H, , d] = dims(m.context.output);
    const x = m.q.lin.node.input(0);
    const w = packed(b, m, (l) => l.w, 1);
    // onnxruntime's CPU kernel reads the bias unconditionally (no bias: zeros, as the kernel would need)
    const bias = m.q.lin.bias ? packed(b, m, (l) => l.bias!, 0) : b.constant('zero_bias', new Tensor('float32', [3 * H! * d!]));
    const back = emitAttention(b, m, 'Attention', [x, w, bias]);
    return { replace: [[m.context.output, back]], names: [[w, m.q.lin.w.name], ...(m.q.lin.bias ? [[bias, m.q.lin.bias.name]] as [Value, string][] : [])] };
  },
};

/**
 * The same attention with the projections left outside (for the int8 source file: QDQ quantizes
 * the projection, the score path stays float in one kernel):
 *
 *   qkv = x·[W_q | W_k | W_v] + [b_q | b_k | b_v]      (one packed Linear, standard MatMul + Add)
 *   q, k, v = Split(qkv)                                 [S, N, H·d] each
 *   ctx = com.microsoft.MultiHeadAttention(q, k, v, attention_bias = B, num_heads = H, scale = c)
 *
 * onnxruntime 1.30's CPU MultiHeadAttention takes separate q/k/v [B, S, D] (not the packed
 * [B, S, N, 3, H] form), an optional bias input (not used: the Linear keeps its bias, which a QGemm
 * adds for free) and attention_bias broadcast over batch and heads; without attention_bias it runs
 * MLAS's flash attention.
 */
export const contribMhaRule: Rule<Attention> = {
  name: 'contrib-mha',
  ops: ['Softmax'],
  match: matchAttention,
  rewrite(m, b) {
    const [, H, , d] = dims(m.context.output);
    const x = m.q.lin.node.input(0);
    const w = packed(b, m, (l) => l.w, 1);
    const bias = m.q.lin.bias ? packed(b, m, (l) => l.bias!, 0) : null;
    const proj = b.matmul(x, w);
    const qkv = bias ? b.add(proj, bias) : proj;
    const back = emitAttention(b, m, 'MultiHeadAttention', b.split(qkv, [H! * d!, H! * d!, H! * d!], 2) as [Value, Value, Value]);
    return { replace: [[m.context.output, back]], names: [[w, m.q.lin.w.name], ...(bias ? [[bias, m.q.lin.bias!.name]] as [Value, string][] : [])] };
  },
};

/** A rule, then cancel-layout on what is left of the head split and merge. */
function withCancel(name: string, rule: Rule<Attention>): Pass {
  return {
    name,
    run(g, o): PassStats {
      const s = runRules(g, [rule], o);
      const c = runRules(g, [cancelLayout], o);
      return { counts: { ...s.counts, ...c.counts }, folded: s.folded + c.folded, removed: s.removed + c.removed, rounds: s.rounds + c.rounds };
    },
  };
}

export const contribAttention: Pass = withCancel('contrib-attention', contribAttentionRule);
/** The int8 source's attention (`contribAttention: 'mha'` in exportModel). */
export const contribMha: Pass = withCancel('contrib-mha', contribMhaRule);
