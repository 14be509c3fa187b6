import { describe, expect, it } from 'vitest';
import { avgPool2d, batchNorm, conv2d, linear, toTokens } from '../../src/builders/layers.js';
import { attr } from '../../src/graph/ir.js';
import { runRules } from '../../src/passes/driver.js';
import { mergePreAffine, mergePreNorm } from '../../src/passes/pre-norm.js';
import { deadCode } from '../../src/passes/dce.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { expectPreserved, initForTest, seeded, tinyBuilder } from '../helpers/graphs.js';

const histogram = (g: { opHistogram(): Map<string, number> }) => Object.fromEntries(g.opHistogram());

describe('merge-pre-norm', () => {
  it('folds BN into a following 1x1 conv with bias (NCB norm → mlp.fc1)', async () => {
    const { b, x } = tinyBuilder();
    const u = batchNorm(b.child('norm'), x);
    b.g.outputs.push(conv2d(b.child('fc1'), u, { out: 12, k: 1, bias: true }));
    initForTest(b.g);
    let n = 0;
    await expectPreserved(b.g, (g) => { n = runRules(g, [mergePreNorm]).counts['merge-pre-norm']!; });
    expect(n).toBe(1);
    expect(histogram(b.g)).toEqual({ Conv: 1 });
    expect(b.g.initializers.has('fc1.weight') && b.g.initializers.has('fc1.bias')).toBe(true);
  });

  it('folds BN → reshape → transpose into a token Linear without bias (adds one)', async () => {
    const { b, x } = tinyBuilder();
    const u = batchNorm(b.child('norm'), x);
    b.g.outputs.push(linear(b.child('qkv'), toTokens(b, u), 24, false));
    initForTest(b.g);
    foldConstants.run(b.g); // the transposed Linear weight becomes a constant first
    await expectPreserved(b.g, (g) => { expect(runRules(g, [mergePreNorm]).counts['merge-pre-norm']).toBe(1); });
    expect(b.g.opHistogram().has('BatchNormalization')).toBe(false);
  });

  it('merges the E-MHSA chain BN1 → {q, pool → BN1d → k, v} in two steps', async () => {
    const { b, x } = tinyBuilder([2, 8, 4, 6]);
    const u = batchNorm(b.child('norm1'), x);
    const flat = b.reshape(u, [2, 8, 24]);
    const q = linear(b.child('q'), b.transpose(flat, [0, 2, 1]), 8);
    const pooled = b.op('AveragePool', [flat], {
      kernel_shape: attr.ints([4]), strides: attr.ints([4]), pads: attr.ints([0, 0]),
      ceil_mode: attr.int(0), count_include_pad: attr.int(0),
    });
    const kv = b.transpose(batchNorm(b.child('e_mhsa', 'norm'), pooled), [0, 2, 1]);
    const k = linear(b.child('k'), kv, 8);
    const v = linear(b.child('v'), kv, 8);
    b.g.outputs.push(b.matmul(q, b.transpose(k, [0, 2, 1])), v);
    initForTest(b.g);
    foldConstants.run(b.g);
    let n = 0;
    await expectPreserved(b.g, (g) => { n = runRules(g, [mergePreNorm]).counts['merge-pre-norm']!; });
    expect(n).toBe(2);
    expect(b.g.opHistogram().has('BatchNormalization')).toBe(false);
  });

  it('folds the final BN through global pooling into the classifier Gemm', async () => {
    const { b, x } = tinyBuilder();
    const u = batchNorm(b.child('norm'), x);
    b.g.outputs.push(linear(b.child('head', 'fc'), b.flatten(b.globalAvgPool(u)), 5));
    initForTest(b.g);
    await expectPreserved(b.g, (g) => { expect(runRules(g, [mergePreNorm]).counts['merge-pre-norm']).toBe(1); });
    expect(histogram(b.g)).toEqual({ Flatten: 1, Gemm: 1, GlobalAveragePool: 1 });
  });

  it('folds through a ceil-mode average pool that does not count padding', async () => {
    const { b, x } = tinyBuilder([1, 8, 7, 7]);
    const u = batchNorm(b.child('norm'), x);
    const p = avgPool2d(b, u, { k: 2, stride: 2, ceil: true });
    b.g.outputs.push(conv2d(b.child('proj'), p, { out: 4, k: 1 }));
    initForTest(b.g);
    await expectPreserved(b.g, (g) => { expect(runRules(g, [mergePreNorm]).counts['merge-pre-norm']).toBe(1); });
  });

  const negative: [string, (b: ReturnType<typeof tinyBuilder>['b'], u: ReturnType<typeof batchNorm>, x: ReturnType<typeof batchNorm>) => ReturnType<typeof batchNorm>, string][] = [
    ['a padded 3x3 conv (borders would see the shift)', (b, u) => conv2d(b.child('c'), u, { out: 8, k: 3 }), 'padded Conv'],
    ['a residual that also reads the normalized value', (b, u) => b.add(u, conv2d(b.child('c'), u, { out: 8, k: 1 })), 'neither carries'],
    ['a grouped 1x1 conv', (b, u) => conv2d(b.child('c'), u, { out: 8, k: 1, groups: 2 }), 'grouped Conv'],
    ['a pool that counts padding', (b, u) => conv2d(b.child('c'), avgPool2d(b, u, { k: 3, stride: 1, pads: [1, 1, 1, 1], countIncludePad: true }), { out: 4, k: 1 }), 'neither carries'],
  ];
  for (const [what, tail, reason] of negative) {
    it(`does not fire before ${what}`, () => {
      const { b, x } = tinyBuilder();
      const u = batchNorm(b.child('norm'), x);
      b.g.outputs.push(tail(b, u, x));
      initForTest(b.g);
      const explain = new Map<string, string>();
      expect(runRules(b.g, [mergePreNorm], { explain }).counts['merge-pre-norm']).toBe(0);
      expect([...explain.values()].join(' | ')).toContain(reason);
    });
  }
});

