/**
 * Next-ViT: Next Generation Vision Transformer for Efficient Deployment in Realistic Industrial
 * Scenarios (Li et al., 2022, arXiv:2207.05501).
 * Reference: timm v1.0.28 `timm/models/nextvit.py` (names = timm state_dict keys); official code
 * bytedance/Next-ViT `classification/nextvit.py`.
 *
 * Train-time form: every BatchNorm is present (eps 1e-5, 2-D and 1-D). The BN-merge passes fold
 * them later, so the dataflow below keeps each BN directly next to the linear op it merges into:
 *   NCB:  x = PE(x);  x = x + MHCA(x);  x = x + MLP(BN(x))
 *   NTB:  x = PE(x);  x = x + E-MHSA(BN1(x));  o = proj(x);  o = o + MHCA(o);
 *         x = concat(x, o);  x = x + MLP(BN2(x))
 *   head: BN → global average → Linear
 */
import type { Builder } from '../graph/builder.js';
import { attr, type Dim, type Value } from '../graph/ir.js';
import { applyLinear, avgPool2d, batchNorm, conv2d, fromTokens, type LinearParams, linearParams, makeDivisible, classifier } from './layers.js';
import { IMAGENET_MEAN, IMAGENET_STD, register } from './registry.js';

const BN_EPS = 1e-5;
const HEAD_DIM = 32; // MHCA group width and E-MHSA head size
const MIX_BLOCK_RATIO = 0.75; // share of NTB channels that go through E-MHSA
const SR_RATIOS = [8, 4, 2, 1]; // per stage; stage 0 has no NTB
const STAGE_STRIDES = [1, 2, 2, 2];
const STEM_CHS = [64, 32, 64, 64];
const STEM_STRIDES = [2, 1, 1, 2];

export interface NextVitConfig {
  /** Blocks per stage (paper Table: S 3-4-10-3, B 3-4-20-3, L 3-4-30-3). */
  depths: readonly [number, number, number, number];
}

const VARIANTS: Record<string, NextVitConfig & { paperMacs: number }> = {
  nextvit_small: { depths: [3, 4, 10, 3], paperMacs: 5.8e9 },
  nextvit_base: { depths: [3, 4, 20, 3], paperMacs: 8.3e9 },
  nextvit_large: { depths: [3, 4, 30, 3], paperMacs: 10.8e9 },
};

type BlockType = 'NCB' | 'NTB';
interface BlockPlan { type: BlockType; out: number }

/** Per-stage block list, as timm's NextViT builds it from the depths. */
function stagePlans(depths: NextVitConfig['depths']): BlockPlan[][] {
  const ncb = (out: number): BlockPlan => ({ type: 'NCB', out });
  const ntb = (out: number): BlockPlan => ({ type: 'NTB', out });
  const rep = <T>(xs: T[], n: number): T[] => Array.from({ length: n }, () => xs).flat();
  return [
    rep([ncb(96)], depths[0]),
    [...rep([ncb(192)], depths[1] - 1), ntb(256)],
    rep([ncb(384), ncb(384), ncb(384), ncb(384), ntb(512)], depths[2] / 5),
    [...rep([ncb(768)], depths[3] - 1), ntb(1024)],
  ];
}

function channels(x: Value): number { return x.shape[1] as number; }

/** ConvNormAct: 3×3 conv (no bias, padding 1) → BN → ReLU. */
function convNormAct(b: Builder, x: Value, out: number, stride: number): Value {
  const y = conv2d(b.child('conv'), x, { out, k: 3, stride, pad: 1 });
  return b.relu(batchNorm(b.child('norm'), y, BN_EPS));
}

/**
 * PatchEmbed: stride 2 → AvgPool 2×2 (ceil, padding not counted) → 1×1 conv → BN;
 * stride 1 with a channel change → 1×1 conv → BN; otherwise identity (no keys).
 */
function patchEmbed(b: Builder, x: Value, out: number, stride: number): Value {
  if (stride === 2) x = avgPool2d(b, x, { k: 2, stride: 2, ceil: true, countIncludePad: false });
  else if (channels(x) === out) return x;
  const y = conv2d(b.child('conv'), x, { out, k: 1, pad: 0 });
  return batchNorm(b.child('norm'), y, BN_EPS);
}

/** MHCA: grouped 3×3 conv (groups C/32) → BN → ReLU → 1×1 projection (no biases). */
function mhca(b: Builder, x: Value): Value {
  const c = channels(x);
  let y = conv2d(b.child('group_conv3x3'), x, { out: c, k: 3, pad: 1, groups: c / HEAD_DIM });
  y = b.relu(batchNorm(b.child('norm'), y, BN_EPS));
  return conv2d(b.child('projection'), y, { out: c, k: 1, pad: 0 });
}

/** ConvMlp: 1×1 conv C→hidden (bias) → ReLU → 1×1 conv hidden→C (bias). */
function mlp(b: Builder, x: Value, hidden: number): Value {
  const c = channels(x);
  const h = b.relu(conv2d(b.child('fc1'), x, { out: hidden, k: 1, pad: 0, bias: true }));
  return conv2d(b.child('fc2'), h, { out: c, k: 1, pad: 0, bias: true });
}

/** Next Convolution Block. */
function ncb(b: Builder, x: Value, out: number, stride: number): Value {
  x = patchEmbed(b.child('patch_embed'), x, out, stride);
  x = b.add(x, mhca(b.child('mhca'), x), 'attn_residual');
  const y = batchNorm(b.child('norm'), x, BN_EPS);
  return b.add(x, mlp(b.child('mlp'), y, out * 3), 'mlp_residual');
}

