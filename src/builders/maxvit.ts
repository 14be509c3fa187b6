/**
 * MaxViT — "MaxViT: Multi-Axis Vision Transformer", Tu et al., ECCV 2022 (arXiv 2204.01697).
 * Reference: timm v1.0.28 `timm/models/maxxvit.py`, the `_tf_` variants (ports of the official
 * google-research/maxvit TensorFlow weights, the paper configuration).
 *
 * Names = timm state_dict keys. Dataflow at 224×224 (T):
 *   stem: conv1 3×3 s2 (TF 'same') → BN → GELU-tanh → conv2 3×3  (112²)
 *   4 stages × depth × MaxViT block (first block of a stage has stride 2): 56², 28², 14², 7²
 *   head: mean over H,W → LayerNorm → Linear → tanh → Linear
 *
 *   MaxViT block:  x = MBConv(x);  x → NHWC;  x = PartitionAttn_block(x);  x = PartitionAttn_grid(x);  → NCHW
 *   MBConv:        shortcut = stride 2 ? expand1×1(AvgPool2×2(x)) : x
 *                  y = BN_pre(x) → 1×1 (4·C_out) → BN → GELU-tanh → dw3×3 (stride) → BN → GELU-tanh
 *                      → SE (mean → 1×1 → SiLU → 1×1 → sigmoid, ·) → 1×1 (C_out, bias);  out = y + shortcut
 *   PartitionAttn: x = x + unpartition(Attn(partition(LN(x))));  x = x + fc2(GELU-tanh(fc1(LN(x))))
 *     block partition: w×w tiles;  grid partition: a g×g lattice with stride H/g (w = g = size/32)
 *   Attn:          softmax(q·kᵀ/√32 + B)·v, qkv channels laid out (3, heads, 32);
 *                  B[h, (i,j), (x,y)] = table[h, x−i+w−1, y−j+w−1]  (key − query), a Gather with
 *                  constant indices that constant folding turns into a [heads, w², w²] constant.
 *   TF 'same' padding: total = max((⌈n/s⌉−1)·s + k − n, 0), ⌊total/2⌋ before, the rest after
 *     (stride 2 at even n: 0 before, 1 after).
 */
import type { Builder } from '../graph/builder.js';
import { attr, type Dim, type Value } from '../graph/ir.js';
import { dimMul } from '../graph/shapes.js';
import { Tensor } from '../graph/tensor.js';
import { avgPool2d, batchNorm, conv2d, layerNorm, linear, makeDivisible, classifier } from './layers.js';
import { IMAGENET_MEAN, IMAGENET_STD, register } from './registry.js';

const BN_EPS = 1e-3;
const LN_EPS = 1e-5;
const HEAD_DIM = 32;
const PARTITION_RATIO = 32;

interface MaxVitConfig {
  stem: number;
  dims: readonly [number, number, number, number];
  depths: readonly [number, number, number, number];
  headHidden: number;
  paperMacs: number;
}

// Paper Table 1 / timm model_cfgs maxvit_{tiny,small,base,large}_tf
const VARIANTS: Record<string, MaxVitConfig> = {
  maxvit_tiny_tf_224: { stem: 64, dims: [64, 128, 256, 512], depths: [2, 2, 5, 2], headHidden: 512, paperMacs: 5.6e9 },
  maxvit_small_tf_224: { stem: 64, dims: [96, 192, 384, 768], depths: [2, 2, 5, 2], headHidden: 768, paperMacs: 11.7e9 },
  maxvit_base_tf_224: { stem: 64, dims: [96, 192, 384, 768], depths: [2, 6, 14, 2], headHidden: 768, paperMacs: 24.2e9 },
  maxvit_large_tf_224: { stem: 128, dims: [128, 256, 512, 1024], depths: [2, 6, 14, 2], headHidden: 1024, paperMacs: 43.9e9 },
};

function channels(x: Value): number { return x.shape[1] as number; }

