/** Structural diff keyed on names, on small graphs: every kind of change is reported once, by name. */
import { describe, expect, it } from 'vitest';
import { conv2d } from '../../src/builders/layers.js';
import { Builder } from '../../src/graph/builder.js';
import { attr } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { serialize } from '../../src/onnx/serialize.js';
import { BackendPool } from '../../src/runtime/backend.js';
import { diffModels, structuralDiff } from '../../src/verify/diff.js';
import { initForTest } from '../helpers/graphs.js';
import { tinyVisionOnnx } from '../helpers/tiny-model.js';

function graph(variant: 'a' | 'b') {
  const b = Builder.create('g');
  const x = b.input('x', { dtype: 'float32', shape: [1, 4, 8, 8] });
  let y = conv2d(b.child('c1'), x, { out: 4, k: 3, stride: variant === 'a' ? 1 : 2, bias: true });
  y = variant === 'a' ? b.relu(y) : b.sigmoid(y);
  if (variant === 'b') y = b.op('Neg', [y], {}, 'extra');
  const out = b.globalAvgPool(y);
  b.g.outputs.push(out);
  b.g.renameValue(out, 'out');
  initForTest(b.g);
  if (variant === 'b') {
    const w = b.g.initializers.get('c1.weight')!;
    const d = Float32Array.from(w.constant!.data as Float32Array);
    d[5]! -= 0.25; d[7]! += 0.125;
    b.g.setConstant(w, new Tensor('float32', w.constant!.shape, d));
    b.g.addInitializer('unused.extra', Tensor.f32([2], [1, 2]));
  }
  return b.g;
}

describe('structuralDiff', () => {
  it('reports identical graphs as identical', () => {
    const d = structuralDiff(graph('a'), graph('a'), { a: 17, b: 17 });
    expect(d.identical).toBe(true);
    expect(d.ops).toEqual([]);
  });

  it('names changed attributes, ops, shapes, initializers and added/removed nodes', () => {
    const a = graph('a'), b = graph('b');
    const d = structuralDiff(a, b, { a: 17, b: 18 });
    expect(d.identical).toBe(false);
    expect(d.opset).toEqual({ a: 17, b: 18 });
    const conv = d.nodes.changed.find((c) => c.name === 'c1')!;
    expect(conv.changes).toEqual(['attribute strides: [1,1] → [2,2]', 'output c1: float32[1, 4, 8, 8] → float32[1, 4, 4, 4]']);
    expect(d.nodes.removed).toEqual([{ name: 'Relu', op: 'Relu' }]);
    expect(d.nodes.added).toEqual([{ name: 'Sigmoid', op: 'Sigmoid' }, { name: 'extra', op: 'Neg' }]);
    const gap = d.nodes.changed.find((c) => c.op === 'GlobalAveragePool')!;
    expect(gap.changes).toEqual(['input 0: Relu → extra']);
    expect(d.initializers.changed).toEqual([{ name: 'c1.weight', changes: ['values'], maxAbsDiff: 0.25, differing: 2, count: 144 }]);
    expect(d.initializers.added).toEqual([{ name: 'unused.extra', dtype: 'float32', shape: [2] }]);
    expect(d.ops).toEqual([{ op: 'Neg', a: 0, b: 1 }, { op: 'Relu', a: 1, b: 0 }, { op: 'Sigmoid', a: 0, b: 1 }]);
  });

  it('reports attribute additions/removals and initializer shape changes', () => {
    const a = graph('a'), b = graph('a');
    const n = [...b.nodes].find((x) => x.op === 'Conv')!;
    n.attrs['auto_pad'] = attr.string('NOTSET');
    delete n.attrs['group'];
    b.setConstant(b.initializers.get('c1.bias')!, Tensor.f32([4, 1], [0, 0, 0, 0]));
    const d = structuralDiff(a, b, { a: 17, b: 17 });
    expect(d.nodes.changed[0]!.changes).toEqual(['attribute auto_pad="NOTSET" added', 'attribute group=1 removed']);
    expect(d.initializers.changed).toEqual([{ name: 'c1.bias', changes: ['shape [4] → [4,1]'], maxAbsDiff: null, differing: null, count: 4 }]);
  });
});

describe('diffModels', () => {
  it('finds the first diverging node by exposing common intermediate values, in bounded chunks', async () => {
    const a = tinyVisionOnnx(16, 1);
    const p = parseOnnx(a);
    const w = p.graph.initializers.get('attn.v.weight')!;
    const d = Float32Array.from(w.constant!.data as Float32Array);
    d[0]! += 1;
    p.graph.setConstant(w, new Tensor('float32', w.constant!.shape, d));
    const b = serialize(p.graph, { opset: 17 });
    const pool = new BackendPool();
    try {
      const backend = await pool.get('cpu');
      // tiny chunks: the search walks several runs and still stops at the first divergence
      const r = await diffModels({ path: 'a', bytes: a }, { path: 'b', bytes: b }, { backend, tolerance: { atol: 1e-5, rtol: 1e-4 }, bisect: true, chunkBytes: 4096 });
      expect(r.equivalent).toBe(false);
      expect(r.structure.initializers.changed.map((c) => c.name)).toEqual(['attn.v.weight']);
      const first = r.bisect!.first!;
      const consumer = [...p.graph.initializers.get('attn.v.weight')!.consumers()][0]!;
      expect(first.node).toBe(consumer.name);
      expect(first.inputs.map((i) => i.status)).toContain('initializer changed');
      expect(r.bisect!.runs).toBeGreaterThan(2);
      // same file: equivalent, bisection skipped
      const same = await diffModels({ path: 'a', bytes: a }, { path: 'a2', bytes: a }, { backend, tolerance: { atol: 0, rtol: 0 }, bisect: true });
      expect(same.equivalent).toBe(true);
      expect(same.structure.identical).toBe(true);
      expect(same.bisect).toEqual({ compared: 0, runs: 0, first: null, skipped: 'the outputs agree within tolerance' });
    } finally {
      await pool.close();
    }
  });
});
