/**
 * The op registry with every entry loaded (see registry.ts for what an entry holds).
 *
 *   elementwise.ts  activations, arithmetic, Cast, Softmax
 *   nn.ts           Conv, ConvTranspose, pools, normalizations, MatMul, Gemm, reductions
 *   shape-ops.ts    Reshape … Slice, Gather, Pad, Expand, Resize, Constant, Shape
 *   targets.ts      which runtimes have a kernel for each op
 *   contrib.ts      MAC rules of com.microsoft contrib ops and quantized operator forms
 */
import './elementwise.js';
import './nn.js';
import './shape-ops.js';
import './targets.js';
import './contrib.js';

export { defineOp, getOp, opNames, opsWhere, supportedBy } from './registry.js';
export type { FoldSpec, Fp16Policy, Kernel, LayoutRole, OpSpec, OpsetRule, TargetName } from './registry.js';
