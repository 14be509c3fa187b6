import { describe, expect, it } from 'vitest';
import { batchNorm, conv2d } from '../../src/builders/layers.js';
import type { Graph } from '../../src/graph/ir.js';
import { convBn } from '../../src/passes/conv-bn.js';
import { runRules } from '../../src/passes/driver.js';
import { expectPreserved, initForTest, tinyBuilder } from '../helpers/graphs.js';

function convBnGraph(o: { bias?: boolean; groups?: number; k?: number; stride?: number; pad?: [number, number, number, number] }): Graph {
  const { b, x } = tinyBuilder([2, 8, 7, 7]);
  const y = conv2d(b.child('conv'), x, { out: 8, k: o.k ?? 3, stride: o.stride, groups: o.groups, bias: o.bias, pad: o.pad });
  b.g.outputs.push(b.relu(batchNorm(b.child('bn'), y, 1e-3)));
  initForTest(b.g);
  return b.g;
}

describe('conv-bn', () => {
  const cases = [
    { name: 'plain 3x3', o: {} },
    { name: 'with bias', o: { bias: true } },
    { name: 'depthwise stride 2', o: { groups: 8, stride: 2 } },
    { name: 'grouped, asymmetric pads', o: { groups: 2, pad: [0, 0, 1, 1] as [number, number, number, number], stride: 2 } },
    { name: '1x1', o: { k: 1 } },
  ];
  for (const c of cases) {
    it(`folds BN into the conv (${c.name}) and preserves outputs`, async () => {
      const g = convBnGraph(c.o);
      let stats;
      await expectPreserved(g, (g) => { stats = runRules(g, [convBn]); });
      expect(stats!.counts['conv-bn']).toBe(1);
      expect(Object.fromEntries(g.opHistogram())).toEqual({ Conv: 1, Relu: 1 });
      expect(g.initializers.has('conv.weight')).toBe(true); // fused tensors keep the conv's names
      expect(g.initializers.has('conv.bias')).toBe(true);
      expect(runRules(g, [convBn]).counts['conv-bn']).toBe(0); // fixed point
    });
  }

  it('does not fire when the conv output has another use', () => {
    const { b, x } = tinyBuilder();
    const y = conv2d(b.child('conv'), x, { out: 8, k: 3 });
    b.g.outputs.push(b.add(batchNorm(b.child('bn'), y), y));
    initForTest(b.g);
    const explain = new Map<string, string>();
    expect(runRules(b.g, [convBn], { explain }).counts['conv-bn']).toBe(0);
    expect([...explain.values()]).toContain('conv output has other uses');
  });

  it('does not fire when the conv weight is shared', () => {
    const { b, x } = tinyBuilder();
    const y = conv2d(b.child('conv'), x, { out: 8, k: 3 });
    const w = b.g.initializers.get('conv.weight')!;
    const y2 = b.op('Conv', [x, w], y.producer!.attrs);
    b.g.outputs.push(b.add(batchNorm(b.child('bn'), y), y2));
    initForTest(b.g);
    expect(runRules(b.g, [convBn]).counts['conv-bn']).toBe(0);
  });

  it('does not fire when BN statistics are not constant', () => {
    const { b, x } = tinyBuilder();
    const y = conv2d(b.child('conv'), x, { out: 8, k: 3 });
    const mean = b.input('mean', { dtype: 'float32', shape: [8] });
    const bn = batchNorm(b.child('bn'), y);
    bn.producer!.setInput(3, mean);
    b.g.outputs.push(bn);
    initForTest(b.g);
    expect(runRules(b.g, [convBn]).counts['conv-bn']).toBe(0);
  });
});
