/**
 * `inspect` MACs (Conv, ConvTranspose, MatMul, Gemm from static shapes) against the FLOPs the
 * papers report (ModelSpec.paperMacs), for every registered model that has one. Papers round to
 * 0.1 G and count with their own tools, so the tolerance is max(0.05 G, 3 %). Families with a
 * structural reparameterization (FastViT, MobileOne) are counted after the default pipeline, as
 * the papers count them; for the others the train-time graph has the same MACs (BatchNorm merges
 * do not change a convolution's work), so they are counted without optimizing.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { buildModel, listModels } from '../../src/builders/registry.js';
import { countMacs } from '../../src/inspect/index.js';
import { optimize } from '../../src/passes/index.js';
import { prepareModel } from '../../src/pipeline.js';

const REPARAM = new Set(['fastvit', 'mobileone']);
const withPaper = listModels().filter((s) => s.paperMacs);

describe('MACs agree with the papers', () => {
  it('covers every family that reports FLOPs', () => {
    expect(new Set(withPaper.map((s) => s.family)).size).toBeGreaterThanOrEqual(4);
  });

  it.each(withPaper.map((s) => [s.name, s] as const))('%s', (_name, spec) => {
    let g;
    if (REPARAM.has(spec.family)) { g = prepareModel(spec.name); optimize(g); } else g = buildModel(spec.name);
    const macs = countMacs(g).total;
    const paper = spec.paperMacs!;
    expect(Math.abs(macs - paper), `${spec.name}: ${(macs / 1e9).toFixed(3)} G vs paper ${(paper / 1e9).toFixed(3)} G`).toBeLessThanOrEqual(Math.max(0.05e9, 0.03 * paper));
  });
});
