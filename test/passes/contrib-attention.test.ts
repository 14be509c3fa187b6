/**
 * contrib-attention: before/after on onnxruntime with its optimizations disabled (the standard-op
 * attention vs one com.microsoft.Attention node), on tiny graphs of every head layout the families
 * use and on the exported models with their reference weights (PyTorch's logits), and where it must
 * not fire (another softmax axis, a per-head scale, cross attention, probabilities read elsewhere, a
 * bias that is not [·, ·, N, N], a head split that mixes tokens, no explicit --target ort, fp16).
 *
 * contrib-mha (the int8 source file's form: one packed standard-op projection Linear, Split, and
 * com.microsoft.MultiHeadAttention for the score path): the same tiny graphs, the same must-not-fire
 * matcher, the int8 source files of MobileViT and MaxViT against PyTorch's logits, and only under
 * an explicit --target ort.
 *
 * Tolerance 1e-5 + 1e-4·|y| on the tiny graphs, as for every pass: the fused kernel sums the same
 * products in another order (float32 rounding, ~1e-7 relative here).
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { linear } from '../../src/builders/layers.js';
import type { Builder } from '../../src/graph/builder.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { contribAttention, contribMha } from '../../src/passes/contrib-attention.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { exportModel } from '../../src/pipeline.js';
import { INT8_SOURCE } from '../../src/quant/index.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { expectPreserved, initForTest, seeded, tinyBuilder } from '../helpers/graphs.js';
import { checkLogits, referenceCheckpoint, referenceInput } from '../helpers/reference.js';

const HEADS = 2, HD = 4, C = HEADS * HD, S = 3, N = 5;
const RULE = 'contrib-attention';

/** [S, N, C] → [S, heads, N, hd] (keys: [S, heads, hd, N]). */
function heads(b: Builder, t: Value, key = false, h = HEADS): Value {
  const [s, n, c] = t.shape as [number, number, number];
  return b.transpose(b.reshape(t, [s, n, h, c / h]), key ? [0, 2, 3, 1] : [0, 2, 1, 3]);
}

interface Opts { layout: 'qkv' | 'head-first' | 'separate'; bias: boolean; scale?: number; relPos?: 'heads' | 'shared'; qScale?: number }

/** softmax(s·q·kᵀ + B)·v, heads merged, then a proj Linear. */
function attention(b: Builder, x: Value, o: Opts): Value {
  let qh: Value, kt: Value, vh: Value;
  if (o.layout === 'qkv') {
    const [q, k, v] = b.split(linear(b.child('qkv'), x, 3 * C, o.bias), [C, C, C], 2) as [Value, Value, Value];
    [qh, kt, vh] = [heads(b, q), heads(b, k, true), heads(b, v)];
  } else if (o.layout === 'head-first') { // MaxViT _rw_: columns (heads, 3, hd)
    const [q, k, v] = b.split(b.reshape(linear(b.child('qkv'), x, 3 * C, o.bias), [S, N, HEADS, 3 * HD]), [HD, HD, HD], 3) as [Value, Value, Value];
    [qh, kt, vh] = [b.transpose(q, [0, 2, 1, 3]), b.transpose(k, [0, 2, 3, 1]), b.transpose(v, [0, 2, 1, 3])];
  } else {
    [qh, kt, vh] = [heads(b, linear(b.child('q'), x, C, o.bias)), heads(b, linear(b.child('k'), x, C, o.bias), true), heads(b, linear(b.child('v'), x, C, o.bias))];
  }
  if (o.qScale !== undefined) qh = b.mul(qh, b.scalar(o.qScale, 'q_scale'), 'q_scaled'); // timm's head_first: q * scale after the split
  let z = b.matmul(qh, kt, 'scores');
  if (o.scale !== undefined) z = b.mul(z, b.scalar(o.scale, 'scale'), 'scaled');
  if (o.relPos) z = b.add(z, b.constant('rel_pos', seeded(o.relPos === 'heads' ? [HEADS, N, N] : [N, N], 'rel')), 'biased');
  const ctx = b.reshape(b.transpose(b.matmul(b.softmax(z, -1), vh, 'context'), [0, 2, 1, 3]), [S, N, C]);
  return linear(b.child('proj'), ctx, C);
}

