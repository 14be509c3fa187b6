/**
 * MobileViT v1 — "MobileViT: Light-weight, General-purpose, and Mobile-friendly Vision Transformer",
 * Mehta & Rastegari, ICLR 2022 (arXiv 2110.02178). Reference: timm v1.0.28
 * `timm/models/byobnet.py` + `timm/models/mobilevit.py` (`mobilevit_xxs|xs|s`); official apple/ml-cvnets.
 *
 * Names = timm state_dict keys. Dataflow at 256×256 (XXS):
 *   stem 3×3 s2 (128²) → stage 0: IR → stage 1: 3 IR (first s2, 64²)
 *     → stages 2..4: IR s2 + MobileViT block (32², 16², 8²) → final_conv 1×1 → pool → fc
 *
 *   IR (inverted residual):  BN(pw) → SiLU → BN(dw3×3, stride s) → SiLU → BN(pw)  [+ x if s = 1, in = out]
 *   MobileViT block:         y = conv_kxk(x) (3×3, BN, SiLU) → conv_1x1 (C→d, plain)
 *                            → unfold into 2×2 patches → L × pre-norm transformer → LN → fold
 *                            → conv_proj (1×1 d→C, BN, SiLU) → conv_fusion(concat[x, y]) (3×3 2C→C, BN, SiLU)
 *   Unfold (closed form):    sequence b·4 + (r·2 + s), token ih·nw + iw = x[b, :, 2·ih + r, 2·iw + s]
 *   At odd feature maps the block resizes bilinearly (half-pixel) up to even before unfolding and back after.
 *
 * MobileViT v2 — "Separable Self-attention for Mobile Vision Transformers", Mehta & Rastegari,
 * TMLR 2023 (arXiv 2206.02680). timm `mobilevitv2_050 … _200` (width multiplier m):
 *   stem 3×3 s2 (32m) → stage 0: IR (64m) → stage 1: 2 IR (128m, first s2)
 *     → stages 2..4: IR s2 + MobileViT-v2 block (256m, 384m, 512m; d = C/2; depth 2, 4, 3) → pool → fc
 *   IR expansion 2 (of the input width); no final conv (timm's `final_conv` is Identity).
 *   MobileViT-v2 block: [resize to even, align_corners] → conv_kxk (dw 3×3, BN, SiLU) → conv_1x1 (C→d)
 *     → unfold to [B, d, P = 4, N] → L × linear transformer → GN → fold → conv_proj (1×1 d→C, BN)
 *   Linear transformer (pre-norm):  x += attn(GN1(x));  x += fc2(SiLU(fc1(GN2(x))))   (1×1 convs)
 *   Separable attention on [B, d, P, N]:  [q | k | v] = qkv_proj(x) (1 + d + d channels)
 *     c = Σ_N k ⊙ softmax_N(q)  ([B, d, P, 1]);  y = out_proj(relu(v) ⊙ c)
 *   GN = GroupNorm(1 group, eps 1e-5): statistics over all of C·P·N per sample, then a per-channel affine.
 */
import type { Builder } from '../graph/builder.js';
import { attr, type Dim, type Value } from '../graph/ir.js';
import { dimMul } from '../graph/shapes.js';
import { Tensor } from '../graph/tensor.js';
import { batchNorm, conv2d, layerNorm, linear, makeDivisible, classifier } from './layers.js';
import { register } from './registry.js';

const BN_EPS = 1e-5;
const LN_EPS = 1e-5;
const PATCH = 2;
const HEADS = 4;

interface MobileVitStage { out: number; dim: number; depth: number }

interface MobileVitConfig {
  stem: number;
  /** Stage 0 (one IR, stride 1) and stage 1 (three IR, first stride 2) widths. */
  irWidths: readonly [number, number];
  /** Stages 2..4: IR stride 2 + MobileViT block (channels, transformer dim, transformer depth). */
  vit: readonly [MobileVitStage, MobileVitStage, MobileVitStage];
  expansion: number;
  finalConv: number;
  paperMacs: number;
}

