import { describe, expect, it } from 'vitest';
import { batchNorm, conv2d, layerNorm, linear, toTokens } from '../../src/builders/layers.js';
import { Builder } from '../../src/graph/builder.js';
import { printGraph } from '../../src/graph/print.js';
import { legalize } from '../../src/onnx/legalize.js';
import { OnnxParseError, parseOnnx } from '../../src/onnx/parse.js';
import { onnx } from '../../src/onnx/proto.js';
import { serialize } from '../../src/onnx/serialize.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { initDeterministic } from '../../src/weights/load.js';
import { expectClose, seeded } from '../helpers/graphs.js';
import { needs } from '../helpers/prerequisites.js';

function model(batch: number | 'N' = 1) {
  const b = Builder.create('m');
  const x = b.input('input', { dtype: 'float32', shape: [batch, 3, 8, 8] });
  let y = conv2d(b.child('stem'), x, { out: 8, k: 3, stride: 2, pad: [0, 0, 1, 1] });
  y = b.gelu(batchNorm(b.child('bn'), y), 'tanh');
  const t = layerNorm(b.child('ln'), toTokens(b, y), 1e-6);
  const o = linear(b.child('fc'), b.gelu(t), 5);
  b.g.outputs.push(o);
  b.g.metadata.set('vitx.model', 'test');
  initDeterministic(b.g);
  return b.g;
}

describe('ONNX writer and reader', () => {
  it('writes byte-identical files for identical graphs', () => {
    expect(Buffer.from(serialize(model(), { opset: 20 })).equals(Buffer.from(serialize(model(), { opset: 20 })))).toBe(true);
  });

  it('parse → write reproduces the bytes (static and symbolic batch)', () => {
    for (const batch of [1, 'N'] as const) {
      const bytes = serialize(model(batch), { opset: 20 });
      const parsed = parseOnnx(bytes);
      expect(parsed.opset).toBe(20);
      expect(Buffer.from(serialize(parsed.graph, { opset: 20 })).equals(Buffer.from(bytes))).toBe(true);
      expect(printGraph(parsed.graph)).toBe(printGraph(parseOnnx(bytes).graph));
    }
  });

  it('writes every Conv attribute explicitly, value_info, metadata and names from scopes', () => {
    const m = onnx.ModelProto.decode(serialize(model(), { opset: 17 }));
    const conv = m.graph!.node!.find((n) => n.opType === 'Conv')!;
    expect(conv.name).toBe('stem');
    expect(conv.attribute!.map((a) => a.name).sort()).toEqual(['dilations', 'group', 'kernel_shape', 'pads', 'strides']);
    expect(m.graph!.valueInfo!.length).toBe(m.graph!.node!.length - 1);
    expect(m.metadataProps!.map((p) => [p.key, p.value])).toEqual([['vitx.model', 'test']]);
    expect(m.graph!.initializer!.map((t) => t.name)).toContain('stem.weight');
  });

  it('rejects malformed bytes and dangling references with a one-line error', () => {
    expect(() => parseOnnx(new Uint8Array([8, 255, 255, 255, 255, 255, 255]))).toThrow(OnnxParseError);
    const m = onnx.ModelProto.decode(serialize(model(), { opset: 17 }));
    m.graph!.node![1]!.input![0] = 'nowhere';
    expect(() => parseOnnx(onnx.ModelProto.encode(m).finish())).toThrow(/reads nowhere, which is not defined/);
  });

  it('lowers Gelu / LayerNormalization by opset without changing results', async () => {
    const x = seeded([1, 3, 8, 8], 'in');
    const feeds = { input: { dtype: 'float32' as const, dims: [1, 3, 8, 8], data: x.data as Float32Array } };
    const results: Float32Array[] = [];
    for (const opset of [13, 17, 20]) {
      const g = model();
      legalize(g, opset);
      const ops = new Set([...g.nodes].map((n) => n.op));
      expect(ops.has('Gelu')).toBe(opset >= 20);
      expect(ops.has('LayerNormalization')).toBe(opset >= 17);
      results.push(Object.values(await runOnnx(serialize(g, { opset }), feeds))[0]!.data as Float32Array);
    }
    expectClose(results[0]!, results[2]!, 1e-5, 1e-4);
    expectClose(results[1]!, results[2]!, 1e-5, 1e-4);
  });
});

describe('ONNX checker', () => {
  it('accepts what vitx writes at opsets 13 and 17 (checker version supports ≤ 17)', async (ctx) => {
    needs(ctx, 'python3-onnx');
    const { onnxCheck } = await import('../helpers/checker.js');
    for (const opset of [13, 17]) {
      const g = model('N');
      legalize(g, opset);
      expect(onnxCheck(serialize(g, { opset }))).toBe(`ok ${opset}`);
    }
  });
});