/**
 * 1-D average pool over the last axis of [B, C, N] with kernel = stride = k, floor mode: the
 * N mod k tail tokens are dropped (timm's AvgPool1d). Groups of k consecutive raster tokens.
 */
function avgPool1d(b: Builder, x: Value, k: number): Value {
  return b.op('AveragePool', [x], {
    kernel_shape: attr.ints([k]),
    strides: attr.ints([k]),
    pads: attr.ints([0, 0]),
    ceil_mode: attr.int(0),
    count_include_pad: attr.int(0),
  }, 'sr');
}

/**
 * Efficient multi-head self-attention on u = BN1(x) given as [B, C1, N] (channel axis 1).
 * q from all N tokens; k, v from the tokens pooled by r² (AvgPool1d → BatchNorm1d) when r > 1.
 * softmax(q·kᵀ/√32)·v, heads concatenated, Linear proj. Returns tokens [B, N, C1].
 */
function eMhsa(b: Builder, u: Value, sr: number): Value {
  const [bs, c1, n] = u.shape as [Dim, number, number];
  const heads = c1 / HEAD_DIM;
  const tokens = b.transpose(u, [0, 2, 1]); // [B, N, C1]
  // timm's state_dict order: q, k, v, proj, then the k/v norm (created last, applied first)
  const [pq, pk, pv, pproj] = ['q', 'k', 'v', 'proj'].map((n) => linearParams(b.child(n), c1, c1)) as [LinearParams, LinearParams, LinearParams, LinearParams];
  let kvTokens = tokens;
  if (sr > 1) {
    const pooled = avgPool1d(b, u, sr * sr); // [B, C1, N']
    kvTokens = b.transpose(batchNorm(b.child('norm'), pooled, BN_EPS), [0, 2, 1]);
  }
  const nkv = kvTokens.shape[1] as number;
  const q = b.transpose(b.reshape(applyLinear(b.child('q'), tokens, pq), [bs, n, heads, HEAD_DIM]), [0, 2, 1, 3]);
  const k = b.transpose(b.reshape(applyLinear(b.child('k'), kvTokens, pk), [bs, nkv, heads, HEAD_DIM]), [0, 2, 3, 1]);
  const v = b.transpose(b.reshape(applyLinear(b.child('v'), kvTokens, pv), [bs, nkv, heads, HEAD_DIM]), [0, 2, 1, 3]);
  const scores = b.mul(b.matmul(q, k, 'qk'), b.scalar(1 / Math.sqrt(HEAD_DIM), 'scale'), 'scaled');
  const ctx = b.matmul(b.softmax(scores, -1), v, 'av'); // [B, h, N, 32]
  const merged = b.reshape(b.transpose(ctx, [0, 2, 1, 3]), [bs, n, c1]);
  return applyLinear(b.child('proj'), merged, pproj);
}

/** Next Transformer Block (C1 = E-MHSA channels first in the concat, C2 = C − C1 conv channels). */
function ntb(b: Builder, x: Value, out: number, stride: number, sr: number): Value {
  const c1 = makeDivisible(Math.floor(out * MIX_BLOCK_RATIO), 32);
  const c2 = out - c1;
  x = patchEmbed(b.child('patch_embed'), x, c1, stride);
  const [bs, , h, w] = x.shape as [Dim, number, number, number];
  const u = b.reshape(batchNorm(b.child('norm1'), x, BN_EPS), [bs, c1, h * w]);
  x = b.add(x, fromTokens(b, eMhsa(b.child('e_mhsa'), u, sr), h, w), 'mhsa_residual');
  let o = batchNorm(b.child('projection', 'norm'), conv2d(b.child('projection', 'conv'), x, { out: c2, k: 1, pad: 0 }), BN_EPS);
  o = b.add(o, mhca(b.child('mhca'), o), 'mhca_residual');
  x = b.concat([x, o], 1);
  const y = batchNorm(b.child('norm2'), x, BN_EPS);
  return b.add(x, mlp(b.child('mlp'), y, out * 2), 'mlp_residual');
}

function buildNextVit(cfg: NextVitConfig, b: Builder, x: Value): Value {
  STEM_CHS.forEach((c, i) => { x = convNormAct(b.child('stem', i), x, c, STEM_STRIDES[i]!); });
  stagePlans(cfg.depths).forEach((plan, s) => {
    plan.forEach((blk, i) => {
      const bb = b.child('stages', s, 'blocks', i);
      const stride = i === 0 ? STAGE_STRIDES[s]! : 1;
      x = blk.type === 'NCB' ? ncb(bb, x, blk.out, stride) : ntb(bb, x, blk.out, stride, SR_RATIOS[s]!);
    });
    b.feature(x); // stages.<s>
  });
  x = batchNorm(b.child('norm'), x, BN_EPS);
  const pooled = b.flatten(b.globalAvgPool(x), 1);
  return classifier(b.child('head', 'fc'), pooled);
}

function registerVariant(name: keyof typeof VARIANTS): void {
  const cfg = VARIANTS[name]!;
  register({
    name,
    family: 'nextvit',
    paper: 'Next-ViT (Li et al., 2022, arXiv:2207.05501)',
    source: 'timm v1.0.28 timm/models/nextvit.py',
    defaultSize: [224, 224],
    sizeMultiple: 32,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    numClasses: 1000,
    paperMacs: cfg.paperMacs,
    build: (b, x) => buildNextVit(cfg, b, x),
  });
}

registerVariant('nextvit_small');
registerVariant('nextvit_base');
registerVariant('nextvit_large');
