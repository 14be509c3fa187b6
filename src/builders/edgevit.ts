/**
 * EdgeViT — "EdgeViTs: Competing Light-weight CNNs on Mobile Devices with Vision Transformers",
 * Pan et al., ECCV 2022 (arXiv 2205.03436). Reference: the official saic-fi/edgevit `src/edgevit.py`
 * (commit df3d070; not in timm, no released weights). Names = the official state_dict keys
 * (capital `LocalAgg` / `SelfAttn` / `LocalProp`, 1-based `patch_embed1..4` and `blocks1..4`).
 *
 * Dataflow at 224×224 (XXS): [patch_embedK → blocksK] for K = 1..4 (56², 28², 14², 7²) → BN → mean → head
 *
 *   PatchEmbed:  conv p×p stride p (bias) → LayerNorm over C (eps 1e-5)
 *   LGL block:   LocalAgg (only when sr > 1) → SelfAttn
 *   LocalAgg:    x += dw3×3(x);  x += conv2(dw5×5(conv1(BN1(x))));  x += fc2(GELU(fc1(BN2(x))))   (1×1 convs)
 *   SelfAttn:    x += dw3×3(x);  t = tokens(x);  t += GSA(LN1(t));  t += fc2(GELU(fc1(LN2(t))))   (LN eps 1e-6)
 *   GSA (sr):    sample = AvgPool(kernel 1, stride sr) = keep pixel (sr·i, sr·j): a strided Slice, exact;
 *                softmax(q·kᵀ/√head_dim)·v over the sampled tokens;
 *                LocalProp = depthwise ConvTranspose (kernel sr, stride sr) back to H×W → LN (eps 1e-5); proj
 *   Head:        BN(C₄) → mean over H·W → Linear (`head`)
 *
 * The state_dict declares some modules before the ones that run first (each PatchEmbed's norm before
 * its proj, all four patch embeds before the blocks, LocalAgg.conv2 before .attn, GSA.proj before
 * .LocalProp); those parameters are created up front so the graph's initializers follow the checkpoint.
 */
import type { Builder } from '../graph/builder.js';
import { attr, type Value } from '../graph/ir.js';
import { batchNorm, conv2d, convTranspose2d, fromTokens, layerNorm, linear, toTokens, classifier } from './layers.js';
import { IMAGENET_MEAN, IMAGENET_STD, register } from './registry.js';

const SR_RATIOS = [4, 2, 2, 1] as const;
const PATCH_SIZES = [4, 2, 2, 2] as const;
const MLP_RATIO = 4;
const BN_EPS = 1e-5;
const LN_EPS = 1e-5; // patch embeds and the attention's post-LocalProp norm (nn.LayerNorm default)
const BLOCK_LN_EPS = 1e-6; // SelfAttn norm1 / norm2

interface EdgeVitConfig {
  depths: readonly [number, number, number, number];
  dims: readonly [number, number, number, number];
  headDim: number;
  paperMacs: number;
  /** Trainable parameters with the 1000-class head (the official code's count). */
  params: number;
}

// Paper Table 1 / official edgevit_xxs|xs|s
const VARIANTS: Record<string, EdgeVitConfig> = {
  edgevit_xxs: { depths: [1, 1, 3, 2], dims: [36, 72, 144, 288], headDim: 36, paperMacs: 0.6e9, params: 4_067_704 },
  edgevit_xs: { depths: [1, 1, 3, 1], dims: [48, 96, 240, 384], headDim: 48, paperMacs: 1.1e9, params: 6_770_056 },
  edgevit_s: { depths: [1, 2, 5, 3], dims: [48, 96, 240, 384], headDim: 48, paperMacs: 1.9e9, params: 13_108_168 },
};

function channels(x: Value): number { return x.shape[1] as number; }

// ---- parameters declared ahead of their use (checkpoint order ≠ dataflow order)

interface Affine { weight: Value; bias: Value }

