/**
 * depthwise-upsample and flatten-tokens (the standard-op rewrites of the `--target ort` profile):
 * before/after on onnxruntime with its optimizations disabled, at the pass tests' tolerance
 * (1e-5 + 1e-4·|y|; both rewrites do the same float operations, so the outputs agree far closer),
 * and where they must not fire.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { convTranspose2d, layerNorm, linear } from '../../src/builders/layers.js';
import type { Builder } from '../../src/graph/builder.js';
import { attr, type Graph, type Value } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { depthwiseUpsample } from '../../src/passes/depthwise-upsample.js';
import { runRules } from '../../src/passes/driver.js';
import { flattenTokens } from '../../src/passes/flatten-tokens.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { SIMPLIFY_RULES } from '../../src/passes/simplify.js';
import { splitTranspose } from '../../src/passes/split-transpose.js';
import { exportModel } from '../../src/pipeline.js';
import { expectPreserved, initForTest, runGraph, tinyBuilder } from '../helpers/graphs.js';

function build(shape: number[], body: (b: Builder, x: Value) => Value): Graph {
  const { b, x } = tinyBuilder(shape);
  b.g.outputs.push(body(b, x));
  initForTest(b.g);
  foldConstants.run(b.g);
  return b.g;
}

function rejects(g: Graph, rule: typeof depthwiseUpsample | typeof flattenTokens | typeof splitTranspose, reason: RegExp): void {
  const explain = new Map<string, string>();
  expect(runRules(g, [rule], { explain }).counts[rule.name]).toBe(0);
  expect([...explain.values()].join(' | ')).toMatch(reason);
  verifyGraph(g);
}

const C = 6;

describe('depthwise-upsample', () => {
  it.each([true, false])('a depthwise ConvTranspose with kernel = stride becomes Mul (+ Add), same outputs (bias %s)', async (bias) => {
    const g = build([2, C, 3, 4], (b, x) => convTranspose2d(b.child('LocalProp'), x, { out: C, k: 4, stride: 4, groups: C, bias }));
    await expectPreserved(g, (g) => { expect(runRules(g, [depthwiseUpsample]).counts['depthwise-upsample']).toBe(1); });
    const h = g.opHistogram();
    expect(h.get('ConvTranspose')).toBeUndefined();
    expect(h.get('Mul')).toBe(1);
    expect(h.get('Add')).toBe(bias ? 1 : undefined);
    expect(g.outputs[0]!.shape).toEqual([2, C, 12, 16]);
  });

  it('does not fire for overlapping kernels, a dense ConvTranspose or padding', () => {
    rejects(build([1, C, 3, 3], (b, x) => convTranspose2d(b.child('up'), x, { out: C, k: 3, stride: 2, groups: C, bias: true })), depthwiseUpsample, /kernel ≠ stride/);
    rejects(build([1, C, 3, 3], (b, x) => convTranspose2d(b.child('up'), x, { out: C, k: 2, stride: 2, bias: true })), depthwiseUpsample, /weight is not a constant \[C, 1, k, k\]|not depthwise/);
    rejects(build([1, C, 3, 3], (b, x) => {
      const w = b.param('weight', [C, 1, 2, 2], 'affine_weight');
      return b.op('ConvTranspose', [x, w], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), group: attr.int(C) });
    }), depthwiseUpsample, /padded/);
  });

  it('edgevit_xxs --target ort: no ConvTranspose and no Transpose left around LocalProp', () => {
    const plain = exportModel('edgevit_xxs'), ort = exportModel('edgevit_xxs', { target: 'ort' });
    expect(plain.nodesAfter.get('ConvTranspose')).toBe(5);
    expect(ort.nodesAfter.get('ConvTranspose')).toBeUndefined();
    expect(ort.nodesAfter.get('Transpose')).toBe(plain.nodesAfter.get('Transpose')! - 5 * 2 - 7 * 3); // LocalProp's 2, each head split's 3
  }, 60_000);
});

describe('flatten-tokens', () => {
  /** A pre-norm MLP block on tokens [2, 5, C]: x + fc2(GELU(fc1(LN(x)))). */
  const block = (b: Builder, x: Value) => {
    const h = b.gelu(linear(b.child('fc1'), layerNorm(b.child('norm'), x, 1e-5), 2 * C));
    return b.add(x, linear(b.child('fc2'), h, C), 'residual');
  };

  it.each([[[2, 5, C]], [[1, 2, 3, C]]])('runs a token MLP block of %j on [rows, C], same outputs', async (shape) => {
    const g = build(shape, block);
    await expectPreserved(g, (g) => { expect(runRules(g, [flattenTokens, ...SIMPLIFY_RULES]).counts['flatten-tokens']).toBeGreaterThanOrEqual(7); }); // LN, 2 MatMul, 2 Add, GELU (as legalized), residual
    for (const n of g.nodes) if (n.op !== 'Reshape') expect(n.output.shape.length, `${n.op} ${n.name}`).toBe(2);
    expect(g.outputs[0]!.shape).toEqual(shape);
  });

  it('does not fire for elementwise ops on a map that no flattened op produced', () => {
    rejects(build([1, C, 4, 4], (b, x) => b.gelu(b.add(x, x))), flattenTokens, /no flattened operand/);
  });
  it('does not fire for an operand that broadcasts over the tokens', () => {
    const g = build([2, 5, C], (b, x) => b.mul(linear(b.child('fc'), x, C), b.constant('per_token', Tensor.f32([1, 5, 1], [1, 2, 3, 4, 5]))));
    const explain = new Map<string, string>();
    runRules(g, [flattenTokens, ...SIMPLIFY_RULES], { explain });
    expect(g.opHistogram().get('Mul')).toBe(1);
    expect([...g.nodes].find((n) => n.op === 'Mul')!.output.shape).toEqual([2, 5, C]);
    expect([...explain.values()].join(' | ')).toMatch(/broadcasts over tokens/);
  });
  it('does not fire for a norm over the last two axes or a batched MatMul', () => {
    rejects(build([2, 5, C], (b, x) => b.op('LayerNormalization', [x, b.constant('g', Tensor.f32([5, C])), b.constant('b', Tensor.f32([5, C]))], { axis: attr.int(1) })), flattenTokens, /more than the last axis/);
    rejects(build([2, 5, C], (b, x) => b.matmul(x, b.transpose(x, [0, 2, 1]))), flattenTokens, /not 2-D/);
  });
});

