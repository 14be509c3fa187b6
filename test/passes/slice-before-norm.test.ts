/**
 * slice-before-norm: before/after on onnxruntime (optimizations disabled) for EdgeViT's pattern
 * (LayerNorm over tokens, Reshape to the map, strided Slice) and where it must not fire. The same
 * float operations run on the same rows, so the outputs agree to the bit; the helper's usual
 * tolerance (1e-5 + 1e-4·|y|) is asserted, and exact equality separately.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { layerNorm } from '../../src/builders/layers.js';
import type { Builder } from '../../src/graph/builder.js';
import { attr, type Graph, type Value } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { runRules } from '../../src/passes/driver.js';
import { sliceBeforeNorm } from '../../src/passes/slice-before-norm.js';
import { exportModel } from '../../src/pipeline.js';
import { expectPreserved, initForTest, runGraph, tinyBuilder } from '../helpers/graphs.js';

const RULE = 'slice-before-norm';
const H = 8, W = 8, C = 6;

function build(body: (b: Builder, x: Value) => Value): Graph {
  const { b, x } = tinyBuilder([2, H * W, C]);
  b.g.outputs.push(body(b, x));
  initForTest(b.g);
  return b.g;
}

/** LN over tokens, back to the map, every `sr`-th row and column (EdgeViT's AvgPool2d(1, sr)). */
const sparse = (b: Builder, x: Value, sr = 4) =>
  b.slice(b.reshape(layerNorm(b.child('norm1'), x, 1e-6), [2, H, W, C]), [0, 0], [H, W], [1, 2], [sr, sr]);

describe('slice-before-norm', () => {
  it('normalizes only the kept rows, same outputs bit for bit', async () => {
    const g = build((b, x) => b.reshape(sparse(b, x), [2, (H / 4) * (W / 4), C]));
    const before = await runGraph(build((b, x) => b.reshape(sparse(b, x), [2, (H / 4) * (W / 4), C])));
    await expectPreserved(g, (g) => { expect(runRules(g, [sliceBeforeNorm]).counts[RULE]).toBe(1); });
    const ln = [...g.nodes].find((n) => n.op === 'LayerNormalization')!;
    expect(ln.name).toBe('norm1');
    expect(ln.input(0).producer!.op).toBe('Slice');
    expect(ln.input(0).shape).toEqual([2, H / 4, W / 4, C]);
    const after = await runGraph(g);
    expect([...after[0]!]).toEqual([...before[0]!]);
    expect(runRules(g, [sliceBeforeNorm]).counts[RULE]).toBe(0);
  });

  function rejects(body: (b: Builder, x: Value) => Value, reason: RegExp): void {
    const g = build(body);
    const explain = new Map<string, string>();
    expect(runRules(g, [sliceBeforeNorm], { explain }).counts[RULE]).toBe(0);
    expect([...explain.values()].join(' | ')).toMatch(reason);
    verifyGraph(g);
  }

  it('does not fire for a Slice of the normalized axis', () => {
    rejects((b, x) => b.slice(layerNorm(b.child('n'), x, 1e-6), [0], [3], [2]), /cuts the normalized axis/);
  });
  it('does not fire for a norm over the last two axes', () => {
    rejects((b, x) => {
      const ln = b.op('LayerNormalization', [x, b.constant('g', Tensor.f32([H * W, C], new Float32Array(H * W * C).fill(1))), b.constant('b', Tensor.f32([H * W, C]))], { axis: attr.int(1), epsilon: attr.float(1e-5) });
      return b.slice(ln, [0], [H * W], [1], [4]);
    }, /more than the last axis/);
  });
  it('does not fire when a Reshape changes the last axis', () => {
    rejects((b, x) => b.slice(b.reshape(layerNorm(b.child('n'), x, 1e-6), [2, H, W * C]), [0], [H], [1], [2]), /changes the last axis/);
  });
  it('does not fire when the normalized tokens are also read elsewhere', () => {
    rejects((b, x) => {
      const n = layerNorm(b.child('n'), x, 1e-6);
      b.g.outputs.push(n);
      return b.slice(b.reshape(n, [2, H, W, C]), [0, 0], [H, W], [1, 2], [2, 2]);
    }, /other uses/);
  });

  it('fires on edgevit_xxs under --target ort only (the sr > 1 stages)', () => {
    const count = (r: ReturnType<typeof exportModel>) => r.passes.reduce((n, p) => n + (p.stats.counts[RULE] ?? 0), 0);
    expect(count(exportModel('edgevit_xxs', { target: 'ort' }))).toBe(5);
    expect(count(exportModel('edgevit_xxs'))).toBe(0);
  }, 60_000);
});

