/**
 * MaxViT — "MaxViT: Multi-Axis Vision Transformer", Tu et al., ECCV 2022 (arXiv 2204.01697).
 * Reference: timm v1.0.28 `timm/models/maxxvit.py`: the `_tf_` variants (ports of the official
 * google-research/maxvit TensorFlow weights, the paper configuration) and Ross Wightman's own
 * `_rw_` configs (`_rmlp_`: relative-position MLP, `_pm_`: parallel block and grid attention).
 *
 * Names = timm state_dict keys. Dataflow at 224×224 (T):
 *   stem: conv1 3×3 s2 → BN → act → conv2 3×3  (112²)
 *   4 stages × depth × MaxViT block (first block of a stage has stride 2): 56², 28², 14², 7²
 *   head (_tf_, rmlp_base): mean over H,W → LayerNorm → Linear → tanh → Linear
 *   head (other _rw_):      LayerNorm (per pixel) → mean over H,W → Linear
 *
 *   MaxViT block:  x = MBConv(x);  x → NHWC;  x = PartitionAttn_block(x);  x = PartitionAttn_grid(x);  → NCHW
 *   _pm_ block:    x = MBConv(MBConv(x));  x → NHWC;  y = LN(x);
 *                  x = x + concat(Attn_block(y), Attn_grid(y)) (C/2 channels each);  x = x + MLP(LN(x));  → NCHW
 *   MBConv:        shortcut = stride 2 ? expand1×1(AvgPool2×2(x)) : x
 *                  y = BN_pre(x) → 1×1 (4·C) → BN → act → dw3×3 (stride) → BN → act
 *                      → SE (mean → 1×1 → SiLU → 1×1 → sigmoid, ·) → 1×1 (C_out);  out = y + shortcut
 *   PartitionAttn: x = x + γ₁·unpartition(Attn(partition(LN(x))));  x = x + γ₂·fc2(GELU(fc1(LN(x))))
 *     block partition: w×w tiles;  grid partition: a g×g lattice with stride H/g (w = g = size/32)
 *   Attn:          softmax(q·kᵀ/√32 + B)·v, B a constant [heads, w², w²] once folded:
 *     bias_tf (_tf_): B[h, (i,j), (x,y)] = table[h, x−i+w−1, y−j+w−1]  (key − query)
 *     bias (_rw_):    B[h, (i,j), (x,y)] = table[(i−x+w−1)(2w−1) + (j−y+w−1), h]  (query − key)
 *     mlp (_rmlp_):   the same index into MLP(c) = fc2(ReLU(fc1(c))), c = sign(d)·ln(1+|d|) for
 *                     the (2w−1)² offsets d: a function of fixed coordinates, folded to a constant.
 *   TF 'same' padding: total = max((⌈n/s⌉−1)·s + k − n, 0), ⌊total/2⌋ before, the rest after
 *     (stride 2 at even n: 0 before, 1 after).  _rw_ convs pad k//2 symmetrically.
 *
 *   _tf_ vs _rw_: BN eps 1e-3 / 1e-5; LN eps 1e-5 / 1e-6; MBConv act GELU-tanh / SiLU, transformer
 *   act GELU-tanh / GELU; stem and MBConv output convs with / without bias; MBConv width 4·C_out /
 *   4·C_in; SE width C_out/4 / mid/16; qkv channels (3, heads, 32) / (heads, 3, 32).
 */
import type { Builder } from '../graph/builder.js';
import { attr, type Dim, type Value } from '../graph/ir.js';
import { dimMul } from '../graph/shapes.js';
import { Tensor } from '../graph/tensor.js';
import { avgPool2d, batchNorm, conv2d, layerNorm, linear, makeDivisible, classifier } from './layers.js';
import { register } from './registry.js';
import { defaultPretrainedCfg } from './pretrained.js';

const HEAD_DIM = 32;
const PARTITION_RATIO = 32;
const REL_POS_MLP_HIDDEN = 512;

type Pair = readonly [number, number];

/** What differs between the TensorFlow ports (`_tf_`) and timm's own configs (`_rw_`). */
interface Style {
  bnEps: number;
  lnEps: number;
  /** TF 'same' padding (else symmetric k//2). */
  same: boolean;
  convAct: 'gelu_tanh' | 'silu';
  mlpAct: 'tanh' | 'none';
  /** Bias on the stem convs, the shortcut expand and the MBConv output conv. */
  convBias: boolean;
  /** MBConv expansion from the output width (else the input width) and SE width = ratio·(out | mid). */
  expandFromOut: boolean;
  seRatio: number;
  /** qkv channel layout (heads, 3, 32) instead of (3, heads, 32). */
  headFirst: boolean;
}

