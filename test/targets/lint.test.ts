/**
 * Target lint on small graphs: each rule fires on the construct it is about, with a structured
 * finding (severity, rule, node, message) printed on one line, and stays silent otherwise.
 */
import { describe, expect, it } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import { attr, type Graph } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { legalize } from '../../src/onnx/legalize.js';
import { optimize } from '../../src/passes/index.js';
import { formatFinding, getTarget, lintFor, TargetError } from '../../src/targets/index.js';
import { everyOpGraph } from '../helpers/every-op.js';

const rules = (g: Graph, target: string, opset = 17) => lintFor(g, getTarget(target), opset).map((f) => `${f.severity} ${f.rule} ${f.node}`);

function legalized(g: Graph, opset: number): Graph {
  legalize(g, opset);
  return g;
}

describe('tensorrt lint', () => {
  it('passes the every-op graph at opset 17 and static batch', () => {
    expect(rules(legalized(everyOpGraph(), 17), 'tensorrt')).toEqual([]);
  });

  it('flags run-time shapes, computed shape operands, a dynamic batch and opset < 17 LayerNorm', () => {
    const b = Builder.create('trt');
    const x = b.input('x', { dtype: 'float32', shape: ['N', 4, 6] });
    const shape = b.g.addNode('Shape', [x], [{ dtype: 'int64', shape: [3] }], { name: 'shape' }).output;
    const r = b.g.addNode('Reshape', [x, shape], [{ dtype: 'float32', shape: ['N', 4, 6] }], { name: 'reshape' }).output;
    b.g.outputs.push(b.op('LayerNormalization', [r, b.constant('s', Tensor.f32([6])), b.constant('b', Tensor.f32([6]))], { axis: attr.int(-1), epsilon: attr.float(1e-5) }, 'ln'));
    const g = legalized(b.g, 13);
    const found = lintFor(g, getTarget('tensorrt'), 13);
    expect(found.map((f) => `${f.severity} ${f.rule} ${f.node}`)).toEqual([
      'error runtime-shape shape',
      'error computed-operand reshape',
      'error layernorm-opset ln/centered',
      'warning dynamic-shape x',
    ]);
    expect(formatFinding(found[1]!)).toBe('error   computed-operand reshape: Reshape input 1 (shape) is computed, not an initializer; TensorRT needs it as an initializer');
    expect(formatFinding(found[3]!)).toMatch(/^warning dynamic-shape x: input x \[N, 4, 6\] has the symbolic dimension N \(axis 0\); build the engine with --minShapes/);
  });
});

describe('coreml lint and rank reduction', () => {
  function sixD(): Graph {
    const b = Builder.create('six');
    const x = b.input('x', { dtype: 'float32', shape: [2, 14, 14, 8] });
    const p = b.transpose(b.reshape(x, [2, 7, 2, 7, 2, 8]), [0, 2, 4, 1, 3, 5]);
    b.g.outputs.push(b.op('Abs', [b.reshape(p, [8, 49, 8])]));
    return b.g;
  }

  it('rejects rank-6 tensors and ops without a Core ML conversion', () => {
    expect(rules(legalized(sixD(), 17), 'coreml')).toEqual([
      'error max-rank Reshape', 'error max-rank Transpose', 'error unsupported-op Abs',
    ]);
  });

  it('the coreml profile\'s passes remove the rank-6 tensors', () => {
    const g = sixD();
    optimize(g, { passes: getTarget('coreml').passes });
    expect(rules(legalized(g, 17), 'coreml')).toEqual(['error unsupported-op Abs']);
  });

  it('accepts the every-op graph except its Abs and Expand', () => {
    expect(rules(legalized(everyOpGraph(), 17), 'coreml').sort()).toEqual(['error unsupported-op Abs', 'error unsupported-op Expand']);
  });
});

describe('web lint', () => {
  it('warns about ops without a WebGPU kernel (ONNX Gelu at opset 20), silent at 17', () => {
    expect(rules(legalized(everyOpGraph(), 17), 'web')).toEqual([]);
    expect(rules(legalized(everyOpGraph(), 20), 'web', 20)).toEqual(['warning unsupported-op Gelu', 'warning unsupported-op Gelu_1']);
  });
});

describe('ort lint and target names', () => {
  it('reports symbolic dimensions as info only', () => {
    expect(rules(legalized(everyOpGraph('N'), 17), 'ort')).toEqual(['info dynamic-shape input']);
  });

  it('unknown targets are an error naming the choices', () => {
    expect(() => getTarget('tflite')).toThrow(TargetError);
    expect(() => getTarget('tflite')).toThrow("unknown target 'tflite' (choose one of ort, tensorrt, coreml, web)");
  });
});
