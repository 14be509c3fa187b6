/**
 * Messages between the page and its worker. The page sends one request at a time per id; the
 * worker answers with progress events and then exactly one `done` or `error`. Byte arrays travel
 * as transferred ArrayBuffers (never copied). The exported file stays in the worker; the page asks
 * for it as a Blob when the user downloads it, so that an export holds one copy of it.
 */

export interface DroppedFile { name: string; bytes: ArrayBuffer }

/**
 * `vitx export`'s flags as the user typed them (the worker parses them with the CLI's own parsers,
 * src/cli/options.ts, so a bad value gets the CLI's message). Absent = the CLI's default.
 */
export interface ExportFlags {
  numClasses?: string;
  /** '' or 'all' = every feature map; '2,3,4' = those. */
  features?: string;
  size?: string;
  batch?: string;
  opset?: string;
  dtype?: string;
  io?: string;
  target?: string;
  /** false = --no-optimize; reparam false = --no-reparam. */
  optimize?: boolean;
  reparam?: boolean;
  preprocess?: boolean;
  inputLayout?: string;
  postprocess?: string;
  checkpointKey?: string;
  checkpointLayout?: string;
  calibrationMethod?: string;
  force?: boolean;
  externalData?: boolean;
}

export interface ExportRequest {
  /** Architecture or pretrained tag. */
  model: string;
  checkpoint?: DroppedFile;
  /** int8: calibration photos (JPEG/PNG), read in name order as a folder is. */
  calibration?: DroppedFile[];
  flags: ExportFlags;
}

export interface ExportDone {
  fileName: string;
  /** Bytes of the .onnx file (it stays in the worker until downloaded: see DownloadDone). */
  size: number;
  /** The side file above 2 GB (or when asked for). */
  data: { name: string; size: number } | null;
  summary: string;
  inspect: InspectRow[];
  inspectText: string;
  /** What the graph takes and gives, for the classify panel. */
  input: { name: string; dtype: string; shape: (number | string)[] };
  outputs: string[];
  /** The tag's labels apply (ImageNet-1k classes). */
  in1k: boolean;
  ms: number;
}

/** The file as Blobs, made when the user asks for the download (so an export holds one copy). */
export interface DownloadDone { name: string; file: Blob; data: { name: string; file: Blob } | null }

export interface InspectRow { key: string; value: string }

export type Ep = 'wasm' | 'webgpu';

export interface VerifyRow {
  ep: Ep;
  status: 'pass' | 'fail' | 'unavailable' | 'error';
  detail: string;
  outputs: { name: string; maxAbs: number; maxRel: number; argmax: string; pass: boolean }[];
  ms: number;
}
export interface VerifyDone { reference: string; tolerance: string; rows: VerifyRow[] }

export interface BenchRow { ep: Ep; status: 'ok' | 'unavailable' | 'error'; detail: string; p50: number; p90: number; runs: number }
export interface BenchDone { rows: BenchRow[] }

export interface ClassifyDone { top: { index: number; label: string | null; score: number }[]; ep: Ep; output: string }

export type Request =
  | { id: number; kind: 'export'; req: ExportRequest }
  | { id: number; kind: 'download' }
  /** The SHA-256 of the last exported file (hex), asked for after the export: hashing is no part of exporting. */
  | { id: number; kind: 'hash' }
  /** The checkpoint again (the worker keeps none after an export), for the train-time reference. */
  | { id: number; kind: 'verify'; eps: Ep[]; checkpoint?: DroppedFile }
  | { id: number; kind: 'bench'; eps: Ep[]; runs: number; warmup: number }
  | { id: number; kind: 'classify'; image: DroppedFile };

export type Reply =
  | { id: number; kind: 'progress'; stage: string; fraction: number }
  | { id: number; kind: 'done'; result: unknown }
  | { id: number; kind: 'error'; message: string };