function build(body: (b: Builder, x: Value) => Value): Graph {
  const { b, x } = tinyBuilder([S, N, C]);
  b.g.outputs.push(body(b, x));
  initForTest(b.g);
  foldConstants.run(b.g);
  return b.g;
}

const ops = (g: Graph) => Object.fromEntries([...g.opHistogram()].filter(([, n]) => n > 0));

describe('contrib-attention', () => {
  const cases: [string, Opts][] = [
    ['fused qkv (3, heads, hd), bias, scale on the scores (MobileViT, EdgeViT)', { layout: 'qkv', bias: true, scale: HD ** -0.5 }],
    ['fused qkv (heads, 3, hd), relative position bias per head (MaxViT _rw_)', { layout: 'head-first', bias: true, relPos: 'heads' }],
    ['separate q/k/v Linears without bias, one bias for all heads', { layout: 'separate', bias: false, scale: 0.3, relPos: 'shared' }],
    ['(heads, 3, hd), q scaled after the head split (MaxViT _rw_ / _pm_)', { layout: 'head-first', bias: true, relPos: 'heads', qScale: HD ** -0.5 }],
    ['q scaled after the split and the scores scaled too: one factor', { layout: 'qkv', bias: true, qScale: 0.5, scale: 0.7 }],
  ];
  for (const [what, o] of cases) {
    it(`one Attention node, same outputs: ${what}`, async () => {
      const g = build((b, x) => attention(b, x, o));
      let counts: Record<string, number> = {};
      await expectPreserved(g, (g) => { counts = contribAttention.run(g, {}).counts; });
      expect(counts[RULE]).toBe(1);
      const h = ops(g);
      expect(h).toEqual({ Attention: 1, MatMul: 1, Add: 1 }); // + the proj Linear
      if (!o.bias) expect([...g.nodes].find((n) => n.op === 'Attention')!.inputs[2]!.constant!.toNumbers().every((x) => x === 0)).toBe(true);
      const att = [...g.nodes].find((n) => n.op === 'Attention')!;
      expect(att.domain).toBe('com.microsoft');
      expect(att.attrInt('num_heads')).toBe(HEADS);
      expect(att.attrFloat('scale')).toBeCloseTo((o.scale ?? 1) * (o.qScale ?? 1), 6);
      expect(contribAttention.run(g, {}).counts[RULE]).toBe(0);
    });
  }

  for (const [what, o] of cases) {
    it(`contrib-mha: one packed Linear + MultiHeadAttention, same outputs: ${what}`, async () => {
      const g = build((b, x) => attention(b, x, o));
      let counts: Record<string, number> = {};
      await expectPreserved(g, (g) => { counts = contribMha.run(g, {}).counts; });
      expect(counts['contrib-mha']).toBe(1);
      // packed q/k/v Linear (MatMul [+ Add]) + Split + MultiHeadAttention, + the proj Linear
      expect(ops(g)).toEqual({ MultiHeadAttention: 1, Split: 1, MatMul: 2, Add: o.bias ? 2 : 1 });
      const mha = [...g.nodes].find((n) => n.op === 'MultiHeadAttention')!;
      expect(mha.domain).toBe('com.microsoft');
      expect(mha.attrInt('num_heads')).toBe(HEADS);
      expect(mha.attrFloat('scale')).toBeCloseTo((o.scale ?? 1) * (o.qScale ?? 1), 6);
      expect(mha.inputs[5] !== undefined && mha.inputs[5] !== null).toBe(o.relPos !== undefined);
      expect(contribMha.run(g, {}).counts['contrib-mha']).toBe(0);
    });
  }
  it('contrib-mha does not fire where contrib-attention does not (cross attention)', () => {
    const g = build((b, x) => {
      const y = b.input('y', { dtype: 'float32', shape: [S, N, C] });
      const q = heads(b, linear(b.child('q'), x, C)), k = heads(b, linear(b.child('k'), y, C), true), v = heads(b, linear(b.child('v'), y, C));
      return b.matmul(b.softmax(b.matmul(q, k), -1), v);
    });
    const explain = new Map<string, string>();
    expect(contribMha.run(g, { explain }).counts['contrib-mha']).toBe(0);
    expect([...explain.entries()].filter(([k]) => k.startsWith('contrib-mha')).map(([, v]) => v).join(' | ')).toMatch(/different inputs/);
    expect(g.opHistogram().get('MultiHeadAttention')).toBeUndefined();
  });

  function rejects(body: (b: Builder, x: Value) => Value, reason: RegExp): void {
    const g = build(body);
    const explain = new Map<string, string>();
    expect(contribAttention.run(g, { explain }).counts[RULE]).toBe(0);
    expect(g.opHistogram().get('Attention')).toBeUndefined();
    expect([...explain.entries()].filter(([k]) => k.startsWith(RULE)).map(([, v]) => v).join(' | ')).toMatch(reason);
    verifyGraph(g);
  }

  const qkv = (b: Builder, x: Value) => b.split(linear(b.child('qkv'), x, 3 * C), [C, C, C], 2) as [Value, Value, Value];
  it('does not fire for a softmax over another axis', () => {
    rejects((b, x) => { const [q, k, v] = qkv(b, x); return b.matmul(b.softmax(b.matmul(heads(b, q), heads(b, k, true)), 2), heads(b, v)); }, /last axis/);
  });
  it('does not fire for a per-head scale', () => {
    rejects((b, x) => {
      const [q, k, v] = qkv(b, x);
      return b.matmul(b.softmax(b.mul(b.matmul(heads(b, q), heads(b, k, true)), b.constant('s', seeded([1, HEADS, 1, 1], 's'))), -1), heads(b, v));
    }, /non-scalar/);
  });
  it('does not fire for cross attention (keys and values from another input)', () => {
    rejects((b, x) => {
      const y = b.input('y', { dtype: 'float32', shape: [S, N, C] });
      const q = heads(b, linear(b.child('q'), x, C)), k = heads(b, linear(b.child('k'), y, C), true), v = heads(b, linear(b.child('v'), y, C));
      return b.matmul(b.softmax(b.matmul(q, k), -1), v);
    }, /different inputs/);
  });
  it('does not fire when the probabilities are also an output', () => {
    rejects((b, x) => {
      const [q, k, v] = qkv(b, x);
      const p = b.softmax(b.matmul(heads(b, q), heads(b, k, true)), -1);
      b.g.outputs.push(p);
      return b.matmul(p, heads(b, v));
    }, /other uses/);
  });
  it('does not fire for values scaled after the split (not a factor of the scores)', () => {
    rejects((b, x) => {
      const [q, k, v] = qkv(b, x);
      return b.matmul(b.softmax(b.matmul(heads(b, q), heads(b, k, true)), -1), b.mul(heads(b, v), b.scalar(0.5, 'v_scale')));
    }, /v: .*not a Linear/);
  });
  it('does not fire for a score bias that broadcasts over the keys', () => {
    rejects((b, x) => {
      const [q, k, v] = qkv(b, x);
      return b.matmul(b.softmax(b.add(b.matmul(heads(b, q), heads(b, k, true)), b.constant('m', seeded([N, 1], 'm'))), -1), heads(b, v));
    }, /not \[1\|S, 1\|H, N, N\]/);
  });
  it('does not fire for a head split that mixes tokens (Reshape to [S, heads, N, hd] without the Transpose)', () => {
    rejects((b, x) => {
      const [q, k, v] = qkv(b, x);
      return b.matmul(b.softmax(b.matmul(b.reshape(q, [S, HEADS, N, HD]), heads(b, k, true)), -1), heads(b, v));
    }, /moves tokens between rows/);
  });

  const models = ['mobilevit_xxs', 'edgevit_xxs', 'maxvit_tiny_tf_224', 'maxvit_nano_rw_256', 'maxvit_rmlp_pico_rw_256'];
  it.each(models)('%s: every attention fused under --target ort, PyTorch reference logits kept', async (model) => {
    const checkpoint = referenceCheckpoint(model);
    const plain = exportModel(model, { checkpoint });
    const ort = exportModel(model, { checkpoint, target: 'ort' });
    const softmaxes = plain.nodesAfter.get('Softmax')!;
    expect(softmaxes).toBeGreaterThan(0);
    expect(ort.nodesAfter.get('Attention')).toBe(softmaxes);
    expect(ort.nodesAfter.get('Softmax')).toBeUndefined();
    expect(ort.nodesAfter.get('Transpose')!).toBeLessThan(plain.nodesAfter.get('Transpose')!);
    const x = referenceInput(model);
    const feeds = { input: { dtype: 'float32' as const, dims: x.dims, data: x.data } };
    const a = (await runOnnx(plain.bytes, feeds))['logits']!.data as Float32Array;
    const b = (await runOnnx(ort.bytes, feeds))['logits']!.data as Float32Array;
    const check = checkLogits(model, b);
    expect(check.pass, `max |Δ| ${check.maxAbsDiff} > ${check.tolerance}`).toBe(true);
    const amax = Math.max(...a.map(Math.abs));
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-5 * amax));
    if (model === 'mobilevit_xxs') expect(Buffer.compare(Buffer.from(exportModel(model, { checkpoint, target: 'ort' }).bytes), Buffer.from(ort.bytes))).toBe(0);
  }, 120_000);

  it.each(['mobilevit_xxs', 'maxvit_tiny_tf_224'])('%s: the int8 source file (contribAttention \'mha\'): every attention a MultiHeadAttention, projections still MatMuls, PyTorch reference logits kept', async (model) => {
    const checkpoint = referenceCheckpoint(model);
    const plain = exportModel(model, { checkpoint });
    const src = exportModel(model, { checkpoint, target: 'ort', ...INT8_SOURCE });
    const softmaxes = plain.nodesAfter.get('Softmax')!;
    expect(src.nodesAfter.get('MultiHeadAttention')).toBe(softmaxes);
    expect(src.nodesAfter.get('Attention')).toBeUndefined();
    expect(src.nodesAfter.get('Softmax')).toBeUndefined();
    // one packed q/k/v MatMul per attention (MobileViT / MaxViT have no bias-less projection)
    expect(src.nodesAfter.get('MatMul')).toBe(plain.nodesAfter.get('MatMul')! - 2 * softmaxes);
    const x = referenceInput(model);
    const feeds = { input: { dtype: 'float32' as const, dims: x.dims, data: x.data } };
    const a = (await runOnnx(plain.bytes, feeds))['logits']!.data as Float32Array;
    const b = (await runOnnx(src.bytes, feeds))['logits']!.data as Float32Array;
    const check = checkLogits(model, b);
    expect(check.pass, `max |Δ| ${check.maxAbsDiff} > ${check.tolerance}`).toBe(true);
    const amax = Math.max(...a.map(Math.abs));
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-5 * amax));
    if (model === 'mobilevit_xxs') expect(Buffer.compare(Buffer.from(exportModel(model, { checkpoint, target: 'ort', ...INT8_SOURCE }).bytes), Buffer.from(src.bytes))).toBe(0);
  }, 120_000);

  it('must not fire without an explicit --target ort, with fp16, for another target, for int8 or a dynamic batch', () => {
    const has = (r: ReturnType<typeof exportModel>) => [...r.graph.nodes].some((n) => n.op === 'Attention');
    expect(has(exportModel('mobilevit_xxs'))).toBe(false);
    expect(has(exportModel('mobilevit_xxs', { target: 'ort', dtype: 'fp16' }))).toBe(false);
    expect(has(exportModel('mobilevit_xxs', { target: 'web' }))).toBe(false);
    expect(has(exportModel('mobilevit_xxs', { target: 'ort', contribAttention: false }))).toBe(false); // the int8 export's
    expect(has(exportModel('mobilevit_xxs', { target: 'ort', batch: 'dynamic' }))).toBe(false); // symbolic S: not traced
    expect(has(exportModel('mobilevit_xxs', { target: 'ort', opset: 20 }))).toBe(true);
    const mha = (r: ReturnType<typeof exportModel>) => [...r.graph.nodes].some((n) => n.op === 'MultiHeadAttention');
    expect(mha(exportModel('mobilevit_xxs', { target: 'ort' }))).toBe(false); // the float --target ort file: Attention
    expect(mha(exportModel('mobilevit_xxs', { ...INT8_SOURCE }))).toBe(false); // no explicit target
    expect(mha(exportModel('mobilevit_xxs', { target: 'web', ...INT8_SOURCE }))).toBe(false);
    expect(mha(exportModel('mobilevit_xxs', { target: 'tensorrt', ...INT8_SOURCE }))).toBe(false);
    expect(mha(exportModel('mobilevit_xxs', { target: 'ort', dtype: 'fp16', ...INT8_SOURCE }))).toBe(false);
  }, 60_000);
});
