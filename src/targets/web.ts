/**
 * onnxruntime-web with the WebGPU execution provider (JSEP, onnxruntime-web 1.2x). Ops without a
 * WebGPU kernel run on the WebAssembly CPU fallback, with a GPU↔CPU copy on each side, so the lint
 * warns about them. Opset 17 keeps GELU as Erf arithmetic (JSEP registers Gelu only in the
 * com.microsoft domain) and LayerNormalization as one op (JSEP kernel from opset 17).
 */
import { opsWhere } from '../graph/ops/index.js';
import { checkDtypes, checkOps } from './lint.js';
import type { TargetProfile } from './profile.js';

/**
 * ai.onnx ops with a JSEP WebGPU kernel (onnxruntime core/providers/js/js_execution_provider.cc and
 * js/web/lib/wasm/jsep/webgpu/op-resolve-rules.ts, checked against onnxruntime-web 1.30's bundle).
 */
export const WEBGPU_OPS: ReadonlySet<string> = opsWhere((s) => s.targets?.includes('web') ?? false);

export const web: TargetProfile = {
  name: 'web',
  description: 'onnxruntime-web, WebGPU EP: opset 17, ops with WebGPU kernels',
  opset: 17,
  passes: [],
  lint(g) {
    return [
      ...checkOps(g, WEBGPU_OPS, 'warning', 'has no WebGPU kernel in onnxruntime-web: it runs on the WebAssembly CPU fallback'),
      ...checkDtypes(g, new Set(['float32', 'float16', 'int64', 'int32', 'bool', 'uint8']), 'error', 'onnxruntime-web has no such tensor type on WebGPU'),
    ];
  },
};
