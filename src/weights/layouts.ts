/**
 * Official checkpoint layouts → timm names (vitx's parameter names), detected from the keys.
 *
 * - Apple ml-fastvit (github.com/apple/ml-fastvit): timm's `checkpoint_filter_fn` in
 *   timm/models/fastvit.py — renames (patch_embed → stem, rbr_conv → conv_kxk, rbr_scale →
 *   conv_scale, rbr_skip → identity, conv_exp → final_conv, lkb_origin → large_conv, convffn → mlp,
 *   layer_scale(_N) → …gamma, head → head.fc) and the flat `network.<i>` list regrouped into stages,
 *   a stage ending before each `network.<i>.proj` (downsample); plus, for the reparameterized form,
 *   which timm's filter does not cover, `lkb_reparam` → `reparam_conv`.
 * - Apple ml-mobileone (github.com/apple/ml-mobileone): stage0 → stem, stage<i> → stages.<i-1>,
 *   rbr_conv / rbr_scale / rbr_skip → conv_kxk / conv_scale / identity, se.reduce / se.expand →
 *   attn.fc1 / attn.fc2, linear → head.fc (timm's hub files were converted offline; the map was
 *   checked by loading the reference weights into the official model, scripts/gen_pth_official.py).
 * - ByteDance Next-ViT (github.com/bytedance/Next-ViT): timm's `checkpoint_filter_fn` in
 *   timm/models/nextvit.py pairs the official keys with timm's by position. The pairs are (checked
 *   with both repositories' code, scripts/gen_pth_official.py): the flat block list `features.<n>`
 *   → `stages.<s>.blocks.<b>` in order, `mlp.conv1/conv2` → `mlp.fc1/fc2`, `proj_head.0` →
 *   `head.fc`, all else unchanged; vitx renames by these rules, so it does not depend on key order.
 * - EdgeViT: vitx's names are the official repository's (saic-fi/edgevit), nothing to remap.
 */
import type { ModelSpec } from '../builders/registry.js';
import type { Tensor } from '../graph/tensor.js';
import { formKeys } from './forms.js';
import { checkpointError } from './checkpoint.js';

export type LayoutChoice = 'auto' | 'official' | 'timm';

export interface Remapped {
  tensors: Map<string, Tensor>;
  /** The official layout that was remapped (e.g. 'apple/ml-fastvit'), null when none. */
  layout: string | null;
}

interface Layout {
  name: string;
  detect(keys: string[]): boolean;
  remap(spec: ModelSpec, ckpt: Map<string, Tensor>, what: string): Map<string, Tensor>;
}

const isCounter = (k: string) => k.endsWith('num_batches_tracked');

function renameAll(ckpt: Map<string, Tensor>, rename: (k: string) => string, what: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, t] of ckpt) {
    const n = rename(k);
    if (out.has(n)) throw checkpointError(`${what}: keys ${k} and another both map to ${n}`);
    out.set(n, t);
  }
  return out;
}

const FASTVIT: Layout = {
  name: 'apple/ml-fastvit',
  detect: (keys) => keys.some((k) => k.startsWith('patch_embed.') || k.startsWith('network.')),
  remap(_spec, ckpt, what) {
    const stageEnds = [...new Set([...ckpt.keys()].map((k) => /^network\.(\d+)\.proj/.exec(k)?.[1]).filter((x) => x !== undefined).map(Number))].sort((a, b) => a - b);
    return renameAll(ckpt, (k0) => {
      let k = k0;
      for (const [a, b] of [['patch_embed', 'stem'], ['rbr_conv', 'conv_kxk'], ['rbr_scale', 'conv_scale'], ['rbr_skip', 'identity'], ['conv_exp', 'final_conv'],
        ['lkb_origin', 'large_conv'], ['lkb_reparam', 'reparam_conv'], ['convffn', 'mlp'], ['se.reduce', 'se.fc1'], ['se.expand', 'se.fc2']] as const) k = k.replaceAll(a, b);
      k = k.replace(/layer_scale_([0-9])/g, 'layer_scale_$1.gamma');
      if (k.endsWith('layer_scale')) k = k.replace('layer_scale', 'layer_scale.gamma');
      k = k.replace('dist_head', 'head_dist');
      if (k.startsWith('head.')) k = k.replace('head.', 'head.fc.');
      const m = /^network\.(\d+)/.exec(k);
      if (m) {
        const net = Number(m[1]);
        const stage = stageEnds.filter((e) => e <= net).length; // bisect_right
        const netPrefix = `network.${net}`;
        if (k.includes(`${netPrefix}.proj`)) k = k.replace(`${netPrefix}.proj`, `stages.${stage}.downsample.proj`);
        else if (k.includes(`${netPrefix}.pe`)) k = k.replace(`${netPrefix}.pe`, `stages.${stage}.pos_emb.pos_enc`);
        else k = k.replace(netPrefix, `stages.${stage}.blocks`);
      }
      return k;
    }, what);
  },
};

