/**
 * contrib-gelu: before/after on onnxruntime with its optimizations disabled (the lowered standard-op
 * GELU vs com.microsoft Gelu / FastGelu), and where it must not fire (no explicit --target ort, fp16,
 * opset ≥ 20, an already-contrib node).
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { attr, Graph } from '../../src/graph/ir.js';
import { contribGelu } from '../../src/passes/contrib-gelu.js';
import { exportModel, toOnnx } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { seeded } from '../helpers/graphs.js';
import { referenceInput } from '../helpers/reference.js';

function geluNet(approximate: 'none' | 'tanh'): Graph {
  const g = new Graph('gelu');
  const x = g.addInput('x', { dtype: 'float32', shape: [2, 3, 5] });
  const h = g.addNode('Gelu', [x], [{ dtype: 'float32', shape: [2, 3, 5] }], { name: 'act', attrs: { approximate: attr.string(approximate) } }).output;
  const w = g.addInitializer('w', seeded([5, 4], 'w'));
  g.outputs.push(g.addNode('MatMul', [h, w], [{ dtype: 'float32', shape: [2, 3, 4] }], { name: 'fc' }).output);
  g.outputs.push(g.addNode('Gelu', [h], [{ dtype: 'float32', shape: [2, 3, 5] }], { name: 'out_act', attrs: { approximate: attr.string(approximate) } }).output);
  return g;
}

const ops = (g: Graph) => [...g.nodes].map((n) => `${n.domain ? `${n.domain}.` : ''}${n.op}`).sort();

describe('contrib-gelu', () => {
  it.each([['none', 'com.microsoft.Gelu'], ['tanh', 'com.microsoft.FastGelu']] as const)('approximate=%s → %s, same outputs and names', async (approx, op) => {
    const before = geluNet(approx), after = geluNet(approx);
    const stats = contribGelu.run(after, {});
    expect(stats.counts['contrib-gelu']).toBe(2);
    expect(ops(after)).toEqual(['MatMul', op, op].sort());
    expect([...after.nodes].map((n) => n.name).sort()).toEqual(['act', 'fc', 'out_act']);
    expect(after.outputs.map((v) => v.name)).toEqual(['fc', 'out_act']);
    const x = { x: { dtype: 'float32' as const, dims: [2, 3, 5], data: seeded([2, 3, 5], 'x', 'other', 8).data as Float32Array } };
    const a = await runOnnx(toOnnx(before), x), b = await runOnnx(toOnnx(after), x);
    for (const k of ['fc', 'out_act']) {
      const p = a[k]!.data as Float32Array, q = b[k]!.data as Float32Array;
      p.forEach((v, i) => expect(Math.abs(v - q[i]!)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(v)));
    }
  });

  it('fires on an explicit --target ort export and preserves the logits (edgevit_xxs: erf GELU → Gelu)', async () => {
    const plain = exportModel('edgevit_xxs');
    const ort = exportModel('edgevit_xxs', { target: 'ort' });
    expect(plain.nodesAfter.get('Erf')).toBeGreaterThan(0);
    expect(ort.nodesAfter.get('Erf')).toBeUndefined();
    expect(ort.passes.find((p) => p.name === 'contrib-gelu')!.stats.counts['contrib-gelu']).toBe(plain.nodesAfter.get('Erf'));
    const x = referenceInput('edgevit_xxs');
    const feeds = { input: { dtype: 'float32' as const, dims: x.dims, data: x.data } };
    const a = (await runOnnx(plain.bytes, feeds))['logits']!.data as Float32Array;
    const b = (await runOnnx(ort.bytes, feeds))['logits']!.data as Float32Array;
    const amax = Math.max(...a.map(Math.abs));
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-5 * amax));
  }, 60_000);

  it('must not fire: no explicit target, fp16, opset 20, a contrib node already', () => {
    const has = (r: ReturnType<typeof exportModel>) => [...r.graph.nodes].some((n) => n.domain === 'com.microsoft' && n.op.endsWith('Gelu'));
    expect(has(exportModel('edgevit_xxs'))).toBe(false);
    expect(has(exportModel('edgevit_xxs', { target: 'ort', dtype: 'fp16' }))).toBe(false);
    const o20 = exportModel('edgevit_xxs', { target: 'ort', opset: 20 });
    expect(has(o20)).toBe(false);
    expect(o20.nodesAfter.get('Gelu')).toBeGreaterThan(0); // the standard opset-20 Gelu instead
    const g = geluNet('none');
    contribGelu.run(g, {});
    expect(contribGelu.run(g, {}).counts['contrib-gelu']).toBe(0);
  }, 60_000);
});