// Paper Table 4 / timm model_cfgs (mobilevit_xxs|xs|s); MACs counted by the research notes (timm has no paper figure).
const VARIANTS: Record<string, MobileVitConfig> = {
  mobilevit_xxs: {
    stem: 16, irWidths: [16, 24], expansion: 2, finalConv: 320, paperMacs: 0.41e9,
    vit: [{ out: 48, dim: 64, depth: 2 }, { out: 64, dim: 80, depth: 4 }, { out: 80, dim: 96, depth: 3 }],
  },
  mobilevit_xs: {
    stem: 16, irWidths: [32, 48], expansion: 4, finalConv: 384, paperMacs: 1.03e9,
    vit: [{ out: 64, dim: 96, depth: 2 }, { out: 80, dim: 120, depth: 4 }, { out: 96, dim: 144, depth: 3 }],
  },
  mobilevit_s: {
    stem: 16, irWidths: [32, 64], expansion: 4, finalConv: 640, paperMacs: 2.0e9,
    vit: [{ out: 96, dim: 144, depth: 2 }, { out: 128, dim: 192, depth: 4 }, { out: 160, dim: 240, depth: 3 }],
  },
};

function channels(x: Value): number { return x.shape[1] as number; }

/** timm ConvNormAct: Conv (no bias, pad k//2) → BN → optional SiLU; params `<scope>.conv.*`, `<scope>.bn.*`. */
function convNormAct(b: Builder, x: Value, o: { out: number; k: number; stride?: number; groups?: number; act: boolean }): Value {
  const y = conv2d(b.child('conv'), x, { out: o.out, k: o.k, stride: o.stride, groups: o.groups });
  const n = batchNorm(b.child('bn'), y, BN_EPS);
  return o.act ? b.silu(n) : n;
}

/** ByobNet 'bottle' block with bottle_in / linear_out: mid = make_divisible(in·e). */
function invertedResidual(b: Builder, x: Value, out: number, stride: number, expansion: number): Value {
  const cin = channels(x);
  const mid = makeDivisible(cin * expansion);
  let y = convNormAct(b.child('conv1_1x1'), x, { out: mid, k: 1, act: true });
  y = convNormAct(b.child('conv2_kxk'), y, { out: mid, k: 3, stride, groups: mid, act: true });
  y = convNormAct(b.child('conv3_1x1'), y, { out, k: 1, act: false });
  return stride === 1 && cin === out ? b.add(y, x, 'residual') : y;
}

/**
 * Bilinear resize without antialias (PyTorch `F.interpolate`), as ONNX Resize(linear, half_pixel),
 * or Resize(linear, align_corners) for align_corners=True (MobileViT v2). Static batch: a `sizes` input; symbolic batch: `scales` (opset < 18
 * needs all dims) rounded up to the next float32 so that ⌊in·scale⌋ is the wanted size.
 */
function resizeBilinear(b: Builder, x: Value, h: number, w: number, alignCorners = false): Value {
  const [n, c, h0, w0] = x.shape as [Dim, number, number, number];
  const attrs = {
    mode: attr.string('linear'),
    coordinate_transformation_mode: attr.string(alignCorners ? 'align_corners' : 'half_pixel'),
    nearest_mode: attr.string('floor'),
    cubic_coeff_a: attr.float(-0.75),
    exclude_outside: attr.int(0),
  };
  if (typeof n === 'number') return b.op('Resize', [x, null, null, b.ints([n, c, h, w], 'sizes')], attrs);
  const scale = (to: number, from: number) => {
    const s = Math.fround(to / from);
    return Math.floor(Math.fround(from * s)) === to ? s : Math.fround(s * (1 + 2 ** -23));
  };
  const scales = b.constant('scales', Tensor.f32([4], [1, 1, scale(h, h0), scale(w, w0)]));
  return b.op('Resize', [x, null, scales], attrs);
}

/**
 * Unfold [B, d, H, W] into B·4 sequences of N = (H/2)(W/2) tokens:
 * [B, d, nh, 2, nw, 2] → perm (0, 3, 5, 2, 4, 1) → [B, 2, 2, nh, nw, d] → [B·4, N, d].
 */
function unfold(b: Builder, x: Value): Value {
  const [n, d, h, w] = x.shape as [Dim, number, number, number];
  const nh = h / PATCH, nw = w / PATCH;
  const six = b.reshape(x, [n, d, nh, PATCH, nw, PATCH]);
  const t = b.transpose(six, [0, 3, 5, 2, 4, 1]);
  return b.reshape(t, [dimMul(n, PATCH * PATCH), nh * nw, d]);
}

