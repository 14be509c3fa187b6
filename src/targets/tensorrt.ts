/**
 * TensorRT (trtexec / the ONNX parser of TensorRT 8.6–10): opset 17 so that LayerNormalization
 * stays one op (TensorRT's normalization layer keeps its statistics in float32 under fp16), static
 * shapes or an optimization profile for the batch, no run-time shape computation, and every
 * shape-like operand (Reshape shape, Pad pads, Slice starts/ends/axes, Squeeze axes, Resize scales)
 * an initializer, so the parser can build a static network.
 */
import { checkConstantOperands, checkDtypes, checkDynamic, checkShapeOps, decomposedLayerNorms, type Finding } from './lint.js';
import type { TargetProfile } from './profile.js';

export const tensorrt: TargetProfile = {
  name: 'tensorrt',
  description: 'TensorRT engines (trtexec --onnx=…): opset 17, static shapes, shape operands as initializers',
  opset: 17,
  passes: [],
  lint(g, ctx) {
    const out: Finding[] = [
      ...checkShapeOps(g, 'error', 'TensorRT wants shapes known when the engine is built'),
      ...checkConstantOperands(g, 'error', 'TensorRT needs it as an initializer'),
      ...checkDynamic(g, 'warning', 'error', 'build the engine with --minShapes/--optShapes/--maxShapes'),
      ...checkDtypes(g, new Set(['float32', 'float16', 'int64', 'int32', 'bool', 'uint8', 'int8', 'bfloat16']), 'error', 'TensorRT has no such tensor type'),
    ];
    if (ctx.opset < 17) {
      for (const n of decomposedLayerNorms(g)) {
        out.push({ severity: 'error', rule: 'layernorm-opset', node: n.label, message: `LayerNormalization decomposed for opset ${ctx.opset}; TensorRT keeps fp16 LayerNorm statistics in float32 only for the opset-17 op (export with --opset 17)` });
      }
    }
    return out;
  },
};
