/**
 * FastViT — "FastViT: A Fast Hybrid Vision Transformer using Structural Reparameterization",
 * Vasu et al., ICCV 2023 (arXiv 2303.14189). Reference: timm v1.0.28 `timm/models/fastvit.py`
 * (`fastvit_t8 … fastvit_ma36`); official code apple/ml-fastvit.
 *
 * Train-time form (names = timm state_dict keys) and, for checkpoints that are already
 * reparameterized, timm's fused form (`buildFused`: `reparam_conv` convs with bias). Dataflow at 256×256 (T8):
 *   stem (3 MobileOne blocks, /4) → stage 0 → [downsample → (RepCPE) → blocks] × 3 → final_conv → pool → fc
 *
 *   RepMixer:      y = x + γ ⊙ (mixer(x) − norm(x))          γ: [C,1,1]; mixer/norm are MobileOne blocks
 *   ConvMlp:       BN(dwconv7×7(x)) → fc1 (1×1) → GELU → fc2 (1×1)
 *   RepMixerBlock: x = RepMixer(x);  x = x + γ₂ ⊙ ConvMlp(x)
 *   AttnBlock:     x = x + γ₁ ⊙ MHSA(BN(x));  x = x + γ₂ ⊙ ConvMlp(x)   (head_dim 32, no qkv bias)
 *   Downsample:    BN(conv7×7 s2) + BN(conv3×3 s2) (groups = C_in, out = 2·C_in; no act) → MobileOne 1×1
 *   RepCPE:        y = x + dwconv7×7(x) (bias)
 *   final_conv:    MobileOne 3×3 (groups = C, out = 2C) → SE (ReLU, sigmoid) → GELU
 *
 * MCi0–MCi4 — the image towers of "MobileCLIP: Fast Image-Text Models through Multi-Modal
 * Reinforced Training", Vasu et al., CVPR 2024 (arXiv 2311.17049), and MobileCLIP2 (MCi3/MCi4);
 * timm `fastvit_mci0 … fastvit_mci4`. Same blocks, plus:
 *   Downsample:    the large-kernel conv is followed by SE (stages 2, 3 of MCi0–2; rd = C/4) and GELU
 *   MCi3 / MCi4:   five stages (/64), attention in the last two (each after a RepCPE), attention
 *                  pre-norm LayerNorm2d (eps 1e-5) instead of BN, stem blocks without the 1×1 scale branch
 *   Head:          default 512 (MCi0–2) or 768 (MCi3/4) outputs: MobileCLIP's image projection as `head.fc`
 */
import type { Builder } from '../graph/builder.js';
import type { Value } from '../graph/ir.js';
import { batchNorm, conv2d, fromTokens, layerNorm, linear, makeDivisible, toTokens, classifier } from './layers.js';
import { activation, convBn, type Form, mobileOne, mobileOneBlock, seParams, squeezeExcite } from './mobileone.js';
import { IMAGENET_MEAN, IMAGENET_STD, register } from './registry.js';
import { defaultPretrainedCfg } from './pretrained.js';
import { TIMM_ZOO } from './timm-zoo.js';

const HEAD_DIM = 32;

interface FastVitConfig {
  depths: readonly number[];
  widths: readonly number[];
  mlpRatio: number;
  /** Stages from `attnFrom` (default 3) on use attention (and a RepCPE before it) instead of RepMixer. */
  attention: boolean;
  attnFrom?: number;
  paperMacs?: number;
  /** MCi: SE after the large-kernel conv of these stages' downsamples; GELU after it in every downsample. */
  seDownsample?: readonly number[];
  lkcAct?: boolean;
  /** Attention pre-norm: BatchNorm2d (default) or LayerNorm2d (MCi3/4). */
  attnNorm?: 'bn' | 'ln2d';
  /** Stem MobileOne blocks keep the 1×1 scale branch (default true). */
  stemScale?: boolean;
}