/** Exact inverse of `unfold`: [B·4, N, d] → [B, 2, 2, nh, nw, d] → perm (0, 5, 3, 1, 4, 2) → [B, d, H, W]. */
function fold(b: Builder, x: Value, batch: Dim, h: number, w: number): Value {
  const d = x.shape[2] as number;
  const nh = h / PATCH, nw = w / PATCH;
  const six = b.reshape(x, [batch, PATCH, PATCH, nh, nw, d]);
  const t = b.transpose(six, [0, 5, 3, 1, 4, 2]);
  return b.reshape(t, [batch, d, h, w]);
}

/** timm Attention on [S, N, d]: qkv (bias) split as (3, heads, head_dim); softmax(q·kᵀ/√hd)·v → proj. */
function attention(b: Builder, x: Value): Value {
  const [s, n, d] = x.shape as [Dim, number, number];
  const hd = d / HEADS;
  const qkv = linear(b.child('qkv'), x, 3 * d);
  const [q, k, v] = b.split(qkv, [d, d, d], 2).map((t) => b.reshape(t, [s, n, HEADS, hd]));
  const qh = b.mul(b.transpose(q!, [0, 2, 1, 3]), b.scalar(hd ** -0.5, 'scale'), 'q_scaled');
  const kt = b.transpose(k!, [0, 2, 3, 1]);
  const vh = b.transpose(v!, [0, 2, 1, 3]);
  const attn = b.softmax(b.matmul(qh, kt, 'scores'), -1);
  const o = b.transpose(b.matmul(attn, vh, 'context'), [0, 2, 1, 3]);
  return linear(b.child('proj'), b.reshape(o, [s, n, d]), d);
}

/** Pre-norm ViT block: x += attn(LN1(x)); x += fc2(SiLU(fc1(LN2(x)))). */
function transformerBlock(b: Builder, x: Value): Value {
  const d = x.shape[2] as number;
  const y = b.add(x, attention(b.child('attn'), layerNorm(b.child('norm1'), x, LN_EPS)), 'residual1');
  const m = b.child('mlp');
  const hidden = b.silu(linear(m.child('fc1'), layerNorm(b.child('norm2'), y, LN_EPS), 2 * d));
  return b.add(y, linear(m.child('fc2'), hidden, d), 'residual2');
}

function mobileVitBlock(b: Builder, x: Value, dim: number, depth: number): Value {
  const [batch, c, h, w] = x.shape as [Dim, number, number, number];
  let y = convNormAct(b.child('conv_kxk'), x, { out: c, k: 3, act: true });
  y = conv2d(b.child('conv_1x1'), y, { out: dim, k: 1 });
  const eh = Math.ceil(h / PATCH) * PATCH, ew = Math.ceil(w / PATCH) * PATCH;
  const resize = eh !== h || ew !== w;
  if (resize) y = resizeBilinear(b.child('resize_in'), y, eh, ew);
  let t = unfold(b.child('unfold'), y);
  for (let i = 0; i < depth; i++) t = transformerBlock(b.child('transformer', i), t);
  t = layerNorm(b.child('norm'), t, LN_EPS);
  y = fold(b.child('fold'), t, batch, eh, ew);
  if (resize) y = resizeBilinear(b.child('resize_out'), y, h, w);
  y = convNormAct(b.child('conv_proj'), y, { out: c, k: 1, act: true });
  return convNormAct(b.child('conv_fusion'), b.concat([x, y], 1), { out: c, k: 3, act: true });
}

