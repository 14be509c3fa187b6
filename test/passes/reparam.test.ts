/**
 * The reparameterization rules composed (the `reparam` pass of the default pipeline) on the
 * blocks they were written for: each collapses to a single conv, outputs unchanged.
 */
import { describe, expect, it } from 'vitest';
import { mobileOneBlock, type MobileOneBlockOptions } from '../../src/builders/mobileone.js';
import { batchNorm, conv2d } from '../../src/builders/layers.js';
import type { Graph } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { REPARAM } from '../../src/passes/index.js';
import { expectPreserved, initForTest, tinyBuilder } from '../helpers/graphs.js';

const histogram = (g: Graph) => Object.fromEntries(g.opHistogram());

function runReparam(g: Graph): Record<string, number> {
  return REPARAM.run(g, { onRewrite: (_, g) => verifyGraph(g) }).counts;
}

describe('reparam pass on whole blocks', () => {
  const blocks: { name: string; o: MobileOneBlockOptions; cin: number; kernel: number[] }[] = [
    { name: 'MobileOne S0 depthwise block: 4 conv branches + scale + identity', cin: 8, o: { out: 8, k: 3, groups: 8, act: 'relu', numConvBranches: 4 }, kernel: [8, 1, 3, 3] },
    { name: 'MobileOne stride-2 depthwise block (no identity)', cin: 8, o: { out: 8, k: 3, stride: 2, groups: 8, act: 'relu', numConvBranches: 4 }, kernel: [8, 1, 3, 3] },
    { name: 'MobileOne pointwise block with identity', cin: 8, o: { out: 8, k: 1, act: 'relu', numConvBranches: 2 }, kernel: [8, 8, 1, 1] },
    { name: 'FastViT stem block 3 → 8 (conv + scale)', cin: 3, o: { out: 8, k: 3, stride: 2, act: 'gelu', numConvBranches: 1 }, kernel: [8, 3, 3, 3] },
    { name: 'FastViT final conv: grouped, out = 2·in, SE', cin: 8, o: { out: 16, k: 3, groups: 8, act: 'gelu', numConvBranches: 1, se: { name: 'se', rd: 4, first: true } }, kernel: [16, 1, 3, 3] },
  ];
  for (const blk of blocks) {
    it(`collapses the ${blk.name} into one conv`, async () => {
      const { b, x } = tinyBuilder([2, blk.cin, 8, 8]);
      b.g.outputs.push(mobileOneBlock(b.child('blk'), x, blk.o));
      initForTest(b.g);
      await expectPreserved(b.g, runReparam);
      const h = histogram(b.g);
      expect(h['BatchNormalization']).toBeUndefined();
      if (blk.o.act !== 'gelu') expect(h['Add']).toBeUndefined(); // (GELU is lowered to Erf arithmetic with an Add for the run)
      expect(h['Conv']).toBe(blk.o.se ? 3 : 1); // SE keeps its two 1×1 convs
      expect(b.g.initializers.get('blk.reparam_conv.weight')!.shape).toEqual(blk.kernel);
    });
  }

  it('collapses RepMixer x + γ⊙(mixer(x) − norm(x)) into one depthwise 3×3 conv', async () => {
    const { b, x } = tinyBuilder([2, 8, 8, 8]);
    const tm = b.child('token_mixer');
    const norm = mobileOneBlock(tm.child('norm'), x, { out: 8, k: 3, groups: 8, act: 'none', useScale: false, numConvBranches: 0 });
    const mixer = mobileOneBlock(tm.child('mixer'), x, { out: 8, k: 3, groups: 8, act: 'none', numConvBranches: 1 });
    const gamma = tm.child('layer_scale').param('gamma', [8, 1, 1], 'layer_scale');
    b.g.outputs.push(b.add(x, b.mul(b.sub(mixer, norm), gamma)));
    initForTest(b.g);
    await expectPreserved(b.g, runReparam);
    expect(histogram(b.g)).toEqual({ Conv: 1 });
    const conv = [...b.g.nodes][0]!;
    expect(conv.attrInt('group')).toBe(8);
    expect(conv.input(1).name).toBe('token_mixer.reparam_conv.weight');
    expect(conv.input(1).shape).toEqual([8, 1, 3, 3]);
  });

  it('collapses RepLK BN(conv7×7 s2) + BN(conv3×3 s2) (groups = C_in, out = 2·C_in) into one 7×7 conv', async () => {
    const { b, x } = tinyBuilder([2, 4, 9, 9]);
    const p = b.child('proj', 0);
    const large = batchNorm(p.child('large_conv', 'bn'), conv2d(p.child('large_conv', 'conv'), x, { out: 8, k: 7, stride: 2, groups: 4 }));
    const small = batchNorm(p.child('small_conv', 'bn'), conv2d(p.child('small_conv', 'conv'), x, { out: 8, k: 3, stride: 2, groups: 4 }));
    b.g.outputs.push(b.add(large, small));
    initForTest(b.g);
    await expectPreserved(b.g, runReparam);
    expect(histogram(b.g)).toEqual({ Conv: 1 });
    expect(b.g.initializers.get('proj.0.reparam_conv.weight')!.shape).toEqual([8, 1, 7, 7]);
  });

  it('collapses RepCPE x + dwconv7×7(x) into one depthwise 7×7 conv', async () => {
    const { b, x } = tinyBuilder([2, 8, 8, 8]);
    const pe = b.child('pos_emb');
    b.g.outputs.push(b.add(conv2d(pe.child('pos_enc'), x, { out: 8, k: 7, groups: 8, bias: true }), x));
    initForTest(b.g);
    await expectPreserved(b.g, runReparam);
    expect(histogram(b.g)).toEqual({ Conv: 1 });
    expect(b.g.initializers.get('pos_emb.reparam_conv.weight')!.shape).toEqual([8, 1, 7, 7]);
  });
});
