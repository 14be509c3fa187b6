/**
 * Opset legalization over vitx's whole op set: the every-op graph written at each opset 13…21 runs
 * on onnxruntime with the same results (atol 1e-5, rtol 1e-4 against opset 21), each op appears in
 * the form its opset defines, the ONNX checker accepts the files (13…17: python3-onnx 1.12 knows opsets
 * up to 17), and impossible combinations are an OpsetError.
 */
import { describe, expect, it } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import { attr, type Graph } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { legalize, MAX_OPSET, MIN_OPSET, OpsetError } from '../../src/onnx/legalize.js';
import { onnx, type OnnxNs, toNum } from '../../src/onnx/proto.js';
import { serialize } from '../../src/onnx/serialize.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { everyOpGraph } from '../helpers/every-op.js';
import { expectClose, seeded } from '../helpers/graphs.js';
import { onnxCheck } from '../helpers/checker.js';
import { needs } from '../helpers/prerequisites.js';

const OPSETS = [...Array(MAX_OPSET - MIN_OPSET + 1).keys()].map((i) => MIN_OPSET + i);

function write(opset: number, batch: number | 'N' = 2): { g: Graph; bytes: Uint8Array; model: OnnxNs.ModelProto } {
  const g = everyOpGraph(batch);
  legalize(g, opset);
  verifyGraph(g);
  const bytes = serialize(g, { opset });
  return { g, bytes, model: onnx.ModelProto.decode(bytes) };
}

const nodesOf = (m: OnnxNs.ModelProto, op: string) => m.graph!.node!.filter((n) => n.opType === op);
const attrNames = (n: OnnxNs.INodeProto) => (n.attribute ?? []).map((a) => a.name).sort();

async function run(bytes: Uint8Array, batch = 2): Promise<Float32Array[]> {
  const x = seeded([batch, 4, 8, 8], 'opset-input');
  const out = await runOnnx(bytes, { input: { dtype: 'float32', dims: [batch, 4, 8, 8], data: x.data as Float32Array } });
  return [out['logits']!.data as Float32Array, out['stats']!.data as Float32Array];
}

describe('opsets 13…21 over every op vitx emits', () => {
  it('give the same results on onnxruntime at every opset', async () => {
    const ref = await run(write(MAX_OPSET).bytes);
    for (const opset of OPSETS) {
      const got = await run(write(opset).bytes);
      got.forEach((o, i) => expectClose(o, ref[i]!, 1e-5, 1e-4));
    }
  });

  it('write each op in the form its opset defines', () => {
    for (const opset of OPSETS) {
      const { model: m } = write(opset);
      expect(nodesOf(m, 'Gelu').length).toBe(opset >= 20 ? 2 : 0);
      expect(nodesOf(m, 'LayerNormalization').length).toBe(opset >= 17 ? 1 : 0);
      for (const op of ['ReduceMean', 'ReduceMax']) {
        for (const n of nodesOf(m, op)) {
          expect(n.input!.length, `${op} at ${opset}`).toBe(opset >= 18 ? 2 : 1);
          expect(attrNames(n).includes('axes')).toBe(opset < 18);
        }
      }
      for (const op of ['ReduceSum', 'Squeeze', 'Unsqueeze']) {
        for (const n of nodesOf(m, op)) { expect(n.input!.length).toBe(2); expect(attrNames(n)).not.toContain('axes'); }
      }
      const split = nodesOf(m, 'Split')[0]!;
      expect(split.input!.length).toBe(2);
      const pad = nodesOf(m, 'Pad')[0]!;
      expect(pad.input!.length).toBe(opset >= 18 ? 4 : 3);
      expect(attrNames(nodesOf(m, 'AveragePool')[0]!).includes('dilations')).toBe(opset >= 19);
      expect(toNum(m.opsetImport![0]!.version)).toBe(opset);
    }
  });

  it('pass the ONNX checker (opsets 13…17)', (ctx) => {
    needs(ctx, 'python3-onnx');
    for (const opset of [13, 14, 15, 16, 17]) expect(onnxCheck(write(opset, 'N').bytes)).toBe(`ok ${opset}`);
  });

  it('keep names of nodes rewritten in place', () => {
    const before = new Set([...everyOpGraph().nodes].map((n) => n.name));
    const { g } = write(18);
    const rm = [...g.nodes].filter((n) => n.op === 'ReduceMean' || n.op === 'Pad');
    expect(rm.every((n) => before.has(n.name))).toBe(true);
  });
});

describe('unsupported combinations are an OpsetError', () => {
  const one = (op: string, attrs: Record<string, ReturnType<typeof attr.int>>, extra: (b: Builder) => (ReturnType<Builder['ints']> | null)[] = () => []) => {
    const b = Builder.create('bad');
    const x = b.input('x', { dtype: 'float32', shape: [1, 2, 8, 8] });
    b.g.outputs.push(b.op(op, [x, ...extra(b)], attrs));
    return b.g;
  };

  it('rejects opsets outside 13…21', () => {
    expect(() => legalize(everyOpGraph(), 12)).toThrow(/opset 12 is not supported \(vitx writes opsets 13…21\)/);
    expect(() => legalize(everyOpGraph(), 22)).toThrow(OpsetError);
  });

  it('AveragePool dilations ≠ 1 below 19, Resize antialias below 18, Pad wrap below 19, GroupNormalization below 21', () => {
    const pool = () => one('AveragePool', { kernel_shape: attr.ints([2, 2]), strides: attr.ints([1, 1]), dilations: attr.ints([2, 2]) });
    expect(() => legalize(pool(), 18)).toThrow(/AveragePool .*dilations other than 1 need opset ≥ 19/);
    expect(() => legalize(pool(), 19)).not.toThrow();
    const resize = () => one('Resize', { mode: attr.string('linear'), antialias: attr.int(1) }, (b) => [null, b.constant('scales', Tensor.f32([4], [1, 1, 2, 2]))]);
    expect(() => legalize(resize(), 17)).toThrow(/antialias needs opset ≥ 18/);
    expect(() => legalize(resize(), 18)).not.toThrow();
    const wrap = () => one('Pad', { mode: attr.string('wrap') }, (b) => [b.ints([0, 0, 1, 1, 0, 0, 1, 1], 'pads')]);
    expect(() => legalize(wrap(), 18)).toThrow(/mode 'wrap' needs opset ≥ 19/);
  });

  it('ReduceMean with computed axes cannot be written below 18', () => {
    const b = Builder.create('bad');
    const x = b.input('x', { dtype: 'float32', shape: [1, 2, 8, 8] });
    const axes = b.input('axes', { dtype: 'int64', shape: [1] });
    const n = b.g.addNode('ReduceMean', [x, axes], [{ dtype: 'float32', shape: [1, 2, 8, 8] }], { name: 'rm', attrs: { keepdims: attr.int(1) } });
    b.g.outputs.push(n.output);
    expect(() => legalize(b.g, 17)).toThrow(/ReduceMean rm: axes must be a constant to write opset 17/);
  });
});