function buildMobileVit(cfg: MobileVitConfig, b: Builder, x: Value): Value {
  let y = convNormAct(b.child('stem'), x, { out: cfg.stem, k: 3, stride: 2, act: true });
  const e = cfg.expansion;
  y = b.feature(invertedResidual(b.child('stages', 0, 0), y, cfg.irWidths[0], 1, e));
  for (let i = 0; i < 3; i++) y = invertedResidual(b.child('stages', 1, i), y, cfg.irWidths[1], i === 0 ? 2 : 1, e);
  b.feature(y);
  cfg.vit.forEach((st, i) => {
    const sb = b.child('stages', i + 2);
    y = invertedResidual(sb.child(0), y, st.out, 2, e);
    y = mobileVitBlock(sb.child(1), y, st.dim, st.depth);
    if (i < 2) b.feature(y); // stages.2, stages.3 (timm's feature_info has final_conv instead of stages.4)
  });
  y = b.feature(convNormAct(b.child('final_conv'), y, { out: cfg.finalConv, k: 1, act: true }));
  const h = b.child('head');
  return classifier(h.child('fc'), h.flatten(h.globalAvgPool(y), 1));
}

// ---------------------------------------------------------------- MobileViT v2

const GN_EPS = 1e-5;

/** timm `_mobilevitv2_cfg(multiplier)`: widths int(c·m) of (64, 128, 256, 384, 512), stem int(32·m). */
const V2_VARIANTS: Record<string, number> = {
  mobilevitv2_050: 0.5, mobilevitv2_075: 0.75, mobilevitv2_100: 1.0, mobilevitv2_125: 1.25,
  mobilevitv2_150: 1.5, mobilevitv2_175: 1.75, mobilevitv2_200: 2.0,
};
const V2_DEPTHS = [2, 4, 3] as const;

/**
 * GroupNorm with one group (timm GroupNorm1) on [B, C, …]: InstanceNormalization of the sample
 * flattened to [B, 1, C·…] (unit scale, zero bias), then `<scope>.weight` / `<scope>.bias` per channel.
 */
function groupNorm1(b: Builder, x: Value): Value {
  const [n, c, ...rest] = x.shape as [Dim, number, ...number[]];
  const w = b.param('weight', [c], 'norm_weight');
  const bias = b.param('bias', [c], 'norm_bias');
  const flat = b.reshape(x, [n, 1, rest.reduce((a, d) => a * d, c)]);
  const norm = b.op('InstanceNormalization', [flat, b.constant('one', Tensor.f32([1], [1])), b.constant('zero', Tensor.f32([1], [0]))], { epsilon: attr.float(GN_EPS) });
  const per = [c, ...rest.map(() => 1)];
  const y = b.mul(b.reshape(norm, x.shape), b.reshape(w, per), 'scale');
  return b.add(y, b.reshape(bias, per), 'shift');
}

/** 1×1 conv with bias (timm nn.Conv2d on the unfolded [B, C, P, N] tensor). */
function pointwise(b: Builder, x: Value, out: number): Value {
  return conv2d(b, x, { out, k: 1, bias: true });
}

/** Separable self-attention (timm LinearSelfAttention) on [B, d, P, N]. */
function linearSelfAttention(b: Builder, x: Value): Value {
  const d = channels(x);
  const qkv = pointwise(b.child('qkv_proj'), x, 1 + 2 * d);
  const [q, k, v] = b.split(qkv, [1, d, d], 1);
  const scores = b.softmax(q!, -1); // over the N patches, per pixel-in-patch P
  const context = b.op('ReduceSum', [b.mul(k!, scores, 'weighted_keys')], { axes: attr.ints([-1]), keepdims: attr.int(1) }, 'context');
  return pointwise(b.child('out_proj'), b.mul(b.relu(v!), context, 'gated_values'), d);
}

/** timm LinearTransformerBlock: x += attn(GN1(x)); x += fc2(SiLU(fc1(GN2(x)))). */
function linearTransformerBlock(b: Builder, x: Value): Value {
  const d = channels(x);
  const y = b.add(x, linearSelfAttention(b.child('attn'), groupNorm1(b.child('norm1'), x)), 'residual1');
  const m = b.child('mlp');
  const hidden = b.silu(pointwise(m.child('fc1'), groupNorm1(b.child('norm2'), y), 2 * d));
  return b.add(y, pointwise(m.child('fc2'), hidden, d), 'residual2');
}

/**
 * [B, d, H, W] → [B, d, P = 4, N] with P = r·2 + s, N = ih·nw + iw (timm's reshape/permute), at rank ≤ 5:
 * [B·d, nh, 2, nw, 2] → perm (0, 2, 4, 1, 3) → [B·d, 2, 2, nh, nw].
 */
