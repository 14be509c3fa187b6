/**
 * MACs do not depend on the form a file takes: the standard-op float file, the `--target ort` file
 * (com.microsoft.Attention), the int8 file (QDQ, com.microsoft.MultiHeadAttention score path) and
 * onnxruntime's own optimized rewrite of the int8 file (QLinearConv, QGemm, MultiHeadAttention, its
 * output dims unknown) all give the same total. The oracle is the standard-op file, whose score-path
 * MatMuls the plain MatMul rule counts, and onnxruntime's rewrite, which vitx did not write (and
 * the int8 file reports the float file's parameters, not only its float scales). Plus
 * hand-computed small cases for every contrib / quantized form the registry counts.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { attr, Graph, type Value, type ValueType } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { countMacs, nodeMacs } from '../../src/inspect/index.js';
import { loadOrt } from '../../src/runtime/ort.js';
import { ROOT, tempDir, vitx } from '../helpers/cli.js';

const CALIBRATION = join(ROOT, 'fixtures', 'images', 'calibration');
let dir: string;

interface Counted { macs: number; macsByOp: Record<string, number>; ops: Record<string, number>; params: number }

function macsOf(file: string): Counted {
  const r = vitx(['inspect', file, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Counted;
}

async function ortOptimized(file: string): Promise<string> {
  const out = file.replace(/\.onnx$/, '.ort-extended.onnx');
  const ort = await loadOrt();
  const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'extended', optimizedModelFilePath: out, logSeverityLevel: 3 });
  await s.release();
  return out;
}

beforeAll(() => { dir = tempDir('vitx-macs-forms-'); });

describe('MACs are the same in every form of a model', () => {
  it.each(['mobilevit_xxs', 'edgevit_xxs'])('%s: float, --target ort, int8 and onnxruntime-optimized int8', async (model) => {
    const file = (name: string, args: string[]) => {
      const out = join(dir, `${model}.${name}.onnx`);
      const r = vitx(['export', model, ...args, '-o', out, '-q']);
      expect(r.code, r.stderr).toBe(0);
      return out;
    };
    const float = macsOf(file('fp32', []));
    expect(float.ops['MultiHeadAttention'] ?? 0).toBe(0);
    expect(float.ops['MatMul']).toBeGreaterThan(0); // the score path as standard MatMuls: counted by the MatMul rule
    const ortFile = macsOf(file('ort', ['--target', 'ort']));
    expect(ortFile.ops['Attention']).toBeGreaterThan(0);
    const int8Path = file('int8', ['--dtype', 'int8', '--calibration', CALIBRATION, '--force']);
    const int8 = macsOf(int8Path);
    expect(int8.ops['MultiHeadAttention']).toBeGreaterThan(0);
    const rewritten = macsOf(await ortOptimized(int8Path));
    expect(rewritten.ops['QLinearConv']).toBeGreaterThan(0);
    expect(rewritten.ops['QGemm']).toBeGreaterThan(0);
    // `--target ort` (and the int8 source) rewrites EdgeViT's LocalProp, a depthwise ConvTranspose with
    // kernel = stride, into a broadcast Mul + Add (passes/depthwise-upsample.ts): elementwise, so not
    // counted. Everything else must agree exactly.
    const rewrittenAway = ortFile.ops['ConvTranspose'] ? 0 : float.macsByOp['ConvTranspose'] ?? 0;
    const want = float.macs - rewrittenAway;
    expect([ortFile.macs, int8.macs, rewritten.macs]).toEqual([want, want, want]);
    // parameters likewise: the int8 weights and biases count, their scales and zero points do not
    // (the float source of the int8 file is the --target ort form: its GELU is one node, whose
    // decomposed form's scalar constants the plain file counts as initializers)
    expect(int8.params).toBe(ortFile.params);
  }, 240_000);

  it('mobilevit_xxs int8 counts its attention: 407.36 M as the README table says, not 329 M', () => {
    const m = macsOf(join(dir, 'mobilevit_xxs.int8.onnx'));
    expect((m.macs / 1e6).toFixed(2)).toBe('407.36');
  });
});

// ---------------------------------------------------------------- hand-computed cases

const f32 = (shape: (number | string)[]): ValueType => ({ dtype: 'float32', shape });
const u8 = (shape: (number | string)[]): ValueType => ({ dtype: 'uint8', shape });

function graphWith(inputs: [string, ValueType][]): { g: Graph; v: Value[] } {
  const g = new Graph('t');
  return { g, v: inputs.map(([n, t]) => g.addInput(n, t)) };
}

describe('MultiHeadAttention MACs', () => {
  // q [2, 5, 8], k [2, 7, 8], v [2, 7, 6], 2 heads: per head q·kᵀ 5·7·4 and p·v 5·7·3, per batch item
  const HAND = 2 * (2 * (5 * 7 * 4) + 2 * (5 * 7 * 3));

  it('separate q, k, v: B·S·L·(Dq + Dv), by hand and as the standard-op MatMuls count it', () => {
    const { g, v: [q, k, val] } = graphWith([['q', f32([2, 5, 8])], ['k', f32([2, 7, 8])], ['v', f32([2, 7, 6])]]);
    const n = g.addNode('MultiHeadAttention', [q!, k!, val!], [f32([2, 5, 6])], { name: 'mha', domain: 'com.microsoft', attrs: { num_heads: attr.int(2) } });
    expect(nodeMacs(n)).toBe(HAND);
    // the same attention as standard ops: [B, H, S, d] × [B, H, d, L] and [B, H, S, L] × [B, H, L, d_v]
    const s = new Graph('s');
    const qh = s.addInput('qh', f32([2, 2, 5, 4])), kt = s.addInput('kt', f32([2, 2, 4, 7])), vh = s.addInput('vh', f32([2, 2, 7, 3]));
    const scores = s.addNode('MatMul', [qh, kt], [f32([2, 2, 5, 7])], { name: 'qk' }).output;
    s.addNode('MatMul', [scores, vh], [f32([2, 2, 5, 3])], { name: 'pv' });
    expect(countMacs(s).total).toBe(HAND);
  });

  it('packed q/k/v, BNSH keys and values, past keys, unknown output dims', () => {
    const { g, v: [packed, q, kb, vb, past] } = graphWith([
      ['packed', f32([2, 5, 2, 3, 4])], ['q', f32([2, 5, 8])], ['kb', f32([2, 2, 7, 4])], ['vb', f32([2, 2, 7, 3])], ['past', f32([2, 2, 4, 4])],
    ]);
    const mha = (ins: (Value | null)[], out: (number | string)[]) => g.addNode('MultiHeadAttention', ins, [f32(out)], { name: 'mha', domain: 'com.microsoft', attrs: { num_heads: attr.int(2) } });
    expect(nodeMacs(mha([packed!], [2, 5, 8]))).toBe(2 * 5 * 5 * (8 + 8)); // keys are the 5 query tokens
    expect(nodeMacs(mha([q!, kb!, vb!], ['?y:0', '?y:1', '?y:2']))).toBe(HAND); // d_v from v [B, N, L, H_v]
    const withPast = [q!, kb!, vb!, null, null, null, past!];
    expect(nodeMacs(mha(withPast, [2, 5, 6]))).toBe(2 * 5 * (7 + 4) * (8 + 6));
  });
});

describe('quantized and fused forms count what their float op counts', () => {
  const ATTRS = { group: attr.int(2), pads: attr.ints([1, 1, 1, 1]), kernel_shape: attr.ints([3, 3]) };
  const scalar = (g: Graph, name: string) => g.addInitializer(name, Tensor.f32([], [1]));

  it('QLinearConv, ConvInteger, FusedConv = Conv: |y|·C_in/g·k² (output dims unknown: from the Conv rule)', () => {
    const { g, v: [x, w] } = graphWith([['x', u8([1, 4, 8, 8])], ['w', u8([6, 2, 3, 3])]]);
    const HAND = 6 * 8 * 8 * 2 * 9;
    const xf = g.addInput('xf', f32([1, 4, 8, 8])), wf = g.addInitializer('wf', new Tensor('float32', [6, 2, 3, 3]));
    expect(nodeMacs(g.addNode('Conv', [xf, wf], [f32([1, 6, 8, 8])], { name: 'conv', attrs: ATTRS }))).toBe(HAND);
    const s = scalar(g, 's');
    const unknown = u8(['?a:0', '?a:1', '?a:2', '?a:3']);
    expect(nodeMacs(g.addNode('QLinearConv', [x!, s, s, w!, s, s, s, s], [unknown], { name: 'qc', attrs: ATTRS }))).toBe(HAND);
    expect(nodeMacs(g.addNode('QLinearConv', [x!, s, s, w!, s, s, s, s], [u8([1, 6, 8, 8])], { name: 'qc', attrs: ATTRS }))).toBe(HAND);
    expect(nodeMacs(g.addNode('ConvInteger', [x!, w!], [{ dtype: 'int32', shape: [1, 6, 8, 8] }], { name: 'ci', attrs: ATTRS }))).toBe(HAND);
    expect(nodeMacs(g.addNode('FusedConv', [xf, wf], [f32(['?f:0', '?f:1', '?f:2', '?f:3'])], { name: 'fc', domain: 'com.microsoft', attrs: ATTRS }))).toBe(HAND);
  });

  it('QLinearMatMul, MatMulInteger, FusedMatMul = MatMul: |y|·K', () => {
    const { g, v: [a, b, at] } = graphWith([['a', u8([2, 3, 5])], ['b', u8([5, 4])], ['at', f32([2, 5, 3])]]);
    const HAND = 2 * 3 * 4 * 5;
    const s = scalar(g, 's');
    expect(nodeMacs(g.addNode('QLinearMatMul', [a!, s, s, b!, s, s, s, s], [u8(['?m:0', '?m:1', '?m:2'])], { name: 'qm' }))).toBe(HAND);
    expect(nodeMacs(g.addNode('MatMulInteger', [a!, b!], [{ dtype: 'int32', shape: [2, 3, 4] }], { name: 'mi' }))).toBe(HAND);
    const bf = g.addInput('bf', f32([5, 4]));
    expect(nodeMacs(g.addNode('FusedMatMul', [at!, bf], [f32([2, 3, 4])], { name: 'fm', domain: 'com.microsoft', attrs: { transA: attr.int(1) } }))).toBe(HAND);
  });

  it('QGemm, FusedGemm = Gemm: M·N·K (transA honoured)', () => {
    const { g, v: [a, b] } = graphWith([['a', u8([5, 3])], ['b', u8([4, 5])]]);
    const HAND = 3 * 4 * 5;
    const s = scalar(g, 's');
    const trans = { transA: attr.int(1), transB: attr.int(1) };
    expect(nodeMacs(g.addNode('QGemm', [a!, s, s, b!, s, s, null, s, s], [u8(['?g:0', '?g:1'])], { name: 'qg', domain: 'com.microsoft', attrs: trans }))).toBe(HAND);
    const af = g.addInput('af', f32([5, 3])), bf = g.addInput('bf', f32([4, 5]));
    expect(nodeMacs(g.addNode('FusedGemm', [af, bf], [f32([3, 4])], { name: 'fg', domain: 'com.microsoft', attrs: trans }))).toBe(HAND);
    expect(nodeMacs(g.addNode('Gemm', [af, bf], [f32([3, 4])], { name: 'gm', attrs: trans }))).toBe(HAND);
  });

  it('elementwise contrib ops (Gelu, FastGelu) and Q/DQ count 0, as their standard forms', () => {
    const { g, v: [x] } = graphWith([['x', f32([2, 8])]]);
    for (const op of ['Gelu', 'FastGelu']) expect(nodeMacs(g.addNode(op, [x!], [f32([2, 8])], { name: op, domain: 'com.microsoft' }))).toBe(0);
    const s = scalar(g, 'sc');
    expect(nodeMacs(g.addNode('QuantizeLinear', [x!, s], [u8([2, 8])], { name: 'q' }))).toBe(0);
  });
});
