/**
 * `vitx quantize` / `vitx export --dtype int8` as a library: float32 ONNX bytes + calibration
 * samples → int8 QDQ ONNX bytes (same opset, ≥ 13), deterministic for the same inputs.
 */
import { parseOnnx } from '../onnx/parse.js';
import { serialize } from '../onnx/serialize.js';
import { type CalibrationMethod, calibrate } from './calibrate.js';
import type { Samples } from './data.js';
import { linearsToGemm } from './gemm2d.js';
import { applyQdq, calibrationValues, planQdq, type QuantProfile, REGIONS_BY_DEFAULT } from './qdq.js';

export { CALIBRATION_METHODS, type CalibrationMethod } from './calibrate.js';
export { QUANT_PROFILES, type QuantProfile, weightType } from './qdq.js';

/** The default calibration method (see README "int8": chosen by held-out Pearson correlation). */
/**
 * The float32 export an int8 file is quantized from (`vitx export --dtype int8`, `npm run bench`):
 * with `--target ort`, the GELU fusion, the standard-op layout rewrites (measured faster for int8
 * too: mobilevit_xxs 0.98 → 0.94×, edgevit_xxs 0.92 → 0.84× of float32) and the attention's score
 * path as com.microsoft.MultiHeadAttention after one packed q/k/v Linear (passes/contrib-attention.ts
 * contrib-mha), not the contrib Attention, so that the projections stay MatMuls for QDQ (README
 * "int8" has the measurements).
 */
export const INT8_SOURCE = { contribAttention: 'mha', ortLayout: true } as const;

export const DEFAULT_METHOD: CalibrationMethod = 'percentile'; // measured: README "Calibration"

export class QuantizeError extends Error {}

export interface QuantizeOptions {
  profile?: QuantProfile;
  method?: CalibrationMethod;
  quantizeAttention?: boolean;
  /** ort / web: minimum dot-product length of a quantized op (default qdq.ts MIN_REDUCTION[profile]). */
  minReduction?: number;
  onProgress?: (s: string) => void;
  /** ort / web: grow uint8 regions (qdq.ts growRegions; default REGIONS_BY_DEFAULT: ort yes, web no). */
  regions?: boolean;
  /** ort / web: token Linears (MatMul + bias on rank ≥ 3) as Reshape → Gemm → Reshape (gemm2d.ts; default on). */
  gemm?: boolean;
}

export interface QuantizeResult {
  bytes: Uint8Array;
  opset: number;
  stats: { activations: number; weights: number; biases: number; reluFolded: number };
  profile: QuantProfile;
  method: CalibrationMethod;
}

export async function quantizeOnnx(floatModel: Uint8Array, calibration: Samples, o: QuantizeOptions = {}): Promise<QuantizeResult> {
  const profile = o.profile ?? 'ort', method = o.method ?? DEFAULT_METHOD;
  const { graph: g, opset } = parseOnnx(floatModel);
  if (opset < 13) throw new QuantizeError(`opset ${opset} is too old for per-channel QDQ (needs ≥ 13); export with --opset 13 or later`);
  if (g.inputs.length !== 1 || g.inputs[0]!.dtype !== 'float32') throw new QuantizeError('quantization needs a model with one float32 input');
  const x = g.inputs[0]!;
  const chw = x.shape.slice(1).join(',');
  if (chw !== calibration.shape.join(',')) throw new QuantizeError(`calibration samples are [${calibration.shape.join(', ')}], the model input ${x.name} is [${x.shape.join(', ')}]`);
  if (profile !== 'tensorrt' && (o.regions ?? REGIONS_BY_DEFAULT[profile]) && (o.gemm ?? true)) linearsToGemm(g);
  const plan = planQdq(g, profile, { quantizeAttention: o.quantizeAttention, minReduction: o.minReduction, regions: o.regions });
  if (plan.nodes.length === 0) throw new QuantizeError('nothing to quantize: no Conv, Gemm or MatMul with constant float32 weights and a long enough dot product');
  const ranges = await calibrate(g, opset, calibrationValues(plan), calibration, method, o.onProgress);
  const stats = applyQdq(g, plan, ranges, profile);
  g.metadata.set('vitx.dtype', 'int8');
  g.metadata.set('vitx.quantization', `QDQ ${profile}: weights int8 per-channel symmetric, activations ${profile === 'tensorrt' ? 'int8 symmetric' : 'uint8 asymmetric'} per-tensor, ${method} calibration on ${calibration.data.length} samples`);
  return { bytes: serialize(g, { opset }), opset, stats, profile, method };
}
