/**
 * MobileOne — "MobileOne: An Improved One millisecond Mobile Backbone", Vasu et al., CVPR 2023
 * (arXiv 2206.04040). Reference: timm v1.0.28 `timm/models/byobnet.py` (ByobNet, block type 'one',
 * `mobileone_s0..s4`); official code apple/ml-mobileone.
 *
 * Built in train-time form: every MobileOneBlock keeps its parallel branches, so a timm train-time
 * checkpoint loads by key. The reparameterization passes (src/passes) collapse each block into one
 * conv. `mobileOneBlock` is shared with FastViT.
 *
 *   MobileOneBlock(x) = act(se(scale(x) + identity(x) + Σᵢ conv_kxkᵢ(x)))
 *     conv_kxkᵢ = BN(Conv_k×k(x))   (no bias, pad ((s−1)+(k−1))//2)
 *     scale     = BN(Conv_1×1(x))   (same stride and groups; only when k > 1)
 *     identity  = BN(x)             (only when in == out and stride 1)
 */
import type { Builder } from '../graph/builder.js';
import { attr, type Value } from '../graph/ir.js';
import { batchNorm, conv2d, linear, makeDivisible, classifier } from './layers.js';
import { IMAGENET_MEAN, IMAGENET_STD, register } from './registry.js';

const BN_EPS = 1e-5;

export interface MobileOneBlockOptions {
  out: number;
  k: number;
  stride?: number;
  groups?: number;
  act: 'gelu' | 'relu' | 'none';
  /** Add the 1×1 `conv_scale` branch when k > 1 (default true). */
  useScale?: boolean;
  numConvBranches: number;
  /** Add the BN `identity` branch (default: when in == out and stride 1, as timm does). */
  identity?: boolean;
  /**
   * Squeeze-excite after the branch sum: module name (`se` in FastViT, `attn` in ByobNet), width, and
   * whether its parameters come before the branches in the state_dict (`first`: FastViT).
   */
  se?: { name: string; rd: number; first?: boolean } | null;
}

function channels(x: Value): number { return x.shape[1] as number; }

/** timm's ConvNormAct with apply_act=False: Conv (no bias) → BN, params `<scope>.conv.*`, `<scope>.bn.*`. */
export function convBn(b: Builder, x: Value, o: { out: number; k: number; stride?: number; groups?: number }): Value {
  const s = o.stride ?? 1;
  const p = Math.floor((s - 1 + (o.k - 1)) / 2);
  const y = conv2d(b.child('conv'), x, { out: o.out, k: o.k, stride: s, pad: p, groups: o.groups, bias: false });
  return batchNorm(b.child('bn'), y, BN_EPS);
}

interface SeParams { fc1w: Value; fc1b: Value; fc2w: Value; fc2b: Value }

export function seParams(b: Builder, c: number, rd: number): SeParams {
  return {
    fc1w: b.param('fc1.weight', [rd, c, 1, 1], 'affine_weight'),
    fc1b: b.param('fc1.bias', [rd], 'affine_bias'),
    fc2w: b.param('fc2.weight', [c, rd, 1, 1], 'affine_weight'),
    fc2b: b.param('fc2.bias', [c], 'affine_bias'),
  };
}

function conv1x1(b: Builder, x: Value, w: Value, bias: Value, name: string): Value {
  return b.op('Conv', [x, w, bias], {
    kernel_shape: attr.ints([1, 1]), strides: attr.ints([1, 1]), pads: attr.ints([0, 0, 0, 0]),
    dilations: attr.ints([1, 1]), group: attr.int(1),
  }, name);
}

/** Squeeze-excite (timm SEModule): x · sigmoid(fc2(relu(fc1(mean_hw(x))))). */
export function squeezeExcite(b: Builder, x: Value, p: SeParams): Value {
  const pooled = b.globalAvgPool(x);
  const h = b.relu(conv1x1(b, pooled, p.fc1w, p.fc1b, 'fc1'));
  const gate = b.sigmoid(conv1x1(b, h, p.fc2w, p.fc2b, 'fc2'));
  return b.mul(x, gate, 'se');
}

/**
 * The same block in fused (inference) form, as timm's `reparameterize()` leaves it: one conv
 * `<scope>.reparam_conv` with bias, then SE, then act. (PyTorch registers `reparam_conv` last, so
 * the SE parameters come first in the state_dict.)
 */
export function mobileOneBlockFused(b: Builder, x: Value, o: MobileOneBlockOptions): Value {
  const stride = o.stride ?? 1;
  const sep = o.se ? seParams(b.child(o.se.name), o.out, o.se.rd) : null;
  const pad = Math.floor((stride - 1 + (o.k - 1)) / 2);
  let out = conv2d(b.child('reparam_conv'), x, { out: o.out, k: o.k, stride, pad, groups: o.groups, bias: true });
  if (sep) out = squeezeExcite(b.child(o.se!.name), out, sep);
  return activation(b, out, o.act);
}

/** Checkpoint form a graph is built for: train-time branches, or timm's reparameterized form. */
export type Form = 'train' | 'fused';

export function mobileOne(b: Builder, x: Value, o: MobileOneBlockOptions, form: Form): Value {
  return form === 'fused' ? mobileOneBlockFused(b, x, o) : mobileOneBlock(b, x, o);
}

export function activation(b: Builder, x: Value, act: MobileOneBlockOptions['act']): Value {
  if (act === 'gelu') return b.gelu(x, 'none');
  if (act === 'relu') return b.relu(x);
  return x;
}

/**
 * The train-time MobileOne block. Parameters are created in timm's state_dict order
 * (FastViT's `se` first, then identity, conv_kxk.*, conv_scale, then ByobNet's `attn`).
 */
