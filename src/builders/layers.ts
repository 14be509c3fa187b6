/**
 * Layers shared by the model families. Each creates its parameters in the builder's current scope
 * with the checkpoint's own names (`weight`, `bias`, `running_mean`, …) and writes every ONNX
 * attribute explicitly (onnxruntime-web's WebGPU Conv needs `dilations`).
 */
import { type Builder, BuildError } from '../graph/builder.js';
import { attr, type Value } from '../graph/ir.js';

export type Pads = number | readonly [number, number, number, number]; // [top, left, bottom, right]

export interface ConvOptions {
  out: number;
  k: number | readonly [number, number];
  stride?: number;
  /** Symmetric padding, or [top, left, bottom, right]; default k//2 ("same" for odd k, stride 1). */
  pad?: Pads;
  groups?: number;
  dilation?: number;
  bias?: boolean;
}

function inChannels(b: Builder, x: Value): number {
  const c = x.shape[1];
  if (typeof c !== 'number') throw new BuildError(`${b.scope}: channel dimension must be static`);
  return c;
}

/** 2-D convolution with params `<scope>.weight` [out, in/groups, kh, kw] and optional `<scope>.bias`. */
export function conv2d(b: Builder, x: Value, o: ConvOptions): Value {
  const [kh, kw] = typeof o.k === 'number' ? [o.k, o.k] : o.k;
  const groups = o.groups ?? 1;
  const cin = inChannels(b, x);
  if (cin % groups !== 0 || o.out % groups !== 0) throw new BuildError(`${b.scope}: ${cin}→${o.out} channels do not divide into ${groups} groups`);
  const s = o.stride ?? 1;
  const d = o.dilation ?? 1;
  const p = o.pad ?? [Math.floor(kh / 2), Math.floor(kw / 2), Math.floor(kh / 2), Math.floor(kw / 2)];
  const pads = typeof p === 'number' ? [p, p, p, p] : [p[0], p[1], p[2], p[3]];
  const w = b.param('weight', [o.out, cin / groups, kh, kw], 'affine_weight');
  const bias = o.bias ? b.param('bias', [o.out], 'affine_bias') : null;
  return b.op('Conv', bias ? [x, w, bias] : [x, w], {
    kernel_shape: attr.ints([kh, kw]),
    strides: attr.ints([s, s]),
    pads: attr.ints(pads),
    dilations: attr.ints([d, d]),
    group: attr.int(groups),
  }, '');
}

/** Transposed depthwise/grouped conv, weight [in, out/groups, kh, kw] (PyTorch layout). */
export function convTranspose2d(b: Builder, x: Value, o: { out: number; k: number; stride: number; groups?: number; bias?: boolean }): Value {
  const groups = o.groups ?? 1;
  const cin = inChannels(b, x);
  const w = b.param('weight', [cin, o.out / groups, o.k, o.k], 'affine_weight');
  const bias = o.bias ? b.param('bias', [o.out], 'affine_bias') : null;
  return b.op('ConvTranspose', bias ? [x, w, bias] : [x, w], {
    kernel_shape: attr.ints([o.k, o.k]),
    strides: attr.ints([o.stride, o.stride]),
    pads: attr.ints([0, 0, 0, 0]),
    dilations: attr.ints([1, 1]),
    output_padding: attr.ints([0, 0]),
    group: attr.int(groups),
  }, '');
}

/** Inference-mode BatchNorm over axis 1 with params weight, bias, running_mean, running_var. */
export function batchNorm(b: Builder, x: Value, eps = 1e-5): Value {
  const c = inChannels(b, x);
  const inputs = [
    x,
    b.param('weight', [c], 'norm_weight'),
    b.param('bias', [c], 'norm_bias'),
    b.param('running_mean', [c], 'norm_running_mean'),
    b.param('running_var', [c], 'norm_running_var'),
  ];
  return b.op('BatchNormalization', inputs, { epsilon: attr.float(eps), momentum: attr.float(0.9) }, '');
}