function declare(b: Builder, shape: readonly number[], kind: 'affine' | 'norm'): Affine {
  return {
    weight: b.param('weight', shape, kind === 'affine' ? 'affine_weight' : 'norm_weight'),
    bias: b.param('bias', [shape[0]!], kind === 'affine' ? 'affine_bias' : 'norm_bias'),
  };
}

function applyConv(b: Builder, x: Value, p: Affine, stride: number): Value {
  const [, , kh, kw] = p.weight.shape as number[];
  return b.op('Conv', [x, p.weight, p.bias], {
    kernel_shape: attr.ints([kh!, kw!]), strides: attr.ints([stride, stride]), pads: attr.ints([0, 0, 0, 0]),
    dilations: attr.ints([1, 1]), group: attr.int(1),
  }, '');
}

/** Linear on [..., C] tokens with declared W [out, in]: x·Wᵀ + b. */
function applyLinear(b: Builder, x: Value, p: Affine): Value {
  return b.add(b.matmul(x, b.transpose(p.weight, [1, 0]), 'MatMul'), p.bias, 'bias');
}

function applyLayerNorm(b: Builder, x: Value, p: Affine, eps: number): Value {
  return b.op('LayerNormalization', [x, p.weight, p.bias], { axis: attr.int(-1), epsilon: attr.float(eps), stash_type: attr.int(1) }, '');
}

// ---- blocks

interface PatchEmbedParams { norm: Affine; proj: Affine }

function declarePatchEmbed(b: Builder, cin: number, out: number, p: number): PatchEmbedParams {
  const norm = declare(b.child('norm'), [out], 'norm');
  return { norm, proj: declare(b.child('proj'), [out, cin, p, p], 'affine') };
}

/** Conv p×p stride p → tokens → LayerNorm (eps 1e-5) → NCHW. */
function patchEmbed(b: Builder, x: Value, pe: PatchEmbedParams): Value {
  const y = applyConv(b.child('proj'), x, pe.proj, pe.proj.weight.shape[2] as number);
  const [, , h, w] = y.shape as number[];
  const t = applyLayerNorm(b.child('norm'), toTokens(b, y), pe.norm, LN_EPS);
  return fromTokens(b, t, h!, w!);
}

/** x + dwconv3×3(x) with bias (`pos_embed`). */
function posEmbed(b: Builder, x: Value): Value {
  const c = channels(x);
  return b.add(x, conv2d(b.child('pos_embed'), x, { out: c, k: 3, groups: c, bias: true }), 'pos_embed_residual');
}

function localAgg(b: Builder, x: Value): Value {
  const c = channels(x);
  let y = posEmbed(b, x);
  let a = conv2d(b.child('conv1'), batchNorm(b.child('norm1'), y, BN_EPS), { out: c, k: 1, bias: true });
  const conv2 = declare(b.child('conv2'), [c, c, 1, 1], 'affine');
  a = conv2d(b.child('attn'), a, { out: c, k: 5, groups: c, bias: true });
  y = b.add(y, applyConv(b.child('conv2'), a, conv2, 1), 'attn_residual');
  const m = b.child('mlp');
  const hidden = b.gelu(conv2d(m.child('fc1'), batchNorm(b.child('norm2'), y, BN_EPS), { out: MLP_RATIO * c, k: 1, bias: true }), 'none');
  return b.add(y, conv2d(m.child('fc2'), hidden, { out: c, k: 1, bias: true }), 'mlp_residual');
}

