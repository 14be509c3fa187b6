/**
 * web/catalog.json: what the model picker shows — every registered architecture and pretrained
 * tag with what `vitx list` / `vitx list --pretrained` print (parameters, classes, input sizes,
 * preprocessing) and the MACs `vitx inspect` counts on the graph as exported (the fused form
 * where the family has one) at the tag's size and head. Building 140 graphs takes ~30 s, so the
 * file is generated once and committed; test/web/catalog.test.ts checks it against the registry.
 *
 *   npx tsx web/catalog.ts            rewrite web/catalog.json
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/builders/index.js';
import { listPretrainedTags } from '../src/builders/pretrained.js';
import { buildModel, getModel, specParams } from '../src/builders/registry.js';
import { TIMM_ZOO } from '../src/builders/timm-zoo.js';
import { countMacs } from '../src/inspect/macs.js';
import { listModels as listRows } from '../src/library.js';

export interface CatalogModel { name: string; family: string; params: number; classes: number; size: string; sizes: string; macs: number; tags: string[] }
export interface CatalogTag { tag: string; model: string; size: string; classes: number; params: number; macs: number; mean: number[]; std: number[]; cropPct: number; interpolation: string; hub: string | null }
export interface Catalog { models: CatalogModel[]; tags: CatalogTag[] }

/** MACs of the graph `vitx export` builds for (arch, size, classes), as inspect counts them. */
export function exportMacs(arch: string, size: readonly [number, number], numClasses: number): number {
  const spec = getModel(arch);
  return countMacs(buildModel(arch, { size, numClasses, fused: Boolean(spec.buildFused) })).total;
}

/** Trainable parameters with an N-class head (as `vitx list` counts the default tag's head). */
export function headParams(arch: string, classes: number): number {
  const spec = getModel(arch);
  return specParams(spec) + (classes - spec.numClasses) * (TIMM_ZOO[arch]!.headInFeatures + 1);
}

const parseSize = (s: string) => s.split('x').map(Number) as [number, number];

export function makeCatalog(only?: readonly string[]): Catalog {
  const tags = listPretrainedTags().filter((t) => !only || only.includes(t.arch));
  const models = listRows().filter((r) => !only || only.includes(r.name)).map((r) => ({
    name: r.name, family: r.family, params: r.params, classes: r.classes, size: r.size, sizes: r.sizes,
    macs: exportMacs(r.name, parseSize(r.size), r.classes),
    tags: tags.filter((t) => t.arch === r.name).map((t) => t.tag),
  }));
  return {
    models,
    tags: tags.map(({ tag, arch, cfg }) => ({
      tag, model: arch, size: `${cfg.input_size[1]}x${cfg.input_size[2]}`, classes: cfg.num_classes, params: headParams(arch, cfg.num_classes),
      macs: exportMacs(arch, [cfg.input_size[1], cfg.input_size[2]], cfg.num_classes),
      mean: cfg.mean, std: cfg.std, cropPct: cfg.crop_pct, interpolation: cfg.interpolation, hub: cfg.hf_hub_id ?? null,
    })),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = join(dirname(fileURLToPath(import.meta.url)), 'catalog.json');
  writeFileSync(out, `${JSON.stringify(makeCatalog())}\n`);
  console.log(`wrote ${out}`);
}
