/**
 * Static QDQ quantization of a float graph (onnxruntime's "QDQ format"; TensorRT's explicit
 * quantization). Every rewrite is a pair x → QuantizeLinear → DequantizeLinear → x̂ with
 *
 *   q = clamp(round(x / s) + z, qmin, qmax),   x̂ = (q − z) · s
 *
 * Weights (Conv, Gemm, MatMul with a constant 2-D B): int8, symmetric per output channel,
 * s_c = max|W_c| / 127, z = 0 (Conv axis 0; MatMul B[K, N] axis 1; Gemm B axis 0 with transB=1);
 * web: the same levels as uint8 with z = 128. ort / web: every op with a dot product shorter than
 * MIN_REDUCTION stays float, except a depthwise Conv inside a uint8 region (growRegions, ort); grouped
 * Convs with one input channel and several filters per group stay float (QLinearConv runs them as
 * one tiny GEMM per group: FastViT's 7×7 stride-2 ones made it 2.2× slower). tensorrt: depthwise
 * Convs above 3×3 stay float.
 * Conv / Gemm biases: int32 with s = s_x · s_c, z = 0 (what QLinearConv / QGemm take).
 *
 * Activations (per tensor, range [lo, hi] from calibrate.ts):
 *   ort / web: uint8 asymmetric, s = (hi' − lo') / 255, z = round(−lo' / s), lo' = min(lo, 0),
 *              hi' = max(hi, 0). The inputs and the output of every quantized op get a pair, so
 *              onnxruntime fuses the unit into QLinearConv / QLinearMatMul / QGemm. A Relu that is
 *              the only consumer of a quantized op's output is removed: its range [0, hi] gives
 *              z = 0 and the clamp of Q is the Relu (exact). A residual Add whose output is
 *              quantized gets pairs on both inputs (QLinearAdd). The uint8 regions then grow
 *              through the ops onnxruntime has uint8 kernels for (growRegions).
 *   tensorrt:  int8 symmetric, s = max(|lo|, |hi|) / 127, z = 0, pairs on the inputs of the
 *              quantizable ops only (TensorRT propagates them and fuses the output side itself).
 *
 * Stays float by default: Softmax, LayerNormalization and its statistics, GELU and the attention
 * score path (MatMuls of two activations, q·kᵀ and attn·v, and what feeds them), where 8 bits
 * cost accuracy; `quantizeAttention` adds pairs on those MatMuls too.
 */
import { attr, type Graph, type Node, type Value } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import type { Range } from './calibrate.js';

export type QuantProfile = 'ort' | 'web' | 'tensorrt';
export const QUANT_PROFILES: readonly QuantProfile[] = ['ort', 'web', 'tensorrt'];

export interface QdqPlan {
  /** Nodes whose weights are quantized. */
  nodes: Node[];
  /** Activation tensors that get a Q/DQ pair, in graph order. */
  tensors: Value[];
  /** Tensor → the value whose range sets its parameters (a folded Relu's output), when not itself. */
  rangeOf: Map<Value, Value>;
  /** Relu nodes folded into the quantization of their input. */
  folded: Node[];
  /** Output of a data-movement op → its input: quantized with the same parameters (onnxruntime drops the pair). */
  sameAs?: Map<Value, Value>;
}

const isFloat = (v: Value | null): v is Value => v !== null && v.dtype === 'float32';
const isActivation = (v: Value | null): v is Value => isFloat(v) && !v.isConstant;

/**
 * ort / web: ops whose dot products are shorter than this (K = C_in/group·kh·kw, or a MatMul's
 * inner dimension) stay float: they are memory-bound, and the Q/DQ around them cost more than the
 * integer kernel saves. Measured on CPU time per run, interleaved (int8/float32, two runs each):
 * before the uint8 regions, K ≥ 64 gave mobilevit_xxs, fastvit_t8, edgevit_xxs, mobileone_s0 0.93 /
 * 0.90 / 0.81 / 0.72 against 1.15 / 1.15 / 0.92 / 0.67 with every op quantized. With the regions,
 * K ≥ 32 against K ≥ 64: fastvit_t8 0.87 / 0.73 vs 0.91 / 0.80, mobileone_s0 0.62 / 0.51 vs
 * 0.66 / 0.56, fastvit_sa12 0.72 / 0.59 vs 0.73 / 0.60, mobilevit_xxs and edgevit_xxs within noise
 * (±3 %); K ≥ 24 or 16 were slower on fastvit_t8 and mobileone_s0 (their 3×3 stems, K = 27, turn int8).
 * web keeps K ≥ 64 and no regions: on onnxruntime-web (1 thread) K ≥ 32 made mobileone_s0 1.05 vs
 * 0.96 and edgevit_xxs 0.83 vs 0.78, and the regions maxvit_tiny_tf_224 0.68 vs 0.65 (mobilevit_xxs
 * 0.86 vs 0.88, the rest within noise).
 */
