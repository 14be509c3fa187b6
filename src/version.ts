/** The package version, written to ONNX producer_version and metadata. */
export const VITX_VERSION = '0.1.0';