// Paper Table 2 / timm register_model functions
const VARIANTS: Record<string, FastVitConfig> = {
  fastvit_t8: { depths: [2, 2, 4, 2], widths: [48, 96, 192, 384], mlpRatio: 3, attention: false, paperMacs: 0.7e9 },
  fastvit_t12: { depths: [2, 2, 6, 2], widths: [64, 128, 256, 512], mlpRatio: 3, attention: false, paperMacs: 1.4e9 },
  fastvit_s12: { depths: [2, 2, 6, 2], widths: [64, 128, 256, 512], mlpRatio: 4, attention: false, paperMacs: 1.8e9 },
  fastvit_sa12: { depths: [2, 2, 6, 2], widths: [64, 128, 256, 512], mlpRatio: 4, attention: true, paperMacs: 1.9e9 },
  fastvit_sa24: { depths: [4, 4, 12, 4], widths: [64, 128, 256, 512], mlpRatio: 4, attention: true, paperMacs: 3.8e9 },
  fastvit_sa36: { depths: [6, 6, 18, 6], widths: [64, 128, 256, 512], mlpRatio: 4, attention: true, paperMacs: 5.6e9 },
  fastvit_ma36: { depths: [6, 6, 18, 6], widths: [76, 152, 304, 608], mlpRatio: 4, attention: true, paperMacs: 7.9e9 },
};

// timm fastvit_mci0 … fastvit_mci4 (MobileCLIP paper Table 2 / MobileCLIP2); no MAC figures in timm
const MCI = { attention: true, lkcAct: true } as const;
const MCI_5 = { ...MCI, mlpRatio: 4, attnFrom: 3, attnNorm: 'ln2d', stemScale: false } as const;
const MCI_VARIANTS: Record<string, FastVitConfig> = {
  fastvit_mci0: { ...MCI, depths: [2, 6, 10, 2], widths: [64, 128, 256, 512], mlpRatio: 3, seDownsample: [2, 3] },
  fastvit_mci1: { ...MCI, depths: [4, 12, 20, 4], widths: [64, 128, 256, 512], mlpRatio: 3, seDownsample: [2, 3] },
  fastvit_mci2: { ...MCI, depths: [4, 12, 24, 4], widths: [80, 160, 320, 640], mlpRatio: 3, seDownsample: [2, 3] },
  fastvit_mci3: { ...MCI_5, depths: [2, 12, 24, 4, 2], widths: [96, 192, 384, 768, 1536] },
  fastvit_mci4: { ...MCI_5, depths: [2, 12, 24, 4, 4], widths: [128, 256, 512, 1024, 2048] },
};

function channels(x: Value): number { return x.shape[1] as number; }

/** LayerScale2d: x · γ with γ [C,1,1] (`<scope>.gamma`). */
function layerScale(b: Builder, x: Value): Value {
  return b.mul(x, b.param('gamma', [channels(x), 1, 1], 'layer_scale'), 'layer_scale');
}

/** Convolutional stem: 3×3 s2 → depthwise 3×3 s2 → 1×1, each a MobileOne block with GELU. */
function stem(b: Builder, x: Value, c: number, form: Form, useScale = true): Value {
  let y = mobileOne(b.child(0), x, { out: c, k: 3, stride: 2, act: 'gelu', numConvBranches: 1, useScale }, form);
  y = mobileOne(b.child(1), y, { out: c, k: 3, stride: 2, groups: c, act: 'gelu', numConvBranches: 1, useScale }, form);
  return mobileOne(b.child(2), y, { out: c, k: 1, act: 'gelu', numConvBranches: 1 }, form);
}

/** RepMixer: x + γ ⊙ (mixer(x) − norm(x)); norm is a branch-less MobileOne block = BN(x). */
function repMixer(b: Builder, x: Value, form: Form): Value {
  const c = channels(x);
  if (form === 'fused') return conv2d(b.child('reparam_conv'), x, { out: c, k: 3, groups: c, bias: true });
  const norm = mobileOneBlock(b.child('norm'), x, { out: c, k: 3, groups: c, act: 'none', useScale: false, numConvBranches: 0 });
  const mixer = mobileOneBlock(b.child('mixer'), x, { out: c, k: 3, groups: c, act: 'none', numConvBranches: 1 });
  const d = b.sub(mixer, norm, 'mixer_minus_norm');
  return b.add(x, layerScale(b.child('layer_scale'), d), 'residual');
}