export const MIN_REDUCTION: Readonly<Record<'ort' | 'web', number>> = { ort: 32, web: 64 };

/** Whether a profile grows uint8 regions (growRegions) and writes token Linears as Gemms (gemm2d.ts) by default. */
export const REGIONS_BY_DEFAULT: Readonly<Record<QuantProfile, boolean>> = { ort: true, web: false, tensorrt: false };

/**
 * Which input holds the constant weight, the per-channel axis and the dot-product length K.
 * `depthwise`: one filter per input channel (group = C_in = C_out), QLinearConv's depthwise kernel;
 * `multiplied`: grouped with one input channel per group but several filters each (FastViT's
 * 7×7 stride-2 downsampling convs), which QLinearConv runs as one tiny GEMM per group.
 */
function weightOf(n: Node): { slot: number; axis: number; k: number; depthwise: boolean; multiplied: boolean; kernel: number } | null {
  const w = n.inputs[1];
  if (!w?.isConstant || w.dtype !== 'float32') return null;
  const dims = w.shape.map(Number);
  if (n.op === 'Conv' && dims.length >= 3) {
    const group = n.attrInt('group', 1);
    const oneInput = group > 1 && dims[1] === 1;
    return {
      slot: 1, axis: 0, k: dims.slice(1).reduce((a, b) => a * b, 1), kernel: dims.slice(2).reduce((a, b) => a * b, 1),
      depthwise: oneInput && dims[0] === group, multiplied: oneInput && dims[0] !== group,
    };
  }
  const plain = { depthwise: false, multiplied: false, kernel: 1 };
  if (n.op === 'MatMul' && dims.length === 2) return { slot: 1, axis: 1, k: dims[0]!, ...plain };
  if (n.op === 'Gemm' && dims.length === 2 && n.attrInt('transA', 0) === 0) {
    const transB = n.attrInt('transB', 0) === 1;
    return { slot: 1, axis: transB ? 0 : 1, k: transB ? dims[1]! : dims[0]!, ...plain };
  }
  return null;
}

export interface PlanOptions {
  /** Also quantize the attention MatMuls (two activations). */
  quantizeAttention?: boolean;
  /** ort / web: minimum dot-product length of a quantized op (default MIN_REDUCTION[profile]). */
  minReduction?: number;
  /** ort / web: the uint8 region rules (depthwise Convs inside it, uint8 ops carried through); default REGIONS_BY_DEFAULT. */
  regions?: boolean;
}

/** ops onnxruntime runs on uint8 between a DQ and a Q: its QLinear* contrib kernels (qdq_selector_action_transformer.cc) */
const UNARY_U8 = new Set(['Sigmoid', 'GlobalAveragePool', 'AveragePool', 'LeakyRelu']);
const BINARY_U8 = new Set(['Add', 'Mul']);
/** data movement: onnxruntime drops the DQ/Q pair when input and output share scale and zero point */
const MOVE_U8 = new Set(['MaxPool', 'Resize', 'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Slice']);