/** LayerNorm over the last axis with params weight, bias. */
export function layerNorm(b: Builder, x: Value, eps: number): Value {
  const c = x.shape[x.shape.length - 1];
  if (typeof c !== 'number') throw new BuildError(`${b.scope}: normalized dimension must be static`);
  const w = b.param('weight', [c], 'norm_weight');
  const bias = b.param('bias', [c], 'norm_bias');
  return b.op('LayerNormalization', [x, w, bias], { axis: attr.int(-1), epsilon: attr.float(eps), stash_type: attr.int(1) }, '');
}

/**
 * Linear layer y = x·Wᵀ + b with W [out, in] as stored in checkpoints. A 2-D input becomes one
 * Gemm(transB=1); higher ranks become MatMul with the transposed weight (folded to a constant by
 * the optimizer) plus Add.
 */
/**
 * The model's final classifier Linear, sized by the build context: `numClasses` outputs, or no
 * layer at all when `numClasses` is 0 (then `x`, the pooled pre-logits, is the model's output, as
 * timm's `num_classes=0` / `forward_head(x, pre_logits=True)`).
 */
export function classifier(b: Builder, x: Value, bias = true): Value {
  return b.ctx.numClasses > 0 ? linear(b, x, b.ctx.numClasses, bias) : x;
}

export function linear(b: Builder, x: Value, out: number, bias = true): Value {
  const cin = x.shape[x.shape.length - 1];
  if (typeof cin !== 'number') throw new BuildError(`${b.scope}: feature dimension must be static`);
  return applyLinear(b, x, linearParams(b, cin, out, bias));
}

/** A Linear layer's parameters (`<scope>.weight` [out, in], `<scope>.bias`), created now and applied later. */
export interface LinearParams { w: Value; bias: Value | null }

/**
 * Creates a Linear layer's parameters without applying it: for checkpoints that list a layer
 * before a layer that runs earlier (Next-ViT's E-MHSA: q, k, v, proj, then the k/v norm).
 */
export function linearParams(b: Builder, cin: number, out: number, bias = true): LinearParams {
  return { w: b.param('weight', [out, cin], 'affine_weight'), bias: bias ? b.param('bias', [out], 'affine_bias') : null };
}

/** Applies a Linear layer created by `linearParams` (same graph form as `linear`). */
export function applyLinear(b: Builder, x: Value, p: LinearParams): Value {
  const { w, bias: bv } = p;
  if (x.shape.length === 2) {
    return b.op('Gemm', bv ? [x, w, bv] : [x, w], { alpha: attr.float(1), beta: attr.float(1), transA: attr.int(0), transB: attr.int(1) }, '');
  }
  const wt = b.transpose(w, [1, 0]);
  const y = b.matmul(x, wt, 'MatMul');
  return bv ? b.add(y, bv, 'bias') : y;
}

export function avgPool2d(b: Builder, x: Value, o: { k: number; stride: number; pads?: readonly [number, number, number, number]; ceil?: boolean; countIncludePad?: boolean }): Value {
  return b.op('AveragePool', [x], {
    kernel_shape: attr.ints([o.k, o.k]),
    strides: attr.ints([o.stride, o.stride]),
    pads: attr.ints(o.pads ?? [0, 0, 0, 0]),
    ceil_mode: attr.int(o.ceil ? 1 : 0),
    count_include_pad: attr.int(o.countIncludePad ? 1 : 0),
  });
}

/** NCHW → (B, HW, C) tokens in raster order. */
export function toTokens(b: Builder, x: Value): Value {
  const [n, c, h, w] = x.shape;
  const flat = b.reshape(x, [n!, c!, (h as number) * (w as number)]);
  return b.transpose(flat, [0, 2, 1]);
}

/** (B, HW, C) tokens → NCHW. */
export function fromTokens(b: Builder, x: Value, h: number, w: number): Value {
  const [n, , c] = x.shape;
  return b.reshape(b.transpose(x, [0, 2, 1]), [n!, c!, h, w]);
}

/** timm's make_divisible. */
export function makeDivisible(v: number, divisor = 8, minValue?: number, roundLimit = 0.9): number {
  const min = minValue ?? divisor;
  let nv = Math.max(min, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (nv < roundLimit * v) nv += divisor;
  return nv;
}