/** ConvMlp: BN(dwconv 7×7) → fc1 → GELU → fc2 (no internal residual). */
function convMlp(b: Builder, x: Value, hidden: number): Value {
  const c = channels(x);
  let y = convBn(b.child('conv'), x, { out: c, k: 7, groups: c });
  y = conv2d(b.child('fc1'), y, { out: hidden, k: 1, bias: true });
  y = b.gelu(y, 'none');
  return conv2d(b.child('fc2'), y, { out: c, k: 1, bias: true });
}

/** Multi-head self-attention over the H·W raster tokens, head_dim 32, no qkv bias. */
function attention(b: Builder, x: Value): Value {
  const [n, c, h, w] = x.shape as [number | string, number, number, number];
  const heads = c / HEAD_DIM;
  const tokens = toTokens(b, x); // [B, N, C]
  const qkv = linear(b.child('qkv'), tokens, 3 * c, false); // [B, N, 3C], channel = s·C + head·32 + d
  const [q, k, v] = b.split(qkv, [c, c, c], 2).map((t) => b.reshape(t, [n, h * w, heads, HEAD_DIM]));
  const qh = b.mul(b.transpose(q!, [0, 2, 1, 3]), b.scalar(HEAD_DIM ** -0.5, 'scale'), 'q_scaled'); // [B, h, N, d]
  const kt = b.transpose(k!, [0, 2, 3, 1]); // [B, h, d, N]
  const vh = b.transpose(v!, [0, 2, 1, 3]);
  const attn = b.softmax(b.matmul(qh, kt, 'scores'), -1);
  const o = b.transpose(b.matmul(attn, vh, 'context'), [0, 2, 1, 3]); // [B, N, h, d]
  const y = linear(b.child('proj'), b.reshape(o, [n, h * w, c]), c);
  return fromTokens(b, y, h, w);
}

function repMixerBlock(b: Builder, x: Value, mlpRatio: number, form: Form): Value {
  const y = repMixer(b.child('token_mixer'), x, form);
  const m = convMlp(b.child('mlp'), y, channels(y) * mlpRatio);
  return b.add(y, layerScale(b.child('layer_scale'), m), 'residual');
}

/** timm LayerNorm2d: LayerNorm over channels of an NCHW map (permute to NHWC and back). */
function layerNorm2d(b: Builder, x: Value, eps: number): Value {
  return b.transpose(layerNorm(b, b.transpose(x, [0, 2, 3, 1]), eps), [0, 3, 1, 2]);
}

function attentionBlock(b: Builder, x: Value, mlpRatio: number, norm: 'bn' | 'ln2d' = 'bn'): Value {
  const n = norm === 'bn' ? batchNorm(b.child('norm'), x, 1e-5) : layerNorm2d(b.child('norm'), x, 1e-5);
  const a = attention(b.child('token_mixer'), n);
  const y = b.add(x, layerScale(b.child('layer_scale_1'), a), 'residual1');
  const m = convMlp(b.child('mlp'), y, channels(y) * mlpRatio);
  return b.add(y, layerScale(b.child('layer_scale_2'), m), 'residual2');
}

/**
 * PatchEmbed: ReparamLargeKernelConv (7×7 + 3×3, stride 2, groups = C_in; then SE and GELU where
 * the variant has them) → MobileOne 1×1. SE parameters follow the branches in the train-time
 * state_dict and precede `reparam_conv` in the fused one (timm's reparameterize adds it last).
 */
function downsample(b: Builder, x: Value, out: number, form: Form, o: { se: boolean; act: boolean }): Value {
  const lk = b.child('proj', 0);
  const cin = channels(x);
  const rd = makeDivisible(out / 4, 8, undefined, 0);
  let y: Value;
  let se = o.se && form === 'fused' ? seParams(lk.child('se'), out, rd) : null;
  if (form === 'fused') {
    y = conv2d(lk.child('reparam_conv'), x, { out, k: 7, stride: 2, pad: 3, groups: cin, bias: true });
  } else {
    const large = convBn(lk.child('large_conv'), x, { out, k: 7, stride: 2, groups: cin });
    const small = convBn(lk.child('small_conv'), x, { out, k: 3, stride: 2, groups: cin });
    y = lk.add(large, small, 'large_plus_small');
    if (o.se) se = seParams(lk.child('se'), out, rd);
  }
  if (se) y = squeezeExcite(lk.child('se'), y, se);
  if (o.act) y = activation(lk, y, 'gelu');
  return mobileOne(b.child('proj', 1), y, { out, k: 1, act: 'gelu', numConvBranches: 1 }, form);
}