export function planQdq(g: Graph, profile: QuantProfile, o: PlanOptions = {}): QdqPlan {
  g.topoSort();
  const nodes = new Set<Node>();
  const want = new Set<Value>();
  const rangeOf = new Map<Value, Value>();
  const folded: Node[] = [];
  const sameAs = new Map<Value, Value>();
  const withOutputs = profile !== 'tensorrt';
  const regions = withOutputs && (o.regions ?? REGIONS_BY_DEFAULT[profile]);
  const keptFloat = new Set<Node>();
  const depthwiseInside: Node[] = [];
  const quantizeOp = (n: Node, weight: boolean, attention: boolean) => {
    if (weight) { nodes.add(n); keptFloat.delete(n); }
    want.add(n.inputs[0]!);
    if (attention) want.add(n.inputs[1]!);
    const y = n.outputs[0]!;
    if (!withOutputs || y.isGraphOutput) return;
    const cs = [...y.uses];
    if (cs.length === 1 && cs[0]!.node.op === 'Relu' && !cs[0]!.node.output.isGraphOutput) {
      folded.push(cs[0]!.node);
      rangeOf.set(y, cs[0]!.node.output);
    }
    want.add(y);
  };
  for (const n of g.nodes) {
    let w = weightOf(n);
    if (w && !isActivation(n.inputs[0] ?? null)) w = null;
    // TensorRT: depthwise > 3×3 stays float (see the header)
    if (w && profile === 'tensorrt' && (w.depthwise || w.multiplied) && w.kernel > 9) w = null;
    if (w && withOutputs) {
      keptFloat.add(n);
      const min = o.minReduction ?? MIN_REDUCTION[profile as 'ort' | 'web'];
      if (w.multiplied) w = null;
      else if (w.depthwise && regions) { if (w.kernel <= 9) depthwiseInside.push(n); w = null; }
      else if (w.k < min || (w.depthwise && w.kernel > 9)) w = null;
    }
    const attention = n.op === 'MatMul' && !w && o.quantizeAttention && isActivation(n.inputs[0] ?? null) && isActivation(n.inputs[1] ?? null);
    if (w || attention) quantizeOp(n, Boolean(w), Boolean(attention));
  }
  if (withOutputs) {
    // a residual Add whose output is quantized: quantize both inputs too (QLinearAdd)
    for (const n of g.nodes) {
      if (n.op !== 'Add' || !want.has(n.output)) continue;
      const [a, b] = n.inputs;
      if (!isActivation(a ?? null) || !isActivation(b ?? null)) continue;
      if (a!.shape.join() !== n.output.shape.join() || b!.shape.join() !== n.output.shape.join()) continue;
      want.add(a!); want.add(b!);
    }
  }
  if (regions) growRegions(g, { want, nodes, keptFloat, folded, sameAs, depthwiseInside, quantizeOp });
  // a folded Relu's output is quantized as its input (the Relu's uses move there)
  for (const r of folded) want.delete(r.output);
  const tensors = [...g.nodes].flatMap((n) => n.outputs).filter((v) => want.has(v));
  for (const v of g.inputs) if (want.has(v)) tensors.unshift(v);
  return { nodes: [...g.nodes].filter((n) => nodes.has(n)), tensors, rangeOf, folded, sameAs };
}

/**
 * ort (web with `regions: true`): grow the uint8 regions around the quantized ops until nothing
 * changes, so that onnxruntime keeps uint8 NHWC tensors across them instead of transposing /
 * reordering at every int8↔float boundary (QLinearConv runs NHWC, float Conv NCHWc):
 *   - a depthwise 3×3 (or smaller) Conv whose input or output is quantized is quantized
 *     (QLinearConv's depthwise kernel). Measured (int8/float32, CPU, FastViT's 7×7s included):
 *     against input-only, fastvit_t8 0.79 vs 0.86, fastvit_sa12 0.67 vs 0.73, edgevit_xxs 0.88 vs
 *     0.91, mobileone_s0 0.61 vs 0.64; against every depthwise Conv, mobilevit_xxs 0.96 vs 1.03 (its
 *     early depthwise Convs sit between float SiLUs). Larger depthwise kernels stay float for
 *     fidelity: FastViT's 7×7s quantized (per-tensor activations, one input channel per output)
 *     dropped the worst held-out Pearson correlation to 0.971 (t12), 0.978 (s12), 0.981 (sa12),
 *     0.991 (t8), from ≥ 0.998;
 *   - Sigmoid, GlobalAveragePool, AveragePool, LeakyRelu whose input is quantized, Add / Mul whose
 *     two activation inputs are, and Concat whose inputs all are get their output quantized
 *     (QLinearSigmoid, QLinearMul — SiLU = x·σ(x) —, QLinearAdd, QLinearConcat, …);
 *   - MaxPool, Resize, Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Slice whose input is quantized
 *     get their output quantized with the input's scale and zero point (onnxruntime then runs them on
 *     uint8 and drops the pair);
 *   - never a tensor that would leave a weight op kept float between a DQ and a Q (nor a depthwise
 *     Conv whose input or output would): onnxruntime quantizes such a Conv / Gemm itself
 *     (WeightBiasQuantization: per-tensor weights; for FastViT's channel-multiplied 7×7 convs the
 *     slow grouped kernel, 2.2× slower end to end).
 */