/** TF 'same' padding [top, left, bottom, right] for a k×k window with stride s on an h×w map. */
function samePads(x: Value, k: number, s: number): [number, number, number, number] {
  const [h, w] = [x.shape[2] as number, x.shape[3] as number];
  const total = (n: number) => Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  const [th, tw] = [total(h), total(w)];
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

function sameConv(b: Builder, x: Value, o: { out: number; k: number; stride?: number; groups?: number; bias: boolean }): Value {
  return conv2d(b, x, { ...o, pad: samePads(x, o.k, o.stride ?? 1) });
}

function stem(b: Builder, x: Value, c: number): Value {
  let y = sameConv(b.child('conv1'), x, { out: c, k: 3, stride: 2, bias: true });
  y = b.gelu(batchNorm(b.child('norm1'), y, BN_EPS), 'tanh');
  return sameConv(b.child('conv2'), y, { out: c, k: 3, bias: true });
}

/** SE: x · sigmoid(fc2(SiLU(fc1(mean_hw(x))))), fc1/fc2 1×1 convs with bias. */
function squeezeExcite(b: Builder, x: Value, rd: number): Value {
  const pooled = b.globalAvgPool(x);
  const h = b.silu(conv2d(b.child('fc1'), pooled, { out: rd, k: 1, bias: true }));
  const gate = b.sigmoid(conv2d(b.child('fc2'), h, { out: channels(x), k: 1, bias: true }));
  return b.mul(x, gate, 'se');
}

function mbConv(b: Builder, x: Value, out: number, stride: number): Value {
  const cin = channels(x);
  let shortcut = x;
  if (stride === 2) {
    const sc = b.child('shortcut');
    shortcut = avgPool2d(sc, x, { k: 2, stride: 2, pads: samePads(x, 2, 2), countIncludePad: true });
    if (cin !== out) shortcut = conv2d(sc.child('expand'), shortcut, { out, k: 1, bias: true });
  }
  const mid = makeDivisible(out * 4);
  let y = batchNorm(b.child('pre_norm'), x, BN_EPS);
  y = conv2d(b.child('conv1_1x1'), y, { out: mid, k: 1 });
  y = b.gelu(batchNorm(b.child('norm1'), y, BN_EPS), 'tanh');
  y = sameConv(b.child('conv2_kxk'), y, { out: mid, k: 3, stride, groups: mid, bias: false });
  y = b.gelu(batchNorm(b.child('norm2'), y, BN_EPS), 'tanh');
  y = squeezeExcite(b.child('se'), y, Math.floor(0.25 * out));
  y = conv2d(b.child('conv3_1x1'), y, { out, k: 1, bias: true });
  return b.add(y, shortcut, 'residual');
}

/** Constant Gather index [w², w²]: entry (i·w+j, x·w+y) = (x−i+w−1)·(2w−1) + (y−j+w−1). */
function relPosIndex(w: number): Tensor {
  const n = 2 * w - 1;
  const idx: number[] = [];
  for (let i = 0; i < w; i++) for (let j = 0; j < w; j++) {
    for (let x = 0; x < w; x++) for (let y = 0; y < w; y++) idx.push((x - i + w - 1) * n + (y - j + w - 1));
  }
  return Tensor.i64(idx, [w * w, w * w]);
}

/** RelPosBiasTf: table [heads, 2w−1, 2w−1] → [heads, (2w−1)²] → Gather(axis 1) → [heads, w², w²]. */
function relPosBias(b: Builder, heads: number, w: number): Value {
  const n = 2 * w - 1;
  const table = b.param('relative_position_bias_table', [heads, n, n], 'rel_pos_table');
  return b.op('Gather', [b.reshape(table, [heads, n * n]), b.constant('index', relPosIndex(w))], { axis: attr.int(1) }, 'bias');
}

/** AttentionCl on [S, w², C] with head_first=False qkv layout and the TF relative position bias. */
function attention(b: Builder, x: Value, w: number): Value {
  const [s, n, c] = x.shape as [Dim, number, number];
  const heads = c / HEAD_DIM;
  const qkv = linear(b.child('qkv'), x, 3 * c);
  const [q, k, v] = b.split(qkv, [c, c, c], 2).map((t) => b.reshape(t, [s, n, heads, HEAD_DIM]));
  const qh = b.mul(b.transpose(q!, [0, 2, 1, 3]), b.scalar(HEAD_DIM ** -0.5, 'scale'), 'q_scaled');
  const kt = b.transpose(k!, [0, 2, 3, 1]);
  const vh = b.transpose(v!, [0, 2, 1, 3]);
  const scores = b.add(b.matmul(qh, kt, 'scores'), relPosBias(b.child('rel_pos'), heads, w), 'biased');
  const o = b.transpose(b.matmul(b.softmax(scores, -1), vh, 'context'), [0, 2, 1, 3]);
  return linear(b.child('proj'), b.reshape(o, [s, n, c]), c);
}

/**
 * Partitions of an NHWC map [B, H, W, C] into [B·(H/p)(W/p), p², C] and back.
 * block: [B, H/p, p, W/p, p, C] → perm (0,1,3,2,4,5);  grid: [B, p, H/p, p, W/p, C] → perm (0,2,4,1,3,5).
 */
function partition(b: Builder, x: Value, p: number, kind: 'block' | 'grid'): Value {
  const [n, h, w, c] = x.shape as [Dim, number, number, number];
  const [gh, gw] = [h / p, w / p];
  const six = kind === 'block' ? b.reshape(x, [n, gh, p, gw, p, c]) : b.reshape(x, [n, p, gh, p, gw, c]);
  const t = b.transpose(six, kind === 'block' ? [0, 1, 3, 2, 4, 5] : [0, 2, 4, 1, 3, 5]);
  return b.reshape(t, [dimMul(n, gh * gw), p * p, c]);
}

function unpartition(b: Builder, x: Value, like: Value, p: number, kind: 'block' | 'grid'): Value {
  const [n, h, w, c] = like.shape as [Dim, number, number, number];
  const six = b.reshape(x, [n, h / p, w / p, p, p, c]);
  const t = b.transpose(six, kind === 'block' ? [0, 1, 3, 2, 4, 5] : [0, 3, 1, 4, 2, 5]);
  return b.reshape(t, [n, h, w, c]);
}

function partitionAttention(b: Builder, x: Value, p: number, kind: 'block' | 'grid'): Value {
  const c = x.shape[3] as number;
  const parts = partition(b.child('partition'), layerNorm(b.child('norm1'), x, LN_EPS), p, kind);
  const a = unpartition(b.child('unpartition'), attention(b.child('attn'), parts, p), x, p, kind);
  const y = b.add(x, a, 'residual1');
  const m = b.child('mlp');
  const hidden = b.gelu(linear(m.child('fc1'), layerNorm(b.child('norm2'), y, LN_EPS), 4 * c), 'tanh');
  return b.add(y, linear(m.child('fc2'), hidden, c), 'residual2');
}

function maxVitBlock(b: Builder, x: Value, out: number, stride: number, p: number): Value {
  let y = b.transpose(mbConv(b.child('conv'), x, out, stride), [0, 2, 3, 1]);
  y = partitionAttention(b.child('attn_block'), y, p, 'block');
  y = partitionAttention(b.child('attn_grid'), y, p, 'grid');
  return b.transpose(y, [0, 3, 1, 2]);
}

function buildMaxVit(cfg: MaxVitConfig, b: Builder, x: Value, size: readonly [number, number]): Value {
  const p = size[0] / PARTITION_RATIO; // window = grid size
  let y = b.feature(stem(b.child('stem'), x, cfg.stem));
  for (let s = 0; s < 4; s++) {
    for (let i = 0; i < cfg.depths[s]!; i++) {
      y = maxVitBlock(b.child('stages', s, 'blocks', i), y, cfg.dims[s]!, i === 0 ? 2 : 1, p);
    }
    b.feature(y); // stages.<s>
  }
  const h = b.child('head');
  let z = layerNorm(h.child('norm'), h.flatten(h.globalAvgPool(y), 1), LN_EPS);
  z = h.tanh(linear(h.child('pre_logits', 'fc'), z, cfg.headHidden));
  return classifier(h.child('fc'), z);
}

for (const [name, cfg] of Object.entries(VARIANTS)) {
  register({
    name,
    family: 'maxvit',
    paper: 'MaxViT: Multi-Axis Vision Transformer (Tu et al., ECCV 2022, arXiv 2204.01697)',
    source: 'timm v1.0.28 timm/models/maxxvit.py (_tf_ variants); google-research/maxvit',
    defaultSize: [224, 224],
    sizeMultiple: 32,
    // the (2w−1)² relative-position tables tie a checkpoint to one window size, w = 224/32
    fixedSizes: [[224, 224]],
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    numClasses: 1000,
    paperMacs: cfg.paperMacs,
    build: (b, x, size) => buildMaxVit(cfg, b, x, size),
  });
}
