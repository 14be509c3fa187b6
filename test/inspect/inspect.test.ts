/**
 * inspect on a small graph whose MACs are counted by hand, at static and symbolic batch; report
 * fields and text form.
 */
import { describe, expect, it } from 'vitest';
import { conv2d, convTranspose2d, linear } from '../../src/builders/layers.js';
import { Builder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import { formatReport } from '../../src/inspect/format.js';
import { countMacs, inspectGraph } from '../../src/inspect/index.js';
import { initDeterministic } from '../../src/weights/load.js';

function small(batch: number | 'N'): Graph {
  const b = Builder.create('small');
  const x = b.input('input', { dtype: 'float32', shape: [batch, 3, 8, 8] });
  const c = conv2d(b.child('conv'), x, { out: 4, k: 3 });                          // 4·8·8 outputs × 3·9
  const d = conv2d(b.child('dw'), c, { out: 4, k: 3, groups: 4 });                 // 4·8·8 × 1·9
  const u = convTranspose2d(b.child('up'), d, { out: 4, k: 2, stride: 2, groups: 4 }); // 4·8·8 inputs × 1·4
  const t = b.transpose(b.reshape(u, [batch, 4, 256]), [0, 2, 1]);
  const m = linear(b.child('proj'), t, 6);                                          // 256·6 outputs × 4
  const p = b.flatten(b.globalAvgPool(c));
  const h = linear(b.child('head'), p, 5);                                          // 5 × 4 (Gemm)
  b.g.outputs.push(h, m);
  initDeterministic(b.g);
  return b.g;
}

const PER_ITEM = 4 * 64 * 27 + 4 * 64 * 9 + 4 * 64 * 4 + 256 * 6 * 4 + 5 * 4;

describe('inspect', () => {
  it('counts Conv, grouped Conv, ConvTranspose, MatMul and Gemm MACs by hand', () => {
    const m = countMacs(small(2));
    expect(m.total).toBe(2 * PER_ITEM);
    expect(Object.fromEntries(m.byOp)).toEqual({ Conv: 2 * 4 * 64 * 36, MatMul: 2 * 256 * 24, ConvTranspose: 2 * 4 * 64 * 4, Gemm: 2 * 20 });
  });

  it('reports per batch item when the batch is symbolic', () => {
    const r = inspectGraph(small('N'), { opset: 17 });
    expect(r.macs).toBe(PER_ITEM);
    expect(r.dynamicDims).toEqual(['N']);
    expect(r.maxRank).toBe(4);
    expect(r.maxRankValue).toBe('input');
    expect(r.params).toBe(4 * 27 + 4 * 9 + 4 * 4 + 6 * 4 + 6 + 5 * 4 + 5);
    expect(r.ops).toMatchObject({ Conv: 2, ConvTranspose: 1, Gemm: 1, MatMul: 1 });
    const text = formatReport(r);
    expect(text).toContain(`MACs     ${(PER_ITEM / 1e6).toFixed(2)} M per batch item`);
    expect(text).toContain('dynamic  N');
    expect(text).not.toContain('lint');
  });

  it('adds the target lint', () => {
    const r = inspectGraph(small('N'), { opset: 17, target: 'tensorrt' });
    expect(r.findings.map((f) => f.rule)).toEqual(['dynamic-shape']);
    expect(formatReport(r)).toMatch(/lint {5}tensorrt: 0 errors, 1 warning\n {2}warning dynamic-shape input: /);
  });
});

describe('inspect: onnxruntime contrib Attention (--target ort)', () => {
  it('counts what the MatMuls it replaces count: the same MACs as the standard-op file', async () => {
    const { exportModel } = await import('../../src/pipeline.js');
    for (const model of ['mobilevit_xxs', 'maxvit_tiny_tf_224']) {
      const plain = exportModel(model);
      const fused = exportModel(model, { target: 'ort' });
      const attentions = [...fused.graph.nodes].filter((n) => n.domain === 'com.microsoft' && n.op === 'Attention').length;
      expect(attentions, model).toBeGreaterThan(0);
      expect(countMacs(fused.graph).total, model).toBe(countMacs(plain.graph).total);
    }
  });
});
