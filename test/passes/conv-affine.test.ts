import { describe, expect, it } from 'vitest';
import { conv2d } from '../../src/builders/layers.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import type { Builder } from '../../src/graph/builder.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { convAffine } from '../../src/passes/conv-affine.js';
import { runRules } from '../../src/passes/driver.js';
import { expectPreserved, initForTest, seeded, tinyBuilder } from '../helpers/graphs.js';

const histogram = (g: Graph) => Object.fromEntries(g.opHistogram());

interface Case { name: string; op: 'Mul' | 'Add'; cShape: number[]; constFirst?: boolean; bias?: boolean; groups?: number; stride?: number }

function affineGraph(c: Case): Graph {
  const { b, x } = tinyBuilder([2, 8, 7, 7]);
  const y = conv2d(b.child('conv'), x, { out: 8, k: 3, bias: c.bias, groups: c.groups, stride: c.stride });
  const k = b.constant('c', seeded(c.cShape, 'c', 'other', 3));
  const operands: [Value, Value] = c.constFirst ? [k, y] : [y, k];
  b.g.outputs.push(b.relu(b.op(c.op, operands)));
  initForTest(b.g);
  return b.g;
}

describe('conv-affine', () => {
  const cases: Case[] = [
    { name: 'layer scale γ [C,1,1] after a biased conv', op: 'Mul', cShape: [8, 1, 1], bias: true },
    { name: 'γ [1,C,1,1] as first operand, conv without bias', op: 'Mul', cShape: [1, 8, 1, 1], constFirst: true },
    { name: 'scalar scale, depthwise stride 2', op: 'Mul', cShape: [], groups: 8, stride: 2, bias: true },
    { name: 'shift [1,C,1,1] into a conv without bias (creates one)', op: 'Add', cShape: [1, 8, 1, 1] },
    { name: 'shift [C,1,1] as first operand into a biased grouped conv', op: 'Add', cShape: [8, 1, 1], constFirst: true, bias: true, groups: 2 },
    { name: 'scalar shift [1]', op: 'Add', cShape: [1], bias: true },
  ];
  for (const c of cases) {
    it(`folds ${c.op}: ${c.name}`, async () => {
      const g = affineGraph(c);
      let n = 0;
      await expectPreserved(g, (g) => { n = runRules(g, [convAffine], { onRewrite: (_, g) => verifyGraph(g) }).counts['conv-affine']!; });
      expect(n).toBe(1);
      expect(histogram(g)).toEqual({ Conv: 1, Relu: 1 });
      expect(g.initializers.has('conv.weight')).toBe(true);
      if (c.bias || c.op === 'Add') expect(g.initializers.get('conv.bias')!.shape).toEqual([8]);
      expect(runRules(g, [convAffine]).counts['conv-affine']).toBe(0);
    });
  }

  it('folds a chain Mul(Add(Conv, β), γ) in two rewrites', async () => {
    const { b, x } = tinyBuilder([1, 8, 5, 5]);
    const y = conv2d(b.child('conv'), x, { out: 8, k: 1 });
    const shifted = b.add(y, b.constant('beta', seeded([8, 1, 1], 'beta')));
    b.g.outputs.push(b.mul(shifted, b.constant('gamma', seeded([8, 1, 1], 'gamma'))));
    initForTest(b.g);
    await expectPreserved(b.g, (g) => { expect(runRules(g, [convAffine]).counts['conv-affine']).toBe(2); });
    expect(histogram(b.g)).toEqual({ Conv: 1 });
  });

  function rejects(build: (b: Builder, x: Value) => Value, reason: RegExp): void {
    const { b, x } = tinyBuilder([2, 8, 7, 7]);
    b.g.outputs.push(build(b, x));
    initForTest(b.g);
    const explain = new Map<string, string>();
    const before = histogram(b.g);
    expect(runRules(b.g, [convAffine], { explain }).counts['conv-affine']).toBe(0);
    expect(histogram(b.g)).toEqual(before);
    expect([...explain.values()].join(' | ')).toMatch(reason);
  }

  it('does not fire for a constant that varies along H or W', () => {
    rejects((b, x) => b.mul(conv2d(b.child('conv'), x, { out: 8, k: 3 }), b.constant('c', seeded([1, 1, 7, 7], 'c'))), /varies along axis 2/);
  });
  it('does not fire for a rank-1 constant of length C (it broadcasts along W, not C)', () => {
    const { b, x } = tinyBuilder([2, 8, 8, 8]);
    b.g.outputs.push(b.mul(conv2d(b.child('conv'), x, { out: 8, k: 3 }), b.constant('c', seeded([8], 'c'))));
    initForTest(b.g);
    expect(runRules(b.g, [convAffine]).counts['conv-affine']).toBe(0);
  });
  it('does not fire when the factor is not a constant', () => {
    rejects((b, x) => b.mul(conv2d(b.child('conv'), x, { out: 8, k: 3 }), b.input('gamma', { dtype: 'float32', shape: [8, 1, 1] })), /not a constant/);
  });
  it('does not fire when the conv output has another use', () => {
    rejects((b, x) => {
      const y = conv2d(b.child('conv'), x, { out: 8, k: 3 });
      return b.add(b.mul(y, b.constant('c', seeded([8, 1, 1], 'c'))), y);
    }, /conv output has other uses/);
  });
  it('does not fire when the conv weight is shared', () => {
    rejects((b, x) => {
      const y = conv2d(b.child('conv'), x, { out: 8, k: 3 });
      const y2 = b.op('Conv', [x, b.g.initializers.get('conv.weight')!], y.producer!.attrs);
      return b.add(b.mul(y, b.constant('c', seeded([8, 1, 1], 'c'))), y2);
    }, /conv weight is not a constant owned by this conv/);
  });
  it('does not fire when the constant would broadcast the conv output to a larger shape', () => {
    rejects((b, x) => b.add(conv2d(b.child('conv'), x, { out: 8, k: 3 }), b.constant('c', seeded([3, 1, 8, 1, 1], 'c'))), /higher rank|larger shape/);
  });
});