const TF: Style = { bnEps: 1e-3, lnEps: 1e-5, same: true, convAct: 'gelu_tanh', mlpAct: 'tanh', convBias: true, expandFromOut: true, seRatio: 0.25, headFirst: false };
const RW: Style = { bnEps: 1e-5, lnEps: 1e-6, same: false, convAct: 'silu', mlpAct: 'none', convBias: false, expandFromOut: false, seRatio: 1 / 16, headFirst: true };

type RelPos = 'bias_tf' | 'bias' | 'mlp';

interface MaxVitConfig {
  style: Style;
  stem: Pair;
  dims: readonly [number, number, number, number];
  depths: readonly [number, number, number, number];
  block: 'M' | 'PM';
  relPos: RelPos;
  /** NormMlpClassifierHead width (else LayerNorm → pool → Linear). */
  headHidden: number | null;
  /** Transformer LayerScale (ls1 / ls2 gammas). */
  layerScale: boolean;
  paperMacs?: number;
}

const tf = (stem: number, dims: MaxVitConfig['dims'], depths: MaxVitConfig['depths'], paperMacs?: number): MaxVitConfig =>
  ({ style: TF, stem: [stem, stem], dims, depths, block: 'M', relPos: 'bias_tf', headHidden: dims[3], layerScale: false, paperMacs });
const rw = (stem: Pair, dims: MaxVitConfig['dims'], depths: MaxVitConfig['depths'], o: Partial<MaxVitConfig> = {}): MaxVitConfig =>
  ({ style: RW, stem, dims, depths, block: 'M', relPos: 'bias', headHidden: null, layerScale: false, ...o });

const D_T = [64, 128, 256, 512] as const, D_S = [96, 192, 384, 768] as const;
const D_L = [128, 256, 512, 1024] as const, D_XL = [192, 384, 768, 1536] as const, D_P = [32, 64, 128, 256] as const;
const N_T = [2, 2, 5, 2] as const, N_B = [2, 6, 14, 2] as const, N_N = [1, 2, 3, 1] as const;

// timm model_cfgs: maxvit_{tiny,small,base,large,xlarge}_tf (paper Table 1), maxvit_*_rw, maxvit_rmlp_*_rw, maxvit_tiny_pm
const ARCHS: Record<string, MaxVitConfig> = {
  maxvit_tiny_tf: tf(64, D_T, N_T, 5.6e9),
  maxvit_small_tf: tf(64, D_S, N_T, 11.7e9),
  maxvit_base_tf: tf(64, D_S, N_B, 24.2e9),
  maxvit_large_tf: tf(128, D_L, N_B, 43.9e9),
  maxvit_xlarge_tf: tf(192, D_XL, N_B),
  maxvit_pico_rw: rw([24, 32], D_P, N_T),
  maxvit_nano_rw: rw([32, 64], D_T, N_N),
  maxvit_tiny_rw: rw([32, 64], D_T, N_T),
  maxvit_tiny_pm: rw([32, 64], D_T, N_T, { block: 'PM' }),
  maxvit_rmlp_pico_rw: rw([24, 32], D_P, N_T, { relPos: 'mlp' }),
  maxvit_rmlp_nano_rw: rw([32, 64], D_T, N_N, { relPos: 'mlp' }),
  maxvit_rmlp_tiny_rw: rw([32, 64], D_T, N_T, { relPos: 'mlp' }),
  maxvit_rmlp_small_rw: rw([32, 64], D_S, N_T, { relPos: 'mlp', layerScale: true }),
  maxvit_rmlp_base_rw: rw([32, 64], D_S, N_B, { relPos: 'mlp', headHidden: 768 }),
};

/** Registered names: `<arch>_<default size>` (timm's). */
const VARIANTS: [string, number][] = [
  ...['tiny', 'small', 'base', 'large', 'xlarge'].flatMap((s) => [224, 384, 512].map((r): [string, number] => [`maxvit_${s}_tf`, r])),
  ['maxvit_pico_rw', 256], ['maxvit_nano_rw', 256], ['maxvit_tiny_rw', 224], ['maxvit_tiny_rw', 256], ['maxvit_tiny_pm', 256],
  ['maxvit_rmlp_pico_rw', 256], ['maxvit_rmlp_nano_rw', 256], ['maxvit_rmlp_tiny_rw', 256],
  ['maxvit_rmlp_small_rw', 224], ['maxvit_rmlp_small_rw', 256], ['maxvit_rmlp_base_rw', 224], ['maxvit_rmlp_base_rw', 384],
];