describe('split-transpose', () => {
  const D = 32, NH = 3, NW = 4;
  it.each([
    ['unfold (U: the channel axis moves last first)', [1, D, NH, 2, NW, 2], [0, 3, 5, 2, 4, 1]],
    ['fold (F: rows permuted with the channels kept last first)', [1, 2, 2, NH, NW, D], [0, 5, 3, 1, 4, 2]],
  ] as const)('%s: two steps, the same elements', async (_, shape, perm) => {
    const g = build([...shape], (b, x) => b.transpose(x, perm));
    const before = [...(await runGraph(build([...shape], (b, x) => b.transpose(x, perm))))[0]!];
    await expectPreserved(g, (g) => { expect(runRules(g, [splitTranspose]).counts['split-transpose']).toBe(1); });
    const ts = [...g.nodes].filter((n) => n.op === 'Transpose');
    expect(ts.length).toBe(2);
    expect(ts.some((n) => n.output.shape.length === 3 && n.attrInts('perm').join() === '0,2,1')).toBe(true);
    expect([...(await runGraph(g))[0]!]).toEqual(before);
  });

  it('does not fire when the last axis stays, on rank 4, or for short rows (MobileViT v2)', () => {
    rejects(build([1, 2, 3, 2, 4, D], (b, x) => b.transpose(x, [0, 2, 4, 1, 3, 5])), splitTranspose, /last axis stays/);
    rejects(build([1, D, 3, 4], (b, x) => b.transpose(x, [0, 2, 3, 1])), splitTranspose, /rank ≥ 5/);
    rejects(build([16, 3, 2, 4, 2], (b, x) => b.transpose(x, [0, 2, 4, 1, 3])), splitTranspose, /rows too short/);
  });

  it('mobilevit_xxs --target ort: each unfold and fold becomes two steps; mobilevitv2_050 untouched', () => {
    const count = (m: string) => exportModel(m, { target: 'ort' }).passes.reduce((n, p) => n + (p.stats.counts['split-transpose'] ?? 0), 0);
    expect(count('mobilevit_xxs')).toBe(6);
    expect(count('mobilevitv2_050')).toBe(0);
  }, 60_000);
});