/** RepCPE: x + dwconv7×7(x) (with bias). */
function repCpe(b: Builder, x: Value, form: Form): Value {
  const c = channels(x);
  if (form === 'fused') return conv2d(b.child('reparam_conv'), x, { out: c, k: 7, groups: c, bias: true });
  return b.add(conv2d(b.child('pos_enc'), x, { out: c, k: 7, groups: c, bias: true }), x, 'residual');
}

function buildFastVit(cfg: FastVitConfig, b: Builder, x: Value, form: Form): Value {
  let y = stem(b.child('stem'), x, cfg.widths[0]!, form, cfg.stemScale);
  for (let s = 0; s < cfg.depths.length; s++) {
    const sb = b.child('stages', s);
    if (s > 0) {
      const o = { se: cfg.seDownsample?.includes(s) ?? false, act: cfg.lkcAct ?? false };
      y = downsample(sb.child('downsample'), y, cfg.widths[s]!, form, o);
    }
    const attn = cfg.attention && s >= (cfg.attnFrom ?? 3);
    if (attn) y = repCpe(sb.child('pos_emb'), y, form);
    for (let i = 0; i < cfg.depths[s]!; i++) {
      const bb = sb.child('blocks', i);
      y = attn ? attentionBlock(bb, y, cfg.mlpRatio, cfg.attnNorm) : repMixerBlock(bb, y, cfg.mlpRatio, form);
    }
    b.feature(y);
  }
  const c = channels(y);
  const rd = makeDivisible((2 * c) / 16, 1, undefined, 0);
  y = mobileOne(b.child('final_conv'), y, {
    out: 2 * c, k: 3, groups: c, act: 'gelu', numConvBranches: 1, se: { name: 'se', rd, first: true },
  }, form);
  const h = b.child('head');
  return classifier(h.child('fc'), h.flatten(h.globalAvgPool(y), 1));
}

for (const [name, cfg] of Object.entries(VARIANTS)) {
  register({
    name,
    family: 'fastvit',
    paper: 'FastViT: A Fast Hybrid Vision Transformer using Structural Reparameterization (Vasu et al., ICCV 2023, arXiv 2303.14189)',
    source: 'timm v1.0.28 timm/models/fastvit.py; apple/ml-fastvit',
    defaultSize: [256, 256],
    sizeMultiple: 32,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    numClasses: 1000,
    paperMacs: cfg.paperMacs,
    build: (b, x) => buildFastVit(cfg, b, x, 'train'),
    buildFused: (b, x) => buildFastVit(cfg, b, x, 'fused'),
  });
}

for (const [name, cfg] of Object.entries(MCI_VARIANTS)) {
  const zoo = TIMM_ZOO[name]!;
  const tag = defaultPretrainedCfg(name)!; // preprocessing of timm's default (MobileCLIP) weights
  register({
    name,
    family: 'fastvit',
    paper: 'MobileCLIP: Fast Image-Text Models through Multi-Modal Reinforced Training (Vasu et al., CVPR 2024, arXiv 2311.17049); MobileCLIP2 (MCi3/MCi4)',
    source: 'timm v1.0.28 timm/models/fastvit.py; apple/ml-mobileclip',
    defaultSize: [256, 256],
    sizeMultiple: 2 ** (cfg.depths.length + 1),
    mean: tag.mean,
    std: tag.std,
    numClasses: zoo.defaultNumClasses,
    build: (b, x) => buildFastVit(cfg, b, x, 'train'),
    buildFused: (b, x) => buildFastVit(cfg, b, x, 'fused'),
  });
}