export function mobileOneBlock(b: Builder, x: Value, o: MobileOneBlockOptions): Value {
  const cin = channels(x);
  const stride = o.stride ?? 1;
  const groups = o.groups ?? 1;
  const hasIdentity = o.identity ?? (cin === o.out && stride === 1);
  const se = o.se && o.se.first ? seParams(b.child(o.se.name), o.out, o.se.rd) : null;

  const identity = hasIdentity ? batchNorm(b.child('identity'), x, BN_EPS) : null;
  const convs: Value[] = [];
  for (let i = 0; i < o.numConvBranches; i++) {
    convs.push(convBn(b.child('conv_kxk', i), x, { out: o.out, k: o.k, stride, groups }));
  }
  const scale = o.k > 1 && (o.useScale ?? true) ? convBn(b.child('conv_scale'), x, { out: o.out, k: 1, stride, groups }) : null;

  // timm: out = scale_out + identity_out; out += conv_kxk[i](x) for each branch
  const terms = [scale, identity, ...convs].filter((v): v is Value => v !== null);
  if (terms.length === 0) throw new Error(`${b.scope}: MobileOne block without branches`);
  let out = terms[0]!;
  for (let i = 1; i < terms.length; i++) out = b.add(out, terms[i]!, `sum${i}`);

  const seLate = o.se && !o.se.first ? seParams(b.child(o.se.name), o.out, o.se.rd) : null;
  const sep = se ?? seLate;
  if (sep) out = squeezeExcite(b.child(o.se!.name), out, sep);
  return activation(b, out, o.act);
}

// ---------------------------------------------------------------- MobileOne network (ByobNet)

interface MobileOneConfig {
  /** Width factors of the four stages, applied to (64, 128, 256, 512). */
  wf: readonly [number, number, number, number];
  stem: number;
  /** Conv branches per stage block (the stem always has one). */
  k: number;
  /** SE on the last `se[s]` units of stage s. */
  se: readonly [number, number, number, number];
  paperMacs: number;
}

const UNITS = [2, 8, 10, 1] as const;
const BASE = [64, 128, 256, 512] as const;

// Paper Table 7 / timm model_cfgs (S0's 4 branches; S4's SE on the last units)
const VARIANTS: Record<string, MobileOneConfig> = {
  mobileone_s0: { wf: [0.75, 1.0, 1.0, 2.0], stem: 48, k: 4, se: [0, 0, 0, 0], paperMacs: 0.275e9 },
  mobileone_s1: { wf: [1.5, 1.5, 2.0, 2.5], stem: 64, k: 1, se: [0, 0, 0, 0], paperMacs: 0.825e9 },
  mobileone_s2: { wf: [1.5, 2.0, 2.5, 4.0], stem: 64, k: 1, se: [0, 0, 0, 0], paperMacs: 1.299e9 },
  mobileone_s3: { wf: [2.0, 2.5, 3.0, 4.0], stem: 64, k: 1, se: [0, 0, 0, 0], paperMacs: 1.896e9 },
  mobileone_s4: { wf: [3.0, 3.5, 3.5, 4.0], stem: 64, k: 1, se: [0, 0, 5, 1], paperMacs: 2.978e9 },
};

/** SE width in ByobNet's SEModule: make_divisible(C/16, 8, round_limit=0). */
function seWidth(c: number): number { return makeDivisible(c / 16, 8, undefined, 0); }

/** One stage: units of (depthwise 3×3 block, pointwise 1×1 block); stride 2 on the first. */
function mobileOneStage(b: Builder, x: Value, out: number, units: number, cfg: MobileOneConfig, seUnits: number, form: Form): Value {
  let y = x;
  for (let u = 0; u < units; u++) {
    const prev = channels(y);
    const se = u >= units - seUnits;
    y = mobileOne(b.child(2 * u), y, {
      out: prev, k: 3, stride: u === 0 ? 2 : 1, groups: prev, act: 'relu', numConvBranches: cfg.k,
      se: se ? { name: 'attn', rd: seWidth(prev) } : null,
    }, form);
    y = mobileOne(b.child(2 * u + 1), y, {
      out, k: 1, act: 'relu', numConvBranches: cfg.k,
      se: se ? { name: 'attn', rd: seWidth(out) } : null,
    }, form);
  }
  return y;
}

function buildMobileOne(cfg: MobileOneConfig, b: Builder, x: Value, form: Form): Value {
  let y = b.feature(mobileOne(b.child('stem'), x, { out: cfg.stem, k: 3, stride: 2, act: 'relu', numConvBranches: 1 }, form));
  for (let s = 0; s < 4; s++) {
    // stages.0..2, then stages.3 = timm's final_conv tap (an Identity in MobileOne)
    y = b.feature(mobileOneStage(b.child('stages', s), y, BASE[s]! * cfg.wf[s]!, UNITS[s]!, cfg, cfg.se[s]!, form));
  }
  const h = b.child('head');
  return classifier(h.child('fc'), h.flatten(h.globalAvgPool(y), 1));
}

for (const [name, cfg] of Object.entries(VARIANTS)) {
  register({
    name,
    family: 'mobileone',
    paper: 'MobileOne: An Improved One millisecond Mobile Backbone (Vasu et al., CVPR 2023, arXiv 2206.04040)',
    source: 'timm v1.0.28 timm/models/byobnet.py (mobileone_*); apple/ml-mobileone',
    defaultSize: [224, 224],
    sizeMultiple: 32,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    numClasses: 1000,
    paperMacs: cfg.paperMacs,
    build: (b, x) => buildMobileOne(cfg, b, x, 'train'),
    buildFused: (b, x) => buildMobileOne(cfg, b, x, 'fused'),
  });
}
