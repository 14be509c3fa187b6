/**
 * Target support: which runtimes have a kernel for each op (the `targets` field of the registry),
 * which operands a static engine wants as initializers (`shapeOperands`), and the ops never folded
 * because they are random (`noFold`).
 *
 * web:    ai.onnx ops with a JSEP WebGPU kernel (onnxruntime core/providers/js/js_execution_provider.cc
 *         and js/web/lib/wasm/jsep/webgpu/op-resolve-rules.ts, checked against onnxruntime-web 1.30's bundle).
 * coreml: ops the CoreML EP's op-builder registry converts (onnxruntime
 *         core/providers/coreml/builders/op_builder_factory.cc, 1.20–1.23).
 */
import { defineOp, supportedBy } from './registry.js';

supportedBy('web', [
  'Abs', 'Acos', 'Acosh', 'Add', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan', 'Atanh', 'AveragePool',
  'BatchNormalization', 'Cast', 'Ceil', 'Clip', 'Concat', 'Conv', 'ConvTranspose', 'Cos', 'Cosh',
  'CumSum', 'DepthToSpace', 'Div', 'Einsum', 'Elu', 'Equal', 'Erf', 'Exp', 'Expand', 'Flatten',
  'Floor', 'Gather', 'GatherElements', 'GatherND', 'Gemm', 'GlobalAveragePool', 'GlobalMaxPool',
  'Greater', 'GreaterOrEqual', 'GridSample', 'HardSigmoid', 'If', 'InstanceNormalization',
  'LayerNormalization', 'LeakyRelu', 'Less', 'LessOrEqual', 'Log', 'MatMul', 'MaxPool', 'Mul', 'Neg',
  'Not', 'Pad', 'Pow', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSum',
  'ReduceSumSquare', 'Relu', 'Reshape', 'Resize', 'ScatterND', 'Shape', 'Sigmoid', 'Sin', 'Sinh',
  'Slice', 'Softmax', 'Split', 'Sqrt', 'Squeeze', 'Sub', 'Tan', 'Tanh', 'ThresholdedRelu', 'Tile',
  'Transpose', 'Unsqueeze', 'Where',
]);

supportedBy('coreml', [
  'Sigmoid', 'Tanh', 'Relu', 'PRelu', 'LeakyRelu', 'Gelu', 'Erf', 'Reciprocal', 'Round', 'Sqrt',
  'Add', 'Div', 'Mul', 'Max', 'Pow', 'Sub', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool',
  'MaxPool', 'ReduceMean', 'ReduceMin', 'ReduceMax', 'ReduceProd', 'ReduceSum', 'BatchNormalization',
  'GroupNormalization', 'InstanceNormalization', 'LayerNormalization', 'ArgMax', 'Cast', 'Clip',
  'Concat', 'Conv', 'ConvTranspose', 'DepthToSpace', 'Flatten', 'Gather', 'Gemm', 'GridSample',
  'LRN', 'MatMul', 'Pad', 'Reshape', 'Resize', 'Shape', 'Slice', 'Split', 'Softmax', 'Squeeze',
  'Transpose', 'Unsqueeze',
]);

/** Shape-like operand slots (TensorRT's parser wants them as initializers to build a static network). */
const SHAPE_OPERANDS: Readonly<Record<string, readonly number[]>> = {
  Reshape: [1], Expand: [1], Tile: [1], ConstantOfShape: [0], Squeeze: [1], Unsqueeze: [1],
  Slice: [1, 2, 3, 4], Pad: [1, 2, 3], Split: [1], Resize: [1, 2, 3], TopK: [1], Range: [0, 1, 2],
  ReduceMean: [1], ReduceSum: [1], ReduceMax: [1], ReduceMin: [1], ReduceProd: [1], ReduceL2: [1],
};
for (const [op, slots] of Object.entries(SHAPE_OPERANDS)) defineOp(op, { shapeOperands: slots });

/** Random generators: never folded. */
for (const op of ['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli']) defineOp(op, { noFold: true });
