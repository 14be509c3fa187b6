/**
 * Core ML through onnxruntime's CoreML execution provider (ModelFormat=MLProgram), the maintained
 * way to run an ONNX file on Core ML since coremltools 6 removed its ONNX converter. Core ML
 * tensors have rank ≤ 5, so the profile runs `rank-reduction` (MaxViT's 6-D window and grid
 * partitions become ≤ 4-D) and the lint rejects any remaining rank-6 tensor and any op the EP
 * cannot hand to Core ML (it would fall back to the CPU and split the model into partitions).
 */
import { deadCode } from '../passes/dce.js';
import { rulePass } from '../passes/driver.js';
import { reduceTransposeRank } from '../passes/rank.js';
import { SIMPLIFY_RULES } from '../passes/simplify.js';
import { opsWhere } from '../graph/ops/index.js';
import { checkDtypes, checkDynamic, checkOps, checkRank } from './lint.js';
import type { TargetProfile } from './profile.js';

/**
 * Ops the CoreML EP's op-builder registry converts (onnxruntime
 * core/providers/coreml/builders/op_builder_factory.cc, 1.20–1.23).
 */
export const COREML_OPS: ReadonlySet<string> = opsWhere((s) => s.targets?.includes('coreml') ?? false);

export const coreml: TargetProfile = {
  name: 'coreml',
  description: 'Core ML via onnxruntime\'s CoreML EP (MLProgram): rank ≤ 5, ops the EP converts',
  opset: 17,
  passes: [rulePass('rank-reduction', [reduceTransposeRank(5), ...SIMPLIFY_RULES]), deadCode],
  lint(g) {
    return [
      ...checkRank(g, 5, 'error'),
      ...checkOps(g, COREML_OPS, 'error', 'has no Core ML conversion in onnxruntime\'s CoreML EP (it would run on the CPU)'),
      ...checkDtypes(g, new Set(['float32', 'float16', 'int64', 'int32', 'bool']), 'error', 'Core ML has no such tensor type'),
      ...checkDynamic(g, 'info', 'warning', 'the CoreML EP compiles static shapes best (RequireStaticInputShapes=1 rejects this input)'),
    ];
  },
};
