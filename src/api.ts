/**
 * What both entries (src/index.ts for Node, src/browser.ts for browsers) export: the front-door
 * functions, their option and result types, and the error classes a caller may want to tell
 * apart. Everything else under src/ is internal.
 */
export {
  type Checkpoint, DEFAULT_TOLERANCE, type ExportModelOptions, type ExportModelResult, type ExportPhase, type ExportProgress,
  exportModel, type Int8Options, inspect, type InspectOptions, LintError, listModels, type ListRow, listPretrained, OptionsError,
  type PretrainedRow, quantizeModel, type QuantizeModelOptions, type QuantizeModelResult, type QuantizeReport, readCheckpoint,
  type ReadCheckpointOptions, verify, type VerifyModelOptions, type VerifySubject,
} from './library.js';
export type { InspectReport } from './inspect/index.js';
export type { VerifyReport, VerifyProgress, BackendResult, ReferenceSpec } from './verify/verify.js';
export type { OutputComparison, Tolerance } from './verify/compare.js';
export type { Finding, TargetName } from './targets/index.js';
export type { Samples } from './quant/samples.js';
export type { FidelityReport } from './quant/fidelity.js';
export type { CalibrationMethod, QuantProfile } from './quant/index.js';
export type { Postprocess, Preprocess } from './io-wrap/index.js';
export type { HostTensor } from './runtime/tensors.js';
export type { BackendName } from './runtime/backend.js';
export type { ExternalSerialized } from './onnx/external-data.js';
export type { Platform } from './platform/index.js';
export { UnknownModelError, SizeError, FeatureIndexError } from './builders/registry.js';
export { CheckpointError } from './weights/load.js';
export { OnnxParseError } from './onnx/parse.js';
export { WrapError } from './io-wrap/index.js';
export { QuantizeError } from './quant/index.js';
export { DataError } from './quant/samples.js';
export { TargetError } from './targets/index.js';
export { OpsetError } from './onnx/legalize.js';
export { BackendUnavailableError } from './runtime/backend.js';
export { VerifyError } from './verify/verify.js';
export { VITX_VERSION } from './onnx/serialize.js';