describe('merge-pre-affine (per-channel Add(Mul(x, s), t), e.g. a GroupNorm\'s weight and bias)', () => {
  /** x → InstanceNormalization over [B, 1, C·H·W] (GroupNorm(1)) → ·s + t with s, t as [C, 1, 1] parameters reshaped. */
  function groupNormAffine(b: ReturnType<typeof tinyBuilder>['b'], x: ReturnType<typeof tinyBuilder>['x'], sShape?: number[]) {
    const [n, c, h, w] = x.shape as number[];
    const flat = b.reshape(x, [n!, 1, c! * h! * w!]);
    const norm = b.reshape(b.op('InstanceNormalization', [flat, b.constant('one', seeded([1], 'one')), b.constant('zero', seeded([1], 'zero'))], { epsilon: attr.float(1e-5) }), [n!, c!, h!, w!]);
    const s = b.child('norm').param('weight', [c!], 'norm_weight');
    const t = b.child('norm').param('bias', [c!], 'norm_bias');
    return b.add(b.mul(norm, b.reshape(s, sShape ?? [c!, 1, 1]), 'scale'), b.reshape(t, [c!, 1, 1]), 'shift');
  }

  it('folds the affine into a following 1×1 conv (MobileViT v2: GN1 → qkv_proj)', async () => {
    const { b, x } = tinyBuilder();
    b.g.outputs.push(conv2d(b.child('qkv_proj'), groupNormAffine(b, x), { out: 17, k: 1, bias: true }));
    initForTest(b.g);
    foldConstants.run(b.g); // the reshaped weight and bias become [C, 1, 1] constants
    let n = 0;
    await expectPreserved(b.g, (g) => { n = runRules(g, [mergePreAffine]).counts['merge-pre-affine']!; foldConstants.run(g); deadCode.run(g); });
    expect(n).toBe(1);
    expect(b.g.opHistogram().has('Mul') || b.g.opHistogram().has('Add')).toBe(false);
    expect(b.g.initializers.has('qkv_proj.weight') && b.g.initializers.has('qkv_proj.bias')).toBe(true);
  });

  it('does not fire when the scale varies over space, or before a padded 3×3 conv', () => {
    for (const [what, build] of [
      ['a per-position scale', (b: ReturnType<typeof tinyBuilder>['b'], u: ReturnType<typeof tinyBuilder>['x']) => conv2d(b.child('c'), u, { out: 4, k: 1 })],
      ['a padded conv', (b: ReturnType<typeof tinyBuilder>['b'], u: ReturnType<typeof tinyBuilder>['x']) => conv2d(b.child('c'), u, { out: 4, k: 3 })],
    ] as const) {
      const { b, x } = tinyBuilder();
      const u = what === 'a per-position scale'
        ? b.add(b.mul(x, b.constant('s', seeded([1, 6, 6], 's'))), b.constant('t', seeded([8, 1, 1], 't')))
        : groupNormAffine(b, x);
      b.g.outputs.push(build(b, u));
      initForTest(b.g);
      foldConstants.run(b.g);
      const explain = new Map<string, string>();
      expect(runRules(b.g, [mergePreAffine], { explain }).counts['merge-pre-affine'] ?? 0, what).toBe(0);
      expect([...explain.values()].join(' | ')).toMatch(what === 'a padded conv' ? /padded Conv/ : /one value per channel/);
    }
  });
});