function unfoldV2(b: Builder, x: Value): Value {
  const [n, d, h, w] = x.shape as [Dim, number, number, number];
  const nh = h / PATCH, nw = w / PATCH;
  const five = b.reshape(x, [dimMul(n, d), nh, PATCH, nw, PATCH]);
  return b.reshape(b.transpose(five, [0, 2, 4, 1, 3]), [n, d, PATCH * PATCH, nh * nw]);
}

/** Exact inverse of `unfoldV2`. */
function foldV2(b: Builder, x: Value, h: number, w: number): Value {
  const [n, d] = x.shape as [Dim, number];
  const nh = h / PATCH, nw = w / PATCH;
  const five = b.reshape(x, [dimMul(n, d), PATCH, PATCH, nh, nw]);
  return b.reshape(b.transpose(five, [0, 3, 1, 4, 2]), [n, d, h, w]);
}

/** timm MobileVitV2Block (output [B, C, H', W'] with H', W' rounded up to even, as timm leaves them). */
function mobileVitV2Block(b: Builder, x: Value, depth: number): Value {
  const [, c, h, w] = x.shape as [Dim, number, number, number];
  const eh = Math.ceil(h / PATCH) * PATCH, ew = Math.ceil(w / PATCH) * PATCH;
  let y = eh !== h || ew !== w ? resizeBilinear(b.child('resize_in'), x, eh, ew, true) : x;
  y = convNormAct(b.child('conv_kxk'), y, { out: c, k: 3, groups: c, act: true });
  y = conv2d(b.child('conv_1x1'), y, { out: makeDivisible(c / 2), k: 1 });
  let t = unfoldV2(b.child('unfold'), y);
  for (let i = 0; i < depth; i++) t = linearTransformerBlock(b.child('transformer', i), t);
  t = groupNorm1(b.child('norm'), t);
  y = foldV2(b.child('fold'), t, eh, ew);
  return convNormAct(b.child('conv_proj'), y, { out: c, k: 1, act: false });
}

function buildMobileVitV2(m: number, b: Builder, x: Value): Value {
  const [c0, c1, ...vit] = [64, 128, 256, 384, 512].map((c) => Math.floor(c * m));
  let y = convNormAct(b.child('stem'), x, { out: Math.floor(32 * m), k: 3, stride: 2, act: true });
  y = b.feature(invertedResidual(b.child('stages', 0, 0), y, c0!, 1, 2));
  for (let i = 0; i < 2; i++) y = invertedResidual(b.child('stages', 1, i), y, c1!, i === 0 ? 2 : 1, 2);
  b.feature(y);
  vit.forEach((c, i) => {
    const sb = b.child('stages', i + 2);
    y = invertedResidual(sb.child(0), y, c, 2, 2);
    y = b.feature(mobileVitV2Block(sb.child(1), y, V2_DEPTHS[i]!));
  });
  const h = b.child('head');
  return classifier(h.child('fc'), h.flatten(h.globalAvgPool(y), 1));
}

for (const [name, cfg] of Object.entries(VARIANTS)) {
  register({
    name,
    family: 'mobilevit',
    paper: 'MobileViT: Light-weight, General-purpose, and Mobile-friendly Vision Transformer (Mehta & Rastegari, ICLR 2022, arXiv 2110.02178)',
    source: 'timm v1.0.28 timm/models/mobilevit.py + byobnet.py; apple/ml-cvnets',
    defaultSize: [256, 256],
    sizeMultiple: 32,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    numClasses: 1000,
    paperMacs: cfg.paperMacs,
    build: (b, x) => buildMobileVit(cfg, b, x),
  });
}

for (const [name, m] of Object.entries(V2_VARIANTS)) {
  register({
    name,
    family: 'mobilevit',
    paper: 'Separable Self-attention for Mobile Vision Transformers (Mehta & Rastegari, TMLR 2023, arXiv 2206.02680)',
    source: 'timm v1.0.28 timm/models/mobilevit.py + byobnet.py; apple/ml-cvnets',
    defaultSize: [256, 256],
    sizeMultiple: 32,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    numClasses: 1000,
    build: (b, x) => buildMobileVitV2(m, b, x),
  });
}