function growRegions(g: Graph, s: {
  want: Set<Value>; nodes: Set<Node>; keptFloat: Set<Node>; folded: Node[]; sameAs: Map<Value, Value>; depthwiseInside: Node[];
  quantizeOp: (n: Node, weight: boolean, attention: boolean) => void;
}): void {
  const q = (v: Value) => s.want.has(v) || s.folded.some((r) => r.output === v);
  // quantizing v would leave a float weight op between a DQ and a Q (its input and output quantized)
  const sandwiches = (v: Value, self?: Node) => q(v) ? false
    : [...v.uses].some((u) => u.slot === 0 && u.node !== self && s.keptFloat.has(u.node) && q(u.node.outputs[0]!))
      || (v.producer !== null && v.producer !== self && s.keptFloat.has(v.producer) && q(v.producer.inputs[0]!));
  for (let changed = true; changed;) {
    changed = false;
    for (const n of s.depthwiseInside) {
      if (s.nodes.has(n) || !(q(n.inputs[0]!) || q(n.outputs[0]!)) || sandwiches(n.inputs[0]!, n) || sandwiches(n.outputs[0]!, n)) continue;
      s.quantizeOp(n, true, false);
      changed = true;
    }
    for (const n of g.nodes) {
      const y = n.outputs[0];
      if (!y || n.outputs.length !== 1 || !isFloat(y) || y.isGraphOutput || s.sameAs.has(y)) continue;
      const x = n.inputs[0] ?? null;
      const acts = n.inputs.filter((v) => isActivation(v));
      const ok = UNARY_U8.has(n.op) || MOVE_U8.has(n.op) ? isActivation(x) && q(x)
        : BINARY_U8.has(n.op) ? acts.length === 2 && acts.every(q)
          : n.op === 'Concat' ? acts.length === n.inputs.length && acts.every(q) : false;
      if (!ok || sandwiches(y)) continue;
      // data movement: the input's parameters also where the output was quantized for its consumer
      if (MOVE_U8.has(n.op)) s.sameAs.set(y, s.folded.find((r) => r.output === x)?.input(0) ?? x!);
      else if (s.want.has(y)) continue;
      s.want.add(y);
      changed = true;
    }
  }
}

/** The values whose ranges calibration must measure for `plan`. */
export function calibrationValues(plan: QdqPlan): Value[] {
  return [...new Set(plan.tensors.map((t) => plan.rangeOf.get(t) ?? t))];
}

interface QParams { scale: number; zero: number; dtype: 'uint8' | 'int8' }

/**
 * Weight element type per profile. web: uint8 (z = 128); onnxruntime-web (CPU time per run,
 * interleaved) ran u8-weight files as fast as or faster than s8 (edgevit_xxs 41.7 vs 47.0 ms,
 * fastvit_t8 and mobilevit_xxs equal), except mobileone_s0 (23.9 vs 22.5 ms).
 */
export function weightType(profile: QuantProfile): 'int8' | 'uint8' {
  return profile === 'web' ? 'uint8' : 'int8';
}

export function activationParams(r: Range, profile: QuantProfile): QParams {
  if (profile === 'tensorrt') {
    const a = Math.max(Math.abs(r.lo), Math.abs(r.hi));
    return { scale: a > 0 ? Math.fround(a / 127) : 1, zero: 0, dtype: 'int8' };
  }
  const lo = Math.min(r.lo, 0), hi = Math.max(r.hi, 0);
  const scale = hi > lo ? Math.fround((hi - lo) / 255) : 1;
  const zero = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zero, dtype: 'uint8' };
}

/**
 * Per-channel symmetric weights: values, scales (one per channel along `axis`). int8 (z = 0), or
 * uint8 with z = 128 (the same 255 levels shifted: q_u8 = q_s8 + 128) for backends whose integer
 * kernels want unsigned weights.
 */
export function quantizeWeight(w: Tensor, axis: number, dtype: 'int8' | 'uint8' = 'int8'): { q: Tensor; scales: Float32Array } {
  const shape = w.shape, data = w.data as Float32Array;
  const c = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const amax = new Float64Array(c);
  for (let i = 0; i < data.length; i++) { const ch = Math.floor(i / inner) % c; amax[ch] = Math.max(amax[ch]!, Math.abs(data[i]!)); }
  const scales = Float32Array.from(amax, (a) => (a > 0 ? a / 127 : 1));
  const shift = dtype === 'uint8' ? 128 : 0;
  const q = dtype === 'uint8' ? new Uint8Array(data.length) : new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const ch = Math.floor(i / inner) % c;
    q[i] = Math.max(-127, Math.min(127, Math.round(data[i]! / scales[ch]!))) + shift;
  }
  return { q: new Tensor(dtype, shape, q), scales };
}

function zeroTensor(dtype: 'uint8' | 'int8' | 'int32', n: number | null, v = 0): Tensor {
  const shape = n === null ? [] : [n];
  const k = n ?? 1;
  if (dtype === 'uint8') return new Tensor('uint8', shape, new Uint8Array(k).fill(v));
  if (dtype === 'int8') return new Tensor('int8', shape, new Int8Array(k).fill(v));
  return new Tensor('int32', shape, new Int32Array(k).fill(v));
}

