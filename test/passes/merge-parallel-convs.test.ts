import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conv2d, type ConvOptions } from '../../src/builders/layers.js';
import type { Builder } from '../../src/graph/builder.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { runRules } from '../../src/passes/driver.js';
import { mergeParallelConvs } from '../../src/passes/merge-parallel-convs.js';
import { expectPreserved, initForTest, tinyBuilder } from '../helpers/graphs.js';

const histogram = (g: Graph) => Object.fromEntries(g.opHistogram());

interface Case { name: string; a: ConvOptions; b: ConvOptions; op: 'Add' | 'Sub'; cin?: number; kernel: [number, number] }

function parallelGraph(c: Case): Graph {
  const { b, x } = tinyBuilder([2, c.cin ?? 8, 9, 9]);
  const ya = conv2d(b.child('blk', 'a', 'conv'), x, c.a);
  const yb = conv2d(b.child('blk', 'b', 'conv'), x, c.b);
  b.g.outputs.push(b.relu(b.op(c.op, [ya, yb])));
  initForTest(b.g);
  return b.g;
}

describe('merge-parallel-convs', () => {
  const cases: Case[] = [
    { name: '3×3 pad 1 + 1×1 pad 0 (MobileOne scale branch)', a: { out: 8, k: 3, bias: true }, b: { out: 8, k: 1, pad: 0, bias: true }, op: 'Add', kernel: [3, 3] },
    { name: '1×1 + depthwise 3×3, stride 2, small kernel first', a: { out: 8, k: 1, pad: 0, stride: 2, groups: 8 }, b: { out: 8, k: 3, stride: 2, groups: 8, bias: true }, op: 'Add', kernel: [3, 3] },
    { name: '7×7 pad 3 + 3×3 pad 1, stride 2, groups = C_in, out = 2·C_in (RepLK)', a: { out: 16, k: 7, stride: 2, groups: 8 }, b: { out: 16, k: 3, stride: 2, groups: 8 }, op: 'Add', kernel: [7, 7] },
    { name: 'Sub of two 3×3 with one bias (RepMixer mixer − norm)', a: { out: 8, k: 3, groups: 8 }, b: { out: 8, k: 3, groups: 8, bias: true }, op: 'Sub', kernel: [3, 3] },
    { name: 'Sub, smaller kernel first: 1×1 − 5×5', a: { out: 8, k: 1, pad: 0, bias: true }, b: { out: 8, k: 5 }, op: 'Sub', kernel: [5, 5] },
    { name: 'aligned asymmetric padding: 3×3 pads [0,0,2,2] + 1×1 pad 0', a: { out: 8, k: 3, pad: [0, 0, 2, 2] }, b: { out: 8, k: 1, pad: 0 }, op: 'Add', kernel: [3, 3] },
    { name: 'rectangular kernels 1×3 + 3×3', a: { out: 8, k: [1, 3], pad: [0, 1, 0, 1] }, b: { out: 8, k: 3 }, op: 'Add', kernel: [3, 3] },
  ];
  for (const c of cases) {
    it(`merges ${c.name}`, async () => {
      const g = parallelGraph(c);
      let n = 0;
      await expectPreserved(g, (g) => { n = runRules(g, [mergeParallelConvs], { onRewrite: (_, g) => verifyGraph(g) }).counts['merge-parallel-convs']!; });
      expect(n).toBe(1);
      expect(histogram(g)).toEqual({ Conv: 1, Relu: 1 });
      const conv = [...g.nodes].find((n) => n.op === 'Conv')!;
      expect(conv.input(1).shape.slice(2)).toEqual(c.kernel);
      expect(conv.input(1).name).toBe('blk.reparam_conv.weight');
    });
  }

  it('merges a sum of four branches (MobileOne S0) into one conv in three rewrites', async () => {
    const { b, x } = tinyBuilder([1, 8, 6, 6]);
    let y = conv2d(b.child('blk', 'conv_kxk', 0, 'conv'), x, { out: 8, k: 3, groups: 8 });
    for (let i = 1; i < 4; i++) y = b.add(y, conv2d(b.child('blk', 'conv_kxk', i, 'conv'), x, { out: 8, k: 3, groups: 8, bias: i === 2 }));
    b.g.outputs.push(y);
    initForTest(b.g);
    await expectPreserved(b.g, (g) => { expect(runRules(g, [mergeParallelConvs]).counts['merge-parallel-convs']).toBe(3); });
    expect(histogram(b.g)).toEqual({ Conv: 1 });
    expect(b.g.initializers.has('blk.reparam_conv.weight')).toBe(true); // list siblings share their owner's name
  });

  function rejects(build: (b: Builder, x: Value) => Value, reason: RegExp): void {
    const { b, x } = tinyBuilder([2, 8, 9, 9]);
    b.g.outputs.push(build(b, x));
    initForTest(b.g);
    const explain = new Map<string, string>();
    const before = histogram(b.g);
    expect(runRules(b.g, [mergeParallelConvs], { explain }).counts['merge-parallel-convs']).toBe(0);
    expect(histogram(b.g)).toEqual(before);
    expect([...explain.values()].join(' | ')).toMatch(reason);
  }

  it('does not fire for same-size outputs whose windows do not line up (pads [1,1,1,1] vs [0,0,2,2])', () => {
    rejects((b, x) => b.add(conv2d(b.child('a'), x, { out: 8, k: 3 }), conv2d(b.child('b'), x, { out: 8, k: 3, pad: [0, 0, 2, 2] })), /do not line up/);
  });
  it('does not fire for a 5×5 and a 3×3 whose windows are offset (pads [0,0,4,4] vs [2,2,0,0])', () => {
    rejects((b, x) => b.sub(conv2d(b.child('a'), x, { out: 8, k: 5, pad: [0, 0, 4, 4] }), conv2d(b.child('b'), x, { out: 8, k: 3, pad: [2, 2, 0, 0] })), /do not line up/);
  });
  it('does not fire for different groups', () => {
    rejects((b, x) => b.add(conv2d(b.child('a'), x, { out: 8, k: 3 }), conv2d(b.child('b'), x, { out: 8, k: 3, groups: 8 })), /groups differ/);
  });
  it('does not fire for different strides (same output size by padding)', () => {
    rejects((b, x) => b.add(conv2d(b.child('a'), x, { out: 8, k: 1, pad: 0, stride: 2 }), conv2d(b.child('b'), x, { out: 8, k: 5, pad: 0 })), /strides differ/);
  });
  it('does not fire for dilated convs', () => {
    rejects((b, x) => b.add(conv2d(b.child('a'), x, { out: 8, k: 3, dilation: 2, pad: 2 }), conv2d(b.child('b'), x, { out: 8, k: 3 })), /dilation/);
  });
  it('does not fire for convs of different inputs', () => {
    rejects((b, x) => b.add(conv2d(b.child('a'), x, { out: 8, k: 3 }), conv2d(b.child('b'), b.relu(x), { out: 8, k: 3 })), /different inputs/);
  });
  it('does not fire when a conv output has another use', () => {
    rejects((b, x) => { const ya = conv2d(b.child('a'), x, { out: 8, k: 3 }); return b.mul(b.add(ya, conv2d(b.child('b'), x, { out: 8, k: 1, pad: 0 })), ya); }, /other uses/);
  });
  it('does not fire when both convs share one weight', () => {
    rejects((b, x) => {
      const ya = conv2d(b.child('a'), x, { out: 8, k: 3 });
      return b.add(ya, b.op('Conv', [x, b.g.initializers.get('a.weight')!], ya.producer!.attrs));
    }, /not a constant owned/);
  });
  it('does not fire when a weight is not a constant', () => {
    rejects((b, x) => {
      const ya = conv2d(b.child('a'), x, { out: 8, k: 3 });
      return b.add(ya, b.op('Conv', [x, b.input('w', { dtype: 'float32', shape: [8, 8, 3, 3] })], ya.producer!.attrs));
    }, /not a constant/);
  });

  it('property: random pairs of convs either merge exactly or are left alone', async () => {
    const conv = fc.record({ k: fc.constantFrom(1, 3, 5), p0: fc.integer({ min: 0, max: 2 }), p1: fc.integer({ min: 0, max: 2 }), bias: fc.boolean() });
    await fc.assert(fc.asyncProperty(conv, conv, fc.constantFrom(1, 2), fc.constantFrom(1, 4), fc.constantFrom<'Add' | 'Sub'>('Add', 'Sub'), async (ca, cb, stride, groups, op) => {
      const { b, x } = tinyBuilder([1, 4, 7, 7]);
      const ya = conv2d(b.child('a'), x, { out: 4, k: ca.k, pad: [ca.p0, ca.p0, ca.p1, ca.p1], stride, groups, bias: ca.bias });
      const yb = conv2d(b.child('b'), x, { out: 4, k: cb.k, pad: [cb.p0, cb.p0, cb.p1, cb.p1], stride, groups, bias: cb.bias });
      if (ya.shape.join() !== yb.shape.join()) return; // not addable
      b.g.outputs.push(b.op(op, [ya, yb]));
      initForTest(b.g);
      const inside = (o: typeof ca, i: typeof ca) => -i.p0 >= -o.p0 && i.k - i.p0 <= o.k - o.p0;
      const aligned = inside(ca, cb) || inside(cb, ca);
      await expectPreserved(b.g, (g) => { expect(runRules(g, [mergeParallelConvs]).counts['merge-parallel-convs']).toBe(aligned ? 1 : 0); });
    }), { numRuns: 40, seed: 20240611 });
  });
});