const MOBILEONE: Layout = {
  name: 'apple/ml-mobileone',
  detect: (keys) => keys.some((k) => k.startsWith('stage0.')),
  remap: (_spec, ckpt, what) => renameAll(ckpt, (k0) => {
    let k = k0.replace(/^stage0\./, 'stem.').replace(/^stage(\d+)\./, (_m, i: string) => `stages.${Number(i) - 1}.`);
    for (const [a, b] of [['rbr_conv', 'conv_kxk'], ['rbr_scale', 'conv_scale'], ['rbr_skip', 'identity'], ['se.reduce', 'attn.fc1'], ['se.expand', 'attn.fc2']] as const) k = k.replace(a, b);
    return k.replace(/^linear\./, 'head.fc.');
  }, what),
};

const NEXTVIT: Layout = {
  name: 'bytedance/Next-ViT',
  detect: (keys) => !keys.includes('head.fc.weight') && keys.some((k) => k.startsWith('features.') || k.startsWith('proj_head.')),
  remap(spec, ckpt, what) {
    // the flat block list features.<n> is timm's stages.<s>.blocks.<b> in (s, b) order
    const blocks: string[] = [];
    for (const k of formKeys(spec, 'train')) {
      const m = /^stages\.\d+\.blocks\.\d+\./.exec(k);
      if (m && blocks[blocks.length - 1] !== m[0]) blocks.push(m[0]);
    }
    return renameAll(ckpt, (k) => {
      const m = /^features\.(\d+)\./.exec(k);
      if (m) {
        const n = Number(m[1]);
        if (n >= blocks.length) throw checkpointError(`${what}: official Next-ViT key ${k} names block ${n}, but ${spec.name} has ${blocks.length} blocks`);
        k = blocks[n]! + k.slice(m[0].length);
      }
      return k.replace(/\.mlp\.conv([12])\./, '.mlp.fc$1.').replace(/^proj_head\.0\./, 'head.fc.');
    }, what);
  },
};

const LAYOUTS: Partial<Record<ModelSpec['family'], Layout>> = { fastvit: FASTVIT, mobileone: MOBILEONE, nextvit: NEXTVIT };

/** The official layout of a family, if it has one vitx remaps (EdgeViT's names already are official). */
export function officialLayout(spec: ModelSpec): string | null {
  return LAYOUTS[spec.family]?.name ?? null;
}

/**
 * Renames an official-layout checkpoint to timm's keys. 'auto' detects the layout from the keys,
 * 'official' requires the family to have one, 'timm' leaves the keys as they are.
 */
export function remapCheckpoint(spec: ModelSpec, ckpt: Map<string, Tensor>, choice: LayoutChoice = 'auto', what = 'checkpoint'): Remapped {
  if (choice === 'timm') return { tensors: ckpt, layout: null };
  const layout = LAYOUTS[spec.family];
  if (!layout) {
    if (choice === 'official') throw checkpointError(`${what}: ${spec.name} has no separate official layout (${spec.family === 'edgevit' ? 'vitx uses the official EdgeViT names already' : 'timm is the reference implementation'}); drop --checkpoint-layout official`);
    return { tensors: ckpt, layout: null };
  }
  if (choice === 'auto' && !layout.detect([...ckpt.keys()])) return { tensors: ckpt, layout: null };
  return { tensors: layout.remap(spec, ckpt, what), layout: layout.name };
}