function channels(x: Value): number { return x.shape[1] as number; }

function act(b: Builder, x: Value, kind: Style['convAct']): Value {
  return kind === 'silu' ? b.silu(x) : b.gelu(x, 'tanh');
}

/** TF 'same' padding [top, left, bottom, right] for a k×k window with stride s on an h×w map. */
function samePads(x: Value, k: number, s: number): [number, number, number, number] {
  const [h, w] = [x.shape[2] as number, x.shape[3] as number];
  const total = (n: number) => Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  const [th, tw] = [total(h), total(w)];
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

/** A k×k conv with the style's padding: TF 'same', or timm's symmetric ((s−1) + (k−1))//2. */
function styledConv(st: Style, b: Builder, x: Value, o: { out: number; k: number; stride?: number; groups?: number; bias: boolean }): Value {
  const s = o.stride ?? 1;
  return conv2d(b, x, { ...o, pad: st.same ? samePads(x, o.k, s) : Math.floor((s - 1 + o.k - 1) / 2) });
}

function stem(st: Style, b: Builder, x: Value, c: Pair): Value {
  let y = styledConv(st, b.child('conv1'), x, { out: c[0], k: 3, stride: 2, bias: st.convBias });
  y = act(b, batchNorm(b.child('norm1'), y, st.bnEps), st.convAct);
  return styledConv(st, b.child('conv2'), y, { out: c[1], k: 3, bias: st.convBias });
}

/** SE: x · sigmoid(fc2(SiLU(fc1(mean_hw(x))))), fc1/fc2 1×1 convs with bias. */
function squeezeExcite(b: Builder, x: Value, rd: number): Value {
  const pooled = b.globalAvgPool(x);
  const h = b.silu(conv2d(b.child('fc1'), pooled, { out: rd, k: 1, bias: true }));
  const gate = b.sigmoid(conv2d(b.child('fc2'), h, { out: channels(x), k: 1, bias: true }));
  return b.mul(x, gate, 'se');
}

function mbConv(st: Style, b: Builder, x: Value, out: number, stride: number): Value {
  const cin = channels(x);
  let shortcut = x;
  if (stride === 2) {
    const sc = b.child('shortcut');
    shortcut = avgPool2d(sc, x, { k: 2, stride: 2, pads: st.same ? samePads(x, 2, 2) : [0, 0, 0, 0], countIncludePad: true });
    if (cin !== out) shortcut = conv2d(sc.child('expand'), shortcut, { out, k: 1, bias: st.convBias });
  }
  const mid = makeDivisible((st.expandFromOut ? out : cin) * 4);
  let y = batchNorm(b.child('pre_norm'), x, st.bnEps);
  y = conv2d(b.child('conv1_1x1'), y, { out: mid, k: 1 });
  y = act(b, batchNorm(b.child('norm1'), y, st.bnEps), st.convAct);
  y = styledConv(st, b.child('conv2_kxk'), y, { out: mid, k: 3, stride, groups: mid, bias: false });
  y = act(b, batchNorm(b.child('norm2'), y, st.bnEps), st.convAct);
  y = squeezeExcite(b.child('se'), y, Math.floor(st.seRatio * (st.expandFromOut ? out : mid)));
  y = conv2d(b.child('conv3_1x1'), y, { out, k: 1, bias: st.convBias });
  return b.add(y, shortcut, 'residual');
}

/**
 * Constant Gather index [wh·ww, wh·ww] into a flattened (2wh−1)×(2ww−1) offset table: entry
 * (query (i,j), key (x,y)) = (dy + wh−1)·(2ww−1) + (dx + ww−1) with (dy, dx) = key − query
 * (RelPosBiasTf) or query − key (timm's gen_relative_position_index).
 */
function relPosIndex(w: Pair, order: 'key-query' | 'query-key'): Tensor {
  const id = `${w[0]}x${w[1]}:${order}`;
  let t = INDEX_CACHE.get(id);
  if (!t) INDEX_CACHE.set(id, t = buildRelPosIndex(w, order));
  return t;
}

/** Tensors are immutable by convention, so every attention of a window size shares one index. */
const INDEX_CACHE = new Map<string, Tensor>();

function buildRelPosIndex(w: Pair, order: 'key-query' | 'query-key'): Tensor {
  const [wh, ww] = w;
  const s = order === 'key-query' ? 1 : -1;
  const idx: number[] = [];
  for (let i = 0; i < wh; i++) for (let j = 0; j < ww; j++) {
    for (let x = 0; x < wh; x++) for (let y = 0; y < ww; y++) idx.push((s * (x - i) + wh - 1) * (2 * ww - 1) + (s * (y - j) + ww - 1));
  }
  return Tensor.i64(idx, [wh * ww, wh * ww]);
}

/** RelPosBiasTf: table [heads, 2wh−1, 2ww−1] → [heads, (2wh−1)(2ww−1)] → Gather(axis 1) → [heads, N, N]. */
function relPosBiasTf(b: Builder, heads: number, w: Pair): Value {
  const [n, m] = [2 * w[0] - 1, 2 * w[1] - 1];
  const table = b.param('relative_position_bias_table', [heads, n, m], 'rel_pos_table');
  return b.op('Gather', [b.reshape(table, [heads, n * m]), b.constant('index', relPosIndex(w, 'key-query'))], { axis: attr.int(1) }, 'bias');
}

/** Per-offset values [(2wh−1)(2ww−1), heads] → Gather(axis 0) → [N, N, heads] → [heads, N, N]. */
function gatherOffsets(b: Builder, perOffset: Value, w: Pair): Value {
  const g = b.op('Gather', [perOffset, b.constant('index', relPosIndex(w, 'query-key'))], { axis: attr.int(0) }, 'bias');
  return b.transpose(g, [2, 0, 1]);
}

/** RelPosBias: table [(2wh−1)(2ww−1), heads]. */
function relPosBias(b: Builder, heads: number, w: Pair): Value {
  const table = b.param('relative_position_bias_table', [(2 * w[0] - 1) * (2 * w[1] - 1), heads], 'rel_pos_table');
  return gatherOffsets(b, table, w);
}

/** RelPosMlp ('cr' mode): log-spaced offsets sign(d)·ln(1+|d|), rows (dy, dx) in raster order, float32. */
function relLogCoords(w: Pair): Tensor {
  const v: number[] = [];
  const f = (d: number) => Math.fround(Math.sign(d) * Math.fround(Math.log(1 + Math.abs(d))));
  for (let dy = -(w[0] - 1); dy < w[0]; dy++) for (let dx = -(w[1] - 1); dx < w[1]; dx++) v.push(f(dy), f(dx));
  return new Tensor('float32', [v.length / 2, 2], Float32Array.from(v));
}

/** x·Wᵀ + b on a constant 2-D operand, as MatMul + Add (the kernels constant folding evaluates). */
function constLinear(b: Builder, x: Value, out: number): Value {
  const w = b.param('weight', [out, x.shape[1] as number], 'affine_weight');
  const bias = b.param('bias', [out], 'affine_bias');
  return b.add(b.matmul(x, b.transpose(w, [1, 0]), 'MatMul'), bias, 'bias');
}

/** RelPosMlp: fc2(ReLU(fc1(coords))) [(2wh−1)(2ww−1), heads], gathered like RelPosBias. */
function relPosMlp(b: Builder, heads: number, w: Pair): Value {
  const m = b.child('mlp');
  const h = b.relu(constLinear(m.child('fc1'), b.constant('rel_coords_log', relLogCoords(w)), REL_POS_MLP_HIDDEN));
  return gatherOffsets(b, constLinear(m.child('fc2'), h, heads), w);
}

/** AttentionCl on [S, N, C] → [S, N, out] with a relative position bias for a wh×ww window. */
function attention(b: Builder, x: Value, w: Pair, o: { headFirst: boolean; relPos: RelPos; out: number }): Value {
  const [s, n, c] = x.shape as [Dim, number, number];
  const heads = c / HEAD_DIM;
  const qkv = linear(b.child('qkv'), x, 3 * c);
  const parts = o.headFirst
    ? b.split(b.reshape(qkv, [s, n, heads, 3 * HEAD_DIM]), [HEAD_DIM, HEAD_DIM, HEAD_DIM], 3)
    : b.split(qkv, [c, c, c], 2).map((t) => b.reshape(t, [s, n, heads, HEAD_DIM]));
  const [q, k, v] = parts;
  const rp = b.child('rel_pos');
  const relPos = () => (o.relPos === 'bias_tf' ? relPosBiasTf(rp, heads, w) : o.relPos === 'bias' ? relPosBias(rp, heads, w) : relPosMlp(rp, heads, w));
  const qh = b.mul(b.transpose(q!, [0, 2, 1, 3]), b.scalar(HEAD_DIM ** -0.5, 'scale'), 'q_scaled');
  const kt = b.transpose(k!, [0, 2, 3, 1]);
  const vh = b.transpose(v!, [0, 2, 1, 3]);
  const scores = b.add(b.matmul(qh, kt, 'scores'), relPos(), 'biased');
  const ctx = b.transpose(b.matmul(b.softmax(scores, -1), vh, 'context'), [0, 2, 1, 3]);
  return linear(b.child('proj'), b.reshape(ctx, [s, n, c]), o.out);
}

/**
 * Partitions of an NHWC map [B, H, W, C] into [B·(H/ph)(W/pw), ph·pw, C] and back.
 * block: [B, H/ph, ph, W/pw, pw, C] → perm (0,1,3,2,4,5);  grid: [B, ph, H/ph, pw, W/pw, C] → perm (0,2,4,1,3,5).
 */
function partition(b: Builder, x: Value, p: Pair, kind: 'block' | 'grid'): Value {
  const [n, h, w, c] = x.shape as [Dim, number, number, number];
  const [gh, gw] = [h / p[0], w / p[1]];
  const six = kind === 'block' ? b.reshape(x, [n, gh, p[0], gw, p[1], c]) : b.reshape(x, [n, p[0], gh, p[1], gw, c]);
  const t = b.transpose(six, kind === 'block' ? [0, 1, 3, 2, 4, 5] : [0, 2, 4, 1, 3, 5]);
  return b.reshape(t, [dimMul(n, gh * gw), p[0] * p[1], c]);
}

function unpartition(b: Builder, x: Value, like: Value, p: Pair, kind: 'block' | 'grid'): Value {
  const [n, h, w] = like.shape as [Dim, number, number, number];
  const c = x.shape[2] as number;
  const six = b.reshape(x, [n, h / p[0], w / p[1], p[0], p[1], c]);
  const t = b.transpose(six, kind === 'block' ? [0, 1, 3, 2, 4, 5] : [0, 3, 1, 4, 2, 5]);
  return b.reshape(t, [n, h, w, c]);
}

function scaled(b: Builder, x: Value, on: boolean, name: string): Value {
  return on ? b.mul(x, b.child(name).param('gamma', [x.shape[x.shape.length - 1] as number], 'layer_scale'), name) : x;
}

/** x + γ₂·MLP(LN(x)) with params norm2, mlp.fc1, mlp.fc2 (and ls2). */
function mlpResidual(cfg: MaxVitConfig, b: Builder, y: Value): Value {
  const c = y.shape[3] as number;
  const m = b.child('mlp');
  const h = linear(m.child('fc1'), layerNorm(b.child('norm2'), y, cfg.style.lnEps), 4 * c);
  const hidden = cfg.style.mlpAct === 'tanh' ? b.gelu(h, 'tanh') : b.gelu(h);
  return b.add(y, scaled(b, linear(m.child('fc2'), hidden, c), cfg.layerScale, 'ls2'), 'residual2');
}

function partitionAttention(cfg: MaxVitConfig, b: Builder, x: Value, p: Pair, kind: 'block' | 'grid'): Value {
  const c = x.shape[3] as number;
  const o = { headFirst: cfg.style.headFirst, relPos: cfg.relPos, out: c };
  const parts = partition(b.child('partition'), layerNorm(b.child('norm1'), x, cfg.style.lnEps), p, kind);
  const a = unpartition(b.child('unpartition'), attention(b.child('attn'), parts, p, o), x, p, kind);
  return mlpResidual(cfg, b, b.add(x, scaled(b, a, cfg.layerScale, 'ls1'), 'residual1'));
}

/** ParallelPartitionAttention: block and grid attention (C/2 outputs each) on one LN, concatenated. */
function parallelPartitionAttention(cfg: MaxVitConfig, b: Builder, x: Value, p: Pair): Value {
  const c = x.shape[3] as number;
  const o = { headFirst: cfg.style.headFirst, relPos: cfg.relPos, out: c / 2 };
  const xn = layerNorm(b.child('norm1'), x, cfg.style.lnEps);
  const halves = (['block', 'grid'] as const).map((kind) => {
    const parts = partition(b.child(`partition_${kind}`), xn, p, kind);
    return unpartition(b.child(`unpartition_${kind}`), attention(b.child(`attn_${kind}`), parts, p, o), x, p, kind);
  });
  const y = b.add(x, scaled(b, b.concat(halves, 3), cfg.layerScale, 'ls1'), 'residual1');
  return mlpResidual(cfg, b, y);
}

function maxVitBlock(cfg: MaxVitConfig, b: Builder, x: Value, out: number, stride: number, p: Pair): Value {
  if (cfg.block === 'PM') {
    const c = b.child('conv');
    const y = mbConv(cfg.style, c.child(1), mbConv(cfg.style, c.child(0), x, out, stride), out, 1);
    return b.transpose(parallelPartitionAttention(cfg, b.child('attn'), b.transpose(y, [0, 2, 3, 1]), p), [0, 3, 1, 2]);
  }
  let y = b.transpose(mbConv(cfg.style, b.child('conv'), x, out, stride), [0, 2, 3, 1]);
  y = partitionAttention(cfg, b.child('attn_block'), y, p, 'block');
  y = partitionAttention(cfg, b.child('attn_grid'), y, p, 'grid');
  return b.transpose(y, [0, 3, 1, 2]);
}

function head(cfg: MaxVitConfig, b: Builder, y: Value): Value {
  const h = b.child('head');
  const eps = cfg.style.lnEps;
  if (cfg.headHidden === null) {
    // model.norm (LayerNorm2d over channels at every pixel) → ClassifierHead: mean over H, W → fc
    const pooled = b.reduceMean(layerNorm(b.child('norm'), b.transpose(y, [0, 2, 3, 1]), eps), [1, 2], false);
    return classifier(h.child('fc'), pooled);
  }
  // NormMlpClassifierHead: mean → LayerNorm → pre_logits.fc → tanh → fc
  let z = layerNorm(h.child('norm'), h.flatten(h.globalAvgPool(y), 1), eps);
  z = h.tanh(linear(h.child('pre_logits', 'fc'), z, cfg.headHidden));
  return classifier(h.child('fc'), z);
}

/** Window = grid = size/32 per side (timm's cfg_window_size). */
export function maxvitWindow(size: Pair): Pair {
  return [Math.floor(size[0] / PARTITION_RATIO), Math.floor(size[1] / PARTITION_RATIO)];
}

function buildMaxVit(cfg: MaxVitConfig, b: Builder, x: Value, size: Pair): Value {
  const p = maxvitWindow(size);
  let y = b.feature(stem(cfg.style, b.child('stem'), x, cfg.stem));
  for (let s = 0; s < 4; s++) {
    for (let i = 0; i < cfg.depths[s]!; i++) {
      y = maxVitBlock(cfg, b.child('stages', s, 'blocks', i), y, cfg.dims[s]!, i === 0 ? 2 : 1, p);
    }
    b.feature(y);
  }
  return head(cfg, b, y);
}

/** timm's preprocessing for a variant: its default pretrained tag's, else maxxvit's _cfg (0.5, 0.5). */
function preprocessing(name: string): { mean: [number, number, number]; std: [number, number, number] } {
  const tag = defaultPretrainedCfg(name);
  return tag ? { mean: tag.mean, std: tag.std } : { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
}

for (const [arch, res] of VARIANTS) {
  const cfg = ARCHS[arch]!;
  const name = `${arch}_${res}`;
  register({
    name,
    family: 'maxvit',
    paper: 'MaxViT: Multi-Axis Vision Transformer (Tu et al., ECCV 2022, arXiv 2204.01697)',
    source: `timm v1.0.28 timm/models/maxxvit.py (${cfg.style === TF ? 'TF ports; google-research/maxvit' : "timm's own configs"})`,
    defaultSize: [res, res],
    // any size whose stage maps tile into the size/32 windows; another size's checkpoint loads with
    // its relative-position tables resampled (weights/resample.ts)
    sizeMultiple: PARTITION_RATIO,
    ...preprocessing(name),
    numClasses: 1000,
    paperMacs: res === 224 ? cfg.paperMacs : undefined,
    relPosWindow: maxvitWindow,
    build: (b, x, size) => buildMaxVit(cfg, b, x, size),
  });
}