/** Rewrites `g` in place; returns how many pairs / weights / biases were inserted. */
export function applyQdq(g: Graph, plan: QdqPlan, ranges: ReadonlyMap<string, Range>, profile: QuantProfile): { activations: number; weights: number; biases: number; reluFolded: number } {
  const params = new Map<Value, QParams>();
  for (const t of plan.tensors) {
    const src = plan.rangeOf.get(t) ?? t;
    const r = ranges.get(src.name);
    if (!r) throw new Error(`no calibration range for ${src.name}`);
    params.set(t, activationParams(plan.rangeOf.has(t) ? { lo: 0, hi: r.hi } : r, profile));
  }
  for (const t of plan.tensors) {
    let s = t;
    while (plan.sameAs?.has(s) && params.has(plan.sameAs.get(s)!)) s = plan.sameAs.get(s)!;
    params.set(t, params.get(s)!);
  }
  // Relus folded into their input's Q: the clamp at z = 0 is the Relu
  for (const relu of plan.folded) {
    relu.output.replaceAllUsesWith(relu.input(0));
    g.removeNode(relu);
  }
  let weights = 0, biases = 0;
  for (const n of plan.nodes) {
    const { slot, axis } = weightOf(n)!;
    const w = n.input(slot);
    const wt = weightType(profile);
    const { q, scales } = quantizeWeight(w.constant!, axis, wt);
    const c = scales.length;
    const wq = g.addConstant(`${w.name}_quantized`, q);
    const ws = g.addConstant(`${w.name}_scale`, new Tensor('float32', [c], scales));
    const wz = g.addConstant(`${w.name}_zero_point`, zeroTensor(wt, c, wt === 'uint8' ? 128 : 0));
    const dq = g.addNode('DequantizeLinear', [wq, ws, wz], [{ dtype: 'float32', shape: w.shape }], { name: `${w.name}_DequantizeLinear`, attrs: { axis: attr.int(axis) }, outputNames: [`${w.name}_dequantized`] });
    n.setInput(slot, dq.output);
    if (w.uses.size === 0 && !w.isGraphOutput) g.removeInitializer(w);
    weights++;
    // bias → int32 at s_x · s_c (needs the input's activation scale and a bias of c elements)
    const b = n.inputs[2];
    const xp = params.get(n.input(0));
    if (profile !== 'tensorrt' && b?.isConstant && b.dtype === 'float32' && b.constant!.size === c && b.shape.length === 1 && xp) {
      const bs = Float32Array.from(scales, (s) => Math.fround(s * xp.scale));
      const bd = b.constant!.data as Float32Array;
      const bq = Int32Array.from(bd, (v, i) => Math.max(-(2 ** 31) + 1, Math.min(2 ** 31 - 1, Math.round(v / bs[i]!))));
      const bqv = g.addConstant(`${b.name}_quantized`, new Tensor('int32', [c], bq));
      const bsv = g.addConstant(`${b.name}_scale`, new Tensor('float32', [c], bs));
      const bzv = g.addConstant(`${b.name}_zero_point`, zeroTensor('int32', c));
      const bdq = g.addNode('DequantizeLinear', [bqv, bsv, bzv], [{ dtype: 'float32', shape: b.shape }], { name: `${b.name}_DequantizeLinear`, attrs: { axis: attr.int(0) }, outputNames: [`${b.name}_dequantized`] });
      n.setInput(2, bdq.output);
      if (b.uses.size === 0 && !b.isGraphOutput) g.removeInitializer(b);
      biases++;
    }
  }
  for (const t of plan.tensors) {
    const p = params.get(t)!;
    const s = g.addConstant(`${t.name}_scale`, Tensor.scalarF32(p.scale));
    const z = g.addConstant(`${t.name}_zero_point`, zeroTensor(p.dtype, null, p.zero));
    const uses = [...t.uses];
    const q = g.addNode('QuantizeLinear', [t, s, z], [{ dtype: p.dtype, shape: t.shape }], { name: `${t.name}_QuantizeLinear`, outputNames: [`${t.name}_quantized`] });
    const dq = g.addNode('DequantizeLinear', [q.output, s, z], [{ dtype: 'float32', shape: t.shape }], { name: `${t.name}_DequantizeLinear`, outputNames: [`${t.name}_dequantized`] });
    for (const u of uses) u.node.setInput(u.slot, dq.output);
  }
  return { activations: plan.tensors.length, weights, biases, reluFolded: plan.folded.length };
}
