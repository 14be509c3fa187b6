/**
 * fp16: weights and compute in IEEE float16, a few numerically sensitive ops kept in float32.
 *
 *   Every float32 initializer a float16 node reads becomes a float16 initializer (same name when
 *   nothing else reads the float32 one; round to nearest even). Every node with a float32 output
 *   computes in float16, except the ops in `KEEP_FP32`, which get Casts around them:
 *
 *     Before:  x ─MatMul─► s ─Softmax─► p ─MatMul─► y
 *     After:   x ─MatMul─► s ─Cast(f32)─► Softmax ─Cast(f16)─► p ─MatMul─► y      (all else f16)
 *
 *   Kept in float32: Softmax (exp and a long sum), reductions (ReduceMean / ReduceSum …,
 *   GlobalAveragePool: sums of up to H·W terms), InstanceNormalization (MobileViT v2's GroupNorm:
 *   statistics over C·P·N values), and LayerNormalization when it will be decomposed
 *   (opset < 17). From opset 17 LayerNormalization stays one op with stash_type = 1, which computes
 *   its mean and variance in float32 by definition. Everything else is float16 end to end.
 *
 *   Graph inputs and outputs stay float32 with a Cast at the boundary (`io: 'fp32'`, the default),
 *   or become float16 (`io: 'fp16'`). Output names do not change.
 *
 * Structure only: the pass is exact up to the rounding of float16 itself (tests state tolerances).
 */
import { Builder } from '../graph/builder.js';
import { attr, type Graph, type Node, type Value } from '../graph/ir.js';
import { getOp, opsWhere } from '../graph/ops/index.js';
import { type DType, floatToHalf, Tensor } from '../graph/tensor.js';

export class Fp16Error extends Error {}

/** Ops kept in float32: the registry's `fp16: 'fp32'` entries (src/graph/ops/*.ts). */
export const KEEP_FP32: ReadonlySet<string> = opsWhere((s) => s.fp16 === 'fp32');

const ONNX_FLOAT = 1, ONNX_HALF = 10;

export interface Fp16Options {
  /** Element type of graph inputs and outputs (default 'fp32': Casts at the boundary). */
  io?: 'fp32' | 'fp16';
  /** Target opset: LayerNormalization is kept in float32 below 17 (it will be decomposed). */
  opset?: number;
  /** Override the ops kept in float32. */
  keepFp32?: ReadonlySet<string>;
}

export interface Fp16Stats {
  /** Cast nodes inserted. */
  casts: number;
  /** Initializers converted to float16. */
  constants: number;
  /** Nodes computing in float32 on purpose. */
  keptFp32: number;
  /** Nodes computing in float16. */
  half: number;
}

/** float32 → float16 bits, round to nearest even (bulk form of tensor.ts's floatToHalf). */
function halfBits(src: Float32Array, out: Uint16Array): void {
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) { out[i] = sign | 0x7c00 | (mant ? 0x200 : 0); continue; }
    const e = exp - 112; // rebias 127 → 15
    if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; }
    if (e <= 0) { out[i] = floatToHalf(src[i]!); continue; } // subnormal or zero: the careful path
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
    out[i] = sign | h;
  }
}

export function halfTensor(t: Tensor, name: string): Tensor {
  const src = t.toFloat32();
  const out = new Uint16Array(src.length);
  halfBits(src, out);
  let worst = 0;
  for (let i = 0; i < out.length; i++) {
    if ((out[i]! & 0x7fff) === 0x7c00 && Number.isFinite(src[i]!)) worst = Math.max(worst, Math.abs(src[i]!));
  }
  if (worst > 0) throw new Fp16Error(`${name} holds ${worst.toExponential(3)}, beyond float16's range (65504); export it as fp32`);
  return new Tensor('float16', t.shape, out);
}

const isFloat = (d: DType) => d === 'float32' || d === 'float16';

class Converter {
  readonly stats: Fp16Stats = { casts: 0, constants: 0, keptFp32: 0, half: 0 };
  private readonly memo = new Map<Value, Map<DType, Value>>();
  constructor(private readonly g: Graph) {}

