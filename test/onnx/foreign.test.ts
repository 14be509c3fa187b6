/**
 * What exporters write and vitx's reader must take (issue 12): Constant nodes in every value_*
 * form, Shape → Gather → Unsqueeze → Concat → Reshape chains with no value_info (folded when the
 * shapes are static, kept when symbolic), INT64_MAX slice ends. Oracle: onnxruntime running the
 * original file.
 */
import { describe, expect, it } from 'vitest';
import { parseOnnx } from '../../src/onnx/parse.js';
import { onnx, type OnnxNs } from '../../src/onnx/proto.js';
import { serialize } from '../../src/onnx/serialize.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { runOnnx } from '../../src/runtime/ort.js';

const A = onnx.AttributeProto.AttributeType;
const FLOAT = 1, INT64 = 7;

function model(nodes: OnnxNs.INodeProto[], input: [string, (number | string)[]], output: string, inits: OnnxNs.ITensorProto[] = []): Uint8Array {
  const dims = (s: (number | string)[]) => ({ dim: s.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) });
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject({
    irVersion: 8, producerName: 'test', opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'g', node: nodes, initializer: inits,
      input: [{ name: input[0], type: { tensorType: { elemType: FLOAT, shape: dims(input[1]) } } }],
      output: [{ name: output, type: { tensorType: { elemType: FLOAT } } }], // no shape: inferred
    },
  })).finish();
}

const node = (op: string, input: string[], output: string[], attribute: OnnxNs.IAttributeProto[] = []): OnnxNs.INodeProto => ({ opType: op, name: output[0], input, output, attribute });
const i64Tensor = (v: number[], dims = [v.length]): OnnxNs.ITensorProto => ({ dataType: INT64, dims, int64Data: v });

/** x[N,C,H,W] → reshape to [N, C·H·W] via Shape → Gather(0) → Unsqueeze → Concat(-1). */
function flattenChain(): OnnxNs.INodeProto[] {
  return [
    node('Shape', ['x'], ['s']),
    node('Constant', [], ['zero'], [{ name: 'value', type: A.TENSOR, t: i64Tensor([0], []) }]),
    node('Gather', ['s', 'zero'], ['n'], [{ name: 'axis', type: A.INT, i: 0 }]),
    node('Constant', [], ['ax'], [{ name: 'value_ints', type: A.INTS, ints: [0] }]),
    node('Unsqueeze', ['n', 'ax'], ['n1']),
    node('Constant', [], ['rest'], [{ name: 'value_ints', type: A.INTS, ints: [-1] }]),
    node('Concat', ['n1', 'rest'], ['shape'], [{ name: 'axis', type: A.INT, i: 0 }]),
    node('Reshape', ['x', 'shape'], ['y']),
  ];
}

const feeds = (n: number) => ({ x: { dtype: 'float32' as const, dims: [n, 2, 3, 4], data: Float32Array.from({ length: n * 24 }, (_, i) => i / 7) } });

describe('foreign ONNX files', () => {
  it('Constant nodes in every value_* form are read with their types', () => {
    const consts: [string, OnnxNs.IAttributeProto, string][] = [
      ['c_value', { name: 'value', type: A.TENSOR, t: { dataType: FLOAT, dims: [2], floatData: [1, 2] } }, 'float32[2]'],
      ['c_float', { name: 'value_float', type: A.FLOAT, f: 0.5 }, 'float32[]'],
      ['c_floats', { name: 'value_floats', type: A.FLOATS, floats: [1, 2, 3] }, 'float32[3]'],
      ['c_int', { name: 'value_int', type: A.INT, i: 7 }, 'int64[]'],
      ['c_ints', { name: 'value_ints', type: A.INTS, ints: [1, 2, 3, 4] }, 'int64[4]'],
    ];
    const nodes = consts.map(([name, a]) => node('Constant', [], [name], [a]));
    const p = parseOnnx(model([...nodes, node('Identity', ['x'], ['y'])], ['x', [1]], 'y'));
    for (const [name, , type] of consts) {
      const v = p.graph.value(name)!;
      expect(`${v.dtype}[${v.shape}]`, name).toBe(type);
    }
  });

  it('a static Shape → Gather → Unsqueeze → Concat chain is inferred and folds away', async () => {
    const bytes = model(flattenChain(), ['x', [2, 2, 3, 4]], 'y');
    const p = parseOnnx(bytes);
    expect(p.graph.value('y')!.shape).toEqual([2, 24]);
    foldConstants.run(p.graph);
    expect([...p.graph.opHistogram().keys()]).toEqual(['Reshape']);
    const [want, got] = [await runOnnx(bytes, feeds(2)), await runOnnx(serialize(p.graph, { opset: 17 }), feeds(2))];
    expect(got['y']!.dims).toEqual([2, 24]);
    expect(Array.from(got['y']!.data as Float32Array)).toEqual(Array.from(want['y']!.data as Float32Array));
  });

  it('the same chain over a symbolic batch is kept, and the file still runs after a round trip', async () => {
    const bytes = model(flattenChain(), ['x', ['N', 2, 3, 4]], 'y');
    const p = parseOnnx(bytes);
    expect(p.graph.value('y')!.shape.length).toBe(2);
    foldConstants.run(p.graph);
    const ops = p.graph.opHistogram();
    expect(ops.get('Shape')).toBe(1);
    expect(ops.get('Constant')).toBeUndefined(); // constants became initializers
    for (const n of [1, 3]) {
      const [want, got] = [await runOnnx(bytes, feeds(n)), await runOnnx(serialize(p.graph, { opset: 17 }), feeds(n))];
      expect(got['y']!.dims).toEqual([n, 24]);
      expect(Array.from(got['y']!.data as Float32Array)).toEqual(Array.from(want['y']!.data as Float32Array));
    }
  });

  it('Slice to INT64_MAX ("to the end", as torch writes it) infers and folds like onnxruntime', async () => {
    const big = { dataType: INT64, dims: [1], rawData: new Uint8Array(BigInt64Array.of(9223372036854775807n).buffer) };
    const bytes = model([
      node('Constant', [], ['w'], [{ name: 'value', type: A.TENSOR, t: { dataType: FLOAT, dims: [5], floatData: [1, 2, 3, 4, 5] } }]),
      node('Slice', ['w', 'starts', 'ends'], ['tail']),
      node('Add', ['x', 'tail'], ['y']),
    ], ['x', [3]], 'y', [{ ...i64Tensor([2]), name: 'starts' }, { ...big, name: 'ends' }]);
    const p = parseOnnx(bytes);
    expect(p.graph.value('tail')!.shape).toEqual([3]);
    foldConstants.run(p.graph);
    expect([...p.graph.opHistogram().keys()]).toEqual(['Add']);
    const f = { x: { dtype: 'float32' as const, dims: [3], data: Float32Array.of(0, 0, 0) } };
    const [want, got] = [await runOnnx(bytes, f), await runOnnx(serialize(p.graph, { opset: 17 }), f)];
    expect(Array.from(got['y']!.data as Float32Array)).toEqual(Array.from(want['y']!.data as Float32Array));
  });
});
