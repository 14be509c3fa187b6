import { describe, expect, it } from 'vitest';
import { batchNorm, conv2d, type ConvOptions } from '../../src/builders/layers.js';
import type { Builder } from '../../src/graph/builder.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { runRules } from '../../src/passes/driver.js';
import { identityKernel, identityToConv } from '../../src/passes/identity-to-conv.js';
import { mergeParallelConvs } from '../../src/passes/merge-parallel-convs.js';
import { expectPreserved, initForTest, tinyBuilder } from '../helpers/graphs.js';

const histogram = (g: Graph) => Object.fromEntries(g.opHistogram());

interface Case { name: string; conv: Omit<ConvOptions, 'out'>; other: 'x' | 'bn'; op: 'Add' | 'Sub'; otherFirst?: boolean }

function identityGraph(c: Case): Graph {
  const { b, x } = tinyBuilder([2, 8, 7, 7]);
  const y = conv2d(b.child('blk', 'conv'), x, { out: 8, ...c.conv });
  const other = c.other === 'x' ? x : batchNorm(b.child('blk', 'identity'), x);
  b.g.outputs.push(b.relu(b.op(c.op, c.otherFirst ? [other, y] : [y, other])));
  initForTest(b.g);
  return b.g;
}

describe('identity-to-conv', () => {
  it('builds the identity kernel of rule 4 (grouped: ones at [o, o mod d, centre])', () => {
    const k = identityKernel(4, { k: [3, 3], strides: [1, 1], begin: [1, 1], end: [1, 1], dilations: [1, 1], group: 2, out: 4 });
    expect(k.shape).toEqual([4, 2, 3, 3]);
    const ones: number[][] = [];
    (k.data as Float32Array).forEach((v, i) => { if (v) ones.push([Math.floor(i / 18), Math.floor(i / 9) % 2, Math.floor(i / 3) % 3, i % 3]); });
    expect(ones).toEqual([[0, 0, 1, 1], [1, 1, 1, 1], [2, 0, 1, 1], [3, 1, 1, 1]]);
  });

  const cases: Case[] = [
    { name: 'Add(dwconv3×3(x), BN(x)) — MobileOne identity branch', conv: { k: 3, groups: 8 }, other: 'bn', op: 'Add' },
    { name: 'Sub(BN(x), conv3×3(x)) with the BN first — RepMixer norm', conv: { k: 3, bias: true }, other: 'bn', op: 'Sub', otherFirst: true },
    { name: 'Add(x, dwconv7×7(x)) — RepCPE residual', conv: { k: 7, groups: 8, bias: true }, other: 'x', op: 'Add', otherFirst: true },
    { name: 'Sub(grouped 1×1(x), x)', conv: { k: 1, groups: 2 }, other: 'x', op: 'Sub' },
    { name: 'asymmetric same-size padding [0,0,2,2]', conv: { k: 3, pad: [0, 0, 2, 2], groups: 4 }, other: 'bn', op: 'Add' },
  ];
  for (const c of cases) {
    it(`writes the identity as a conv: ${c.name}`, async () => {
      const g = identityGraph(c);
      let n = 0;
      await expectPreserved(g, (g) => { n = runRules(g, [identityToConv], { onRewrite: (_, g) => verifyGraph(g) }).counts['identity-to-conv']!; });
      expect(n).toBe(1);
      expect(histogram(g)).toEqual({ Conv: 2, [c.op]: 1, Relu: 1 });
      const convs = [...g.nodes].filter((n) => n.op === 'Conv');
      expect(convs[0]!.input(1).shape).toEqual(convs[1]!.input(1).shape); // partner's kernel and groups
      expect(convs[0]!.attrs).toEqual(convs[1]!.attrs);
      if (c.other === 'bn') expect(g.initializers.get('blk.identity.weight')!.shape).toEqual(convs[0]!.input(1).shape);
    });
    it(`and with merge-parallel-convs collapses to one conv: ${c.name}`, async () => {
      const g = identityGraph(c);
      await expectPreserved(g, (g) => {
        const s = runRules(g, [identityToConv, mergeParallelConvs]);
        expect([s.counts['identity-to-conv'], s.counts['merge-parallel-convs']]).toEqual([1, 1]);
      });
      expect(histogram(g)).toEqual({ Conv: 1, Relu: 1 });
    });
  }

  function rejects(build: (b: Builder, x: Value) => Value, reason: RegExp, shape = [2, 8, 7, 7]): void {
    const { b, x } = tinyBuilder(shape);
    b.g.outputs.push(build(b, x));
    initForTest(b.g);
    const explain = new Map<string, string>();
    const before = histogram(b.g);
    expect(runRules(b.g, [identityToConv], { explain }).counts['identity-to-conv']).toBe(0);
    expect(histogram(b.g)).toEqual(before);
    expect([...explain.values()].join(' | ')).toMatch(reason);
  }

  it('does not fire for a dilated partner', () => {
    rejects((b, x) => b.add(conv2d(b.child('conv'), x, { out: 8, k: 3, dilation: 2, pad: 2 }), x), /dilation/);
  });
  it('does not fire for a partner whose output only broadcasts against x (8 → 1 channels)', () => {
    rejects((b, x) => b.add(conv2d(b.child('conv'), x, { out: 1, k: 3 }), x), /maps 8 channels to 1/);
  });
  it('does not fire for a strided partner (even where the sizes happen to agree)', () => {
    rejects((b, x) => b.add(conv2d(b.child('conv'), x, { out: 8, k: 1, stride: 2 }), x), /stride/, [2, 8, 1, 1]);
  });
  it('does not fire for padding that does not keep the spatial size (output broadcast)', () => {
    rejects((b, x) => b.add(conv2d(b.child('conv'), x, { out: 8, k: 3, pad: 0 }), x), /padding does not keep/, [2, 8, 3, 3]);
  });
  it('does not fire when the partner conv output has another use', () => {
    rejects((b, x) => { const y = conv2d(b.child('conv'), x, { out: 8, k: 3 }); return b.mul(b.add(y, batchNorm(b.child('bn'), x)), y); }, /conv output has other uses/);
  });
  it('does not fire when the BN output has another use', () => {
    rejects((b, x) => { const n = batchNorm(b.child('bn'), x); return b.mul(b.add(conv2d(b.child('conv'), x, { out: 8, k: 3 }), n), n); }, /BatchNormalization output has other uses/);
  });
  it('does not fire for BN of a different tensor', () => {
    rejects((b, x) => b.add(conv2d(b.child('conv'), x, { out: 8, k: 3 }), batchNorm(b.child('bn'), b.relu(x))), /neither the conv input/);
  });
  it('does not fire when the partner weight is not a constant', () => {
    rejects((b, x) => {
      const w = b.input('w', { dtype: 'float32', shape: [8, 1, 3, 3] });
      const y = b.op('Conv', [x, w], conv2d(b.child('c0'), x, { out: 8, k: 3, groups: 8 }).producer!.attrs);
      return b.add(y, x);
    }, /conv weight is not a constant/);
  });
  it('does not fire when the partner weight is shared', () => {
    rejects((b, x) => {
      const y = conv2d(b.child('conv'), x, { out: 8, k: 3 });
      const y2 = b.op('Conv', [x, b.g.initializers.get('conv.weight')!], y.producer!.attrs);
      return b.add(b.add(y, x), y2);
    }, /conv weight is not a constant owned/);
  });
  it('does not fire when the BN statistics are not constant', () => {
    rejects((b, x) => {
      const n = batchNorm(b.child('bn'), x);
      n.producer!.setInput(4, b.input('var', { dtype: 'float32', shape: [8] }));
      return b.add(conv2d(b.child('conv'), x, { out: 8, k: 3 }), n);
    }, /not constant/);
  });
});