  /** `v` as `dtype`: a converted initializer or a (shared) Cast node. */
  as(v: Value, dtype: DType): Value {
    if (v.dtype === dtype) return v;
    let m = this.memo.get(v);
    if (!m) this.memo.set(v, (m = new Map()));
    const hit = m.get(dtype);
    if (hit) return hit;
    let out: Value;
    if (v.constant && !v.isGraphInput) {
      const t = dtype === 'float16' ? halfTensor(v.constant, v.name) : Tensor.f32(v.constant.shape, v.constant.toFloat32());
      out = this.g.addConstant(`${v.name}__${dtype}`, t);
      this.stats.constants++;
    } else {
      const b = new Builder(this.g, v.producer?.name ?? v.name);
      out = b.op('Cast', [v], { to: attr.int(dtype === 'float16' ? ONNX_HALF : ONNX_FLOAT) }, dtype === 'float16' ? 'to_fp16' : 'to_fp32');
      this.stats.casts++;
    }
    m.set(dtype, out);
    return out;
  }

  /** Gives converted initializers their original names where the float32 one is no longer read. */
  settleNames(): void {
    for (const [orig, m] of this.memo) {
      if (!orig.constant || orig.uses.size > 0 || orig.isGraphOutput || !this.g.initializers.has(orig.name)) continue;
      const conv = m.get('float16') ?? m.get('float32');
      if (!conv?.constant) continue;
      const name = orig.name;
      this.g.removeInitializer(orig);
      this.g.renameValue(conv, name);
    }
  }
}

function computesHalf(n: Node, keep: ReadonlySet<string>): boolean {
  if (keep.has(n.op)) return false;
  if (n.op === 'Cast') return n.attrInt('to') === ONNX_FLOAT || n.attrInt('to') === ONNX_HALF;
  return n.outputs.some((o) => isFloat(o.dtype));
}

/** Converts `g` in place to float16 compute; returns what it did. */
export function toFloat16(g: Graph, o: Fp16Options = {}): Fp16Stats {
  const keep = new Set(o.keepFp32 ?? KEEP_FP32);
  if ((o.opset ?? 17) < 17) keep.add('LayerNormalization');
  const io: DType = o.io === 'fp16' ? 'float16' : 'float32';
  const c = new Converter(g);
  g.topoSort();
  for (const v of g.inputs) if (v.dtype === 'float32' && io === 'float16') v.type = { ...v.type, dtype: 'float16' };
  const outputsBefore = g.outputs.map((v) => isFloat(v.dtype));

  for (const n of [...g.nodes]) {
    if (n.domain) throw new Fp16Error(`node ${n.described} is in domain ${n.domain}, which the fp16 pass does not know`);
    const floatOut = n.outputs.some((v) => isFloat(v.dtype));
    if (!floatOut && n.op !== 'Cast') continue; // Shape, ArgMax …: any input type
    const half = computesHalf(n, keep);
    const want: DType = half ? 'float16' : 'float32';
    if (n.op === 'Cast') {
      if (half) { n.attrs['to'] = attr.int(ONNX_HALF); n.output.type = { ...n.output.type, dtype: 'float16' }; c.stats.half++; }
      continue;
    }
    const fixed = getOp(n.op)?.fixedF32 ?? []; // Resize roi and scales
    n.inputs.forEach((v, slot) => {
      if (!v || !isFloat(v.dtype)) return;
      n.setInput(slot, c.as(v, fixed.includes(slot) ? 'float32' : want));
    });
    for (const v of n.outputs) if (isFloat(v.dtype)) v.type = { ...v.type, dtype: want };
    if (half && n.op === 'LayerNormalization') n.attrs['stash_type'] = attr.int(1);
    if (half) c.stats.half++; else c.stats.keptFp32++;
  }

  g.outputs.forEach((v, i) => {
    if (!outputsBefore[i] || v.dtype === io) return;
    const name = v.name;
    g.renameValue(v, g.uniqueValueName(`${name}_${v.dtype === 'float16' ? 'fp16' : 'fp32'}`));
    const cast = g.addNode('Cast', [v], [{ dtype: io, shape: v.shape }], {
      name: `${name}/to_${io === 'float16' ? 'fp16' : 'fp32'}`, attrs: { to: attr.int(io === 'float16' ? ONNX_HALF : ONNX_FLOAT) }, outputNames: [name],
    });
    g.outputs[i] = cast.output;
    c.stats.casts++;
  });
  c.settleNames();
  g.topoSort();
  g.metadata.set('vitx.dtype', 'float16');
  g.metadata.set('vitx.io_dtype', io);
  const layout = g.metadata.get('vitx.layout');
  if (layout) g.metadata.set('vitx.layout', layout.replace('float32', io));
  return c.stats;
}