/** GlobalSparseAttn on raster tokens [B, H·W, C] of an h×w map. */
function globalSparseAttn(b: Builder, t: Value, h: number, w: number, heads: number, sr: number): Value {
  const [n, , c] = t.shape as [number | string, number, number];
  const hd = c / heads;
  let s = t;
  if (sr > 1) { // AvgPool2d(kernel 1, stride sr): keeps every sr-th row and column
    const grid = b.slice(b.reshape(t, [n, h, w, c]), [0, 0], [h, w], [1, 2], [sr, sr]);
    s = b.reshape(grid, [n, (h / sr) * (w / sr), c]);
  }
  const m = s.shape[1] as number;
  const qkv = linear(b.child('qkv'), s, 3 * c);
  const proj = declare(b.child('proj'), [c, c], 'affine');
  const [q, k, v] = b.split(qkv, [c, c, c], 2).map((x) => b.reshape(x, [n, m, heads, hd]));
  const qh = b.transpose(q!, [0, 2, 1, 3]);
  const kt = b.transpose(k!, [0, 2, 3, 1]);
  const vh = b.transpose(v!, [0, 2, 1, 3]);
  const scores = b.mul(b.matmul(qh, kt, 'scores'), b.scalar(hd ** -0.5, 'scale'), 'scaled');
  let o = b.reshape(b.transpose(b.matmul(b.softmax(scores, -1), vh, 'context'), [0, 2, 1, 3]), [n, m, c]);
  if (sr > 1) { // LocalProp: depthwise transposed conv back to h×w, then LayerNorm
    const up = convTranspose2d(b.child('LocalProp'), fromTokens(b, o, h / sr, w / sr), { out: c, k: sr, stride: sr, groups: c, bias: true });
    o = layerNorm(b.child('norm'), toTokens(b, up), LN_EPS);
  }
  return applyLinear(b.child('proj'), o, proj);
}

function selfAttn(b: Builder, x: Value, heads: number, sr: number): Value {
  const [, c, h, w] = x.shape as [number | string, number, number, number];
  let t = toTokens(b, posEmbed(b, x));
  t = b.add(t, globalSparseAttn(b.child('attn'), layerNorm(b.child('norm1'), t, BLOCK_LN_EPS), h, w, heads, sr), 'attn_residual');
  const m = b.child('mlp');
  const hidden = b.gelu(linear(m.child('fc1'), layerNorm(b.child('norm2'), t, BLOCK_LN_EPS), MLP_RATIO * c), 'none');
  t = b.add(t, linear(m.child('fc2'), hidden, c), 'mlp_residual');
  return fromTokens(b, t, h, w);
}

function buildEdgeVit(cfg: EdgeVitConfig, b: Builder, x: Value): Value {
  const ins = [3, ...cfg.dims.slice(0, 3)];
  const embeds = cfg.dims.map((d, i) => declarePatchEmbed(b.child(`patch_embed${i + 1}`), ins[i]!, d, PATCH_SIZES[i]!));
  let y = x;
  for (let s = 0; s < 4; s++) {
    y = patchEmbed(b.child(`patch_embed${s + 1}`), y, embeds[s]!);
    const heads = cfg.dims[s]! / cfg.headDim, sr = SR_RATIOS[s]!;
    for (let i = 0; i < cfg.depths[s]!; i++) {
      const bb = b.child(`blocks${s + 1}`, i);
      if (sr > 1) y = localAgg(bb.child('LocalAgg'), y);
      y = selfAttn(bb.child('SelfAttn'), y, heads, sr);
    }
    b.feature(y); // blocks<s+1>: not in timm, so these four taps (reductions 4, 8, 16, 32) are vitx's choice
  }
  y = batchNorm(b.child('norm'), y, BN_EPS);
  return classifier(b.child('head'), b.flatten(b.globalAvgPool(y), 1));
}

for (const [name, cfg] of Object.entries(VARIANTS)) {
  register({
    name,
    family: 'edgevit',
    paper: 'EdgeViTs: Competing Light-weight CNNs on Mobile Devices with Vision Transformers (Pan et al., ECCV 2022, arXiv 2205.03436)',
    source: 'saic-fi/edgevit src/edgevit.py (official; not in timm)',
    defaultSize: [224, 224],
    sizeMultiple: 32,
    // the official PatchEmbed asserts 224×224
    fixedSizes: [[224, 224]],
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    numClasses: 1000,
    paperMacs: cfg.paperMacs,
    params: cfg.params,
    featureModules: ['blocks1', 'blocks2', 'blocks3', 'blocks4'],
    build: (b, x) => buildEdgeVit(cfg, b, x),
  });
}
