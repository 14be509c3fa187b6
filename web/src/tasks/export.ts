/**
 * The worker's export: the same steps, options and messages as `vitx export` (src/cli/export.ts),
 * on dropped bytes instead of paths. The file is never written anywhere: its bytes stay in the
 * worker (for verify, bench and classify) and go to the page as a Blob for download.
 */
import { resolveModelName } from '../../../src/builders/pretrained.js';
import { getModel } from '../../../src/builders/registry.js';
import { UsageError } from '../../../src/cli/errors.js';
import { formatExportSummary } from '../../../src/cli/summary.js';
import { inspectGraph } from '../../../src/inspect/index.js';
import { formatReport } from '../../../src/inspect/format.js';
import type { Graph } from '../../../src/graph/ir.js';
import { type Preprocess, WrapError, wrapOnnx } from '../../../src/io-wrap/index.js';
import { parseOnnx } from '../../../src/onnx/parse.js';
import { exportModel, type ExportResult } from '../../../src/pipeline.js';
import { INT8_SOURCE } from '../../../src/quant/index.js';
import { countErrors, formatFinding } from '../../../src/targets/index.js';
import { openCheckpoint } from '../../../src/weights/open.js';
import type { Batch } from '../../../src/builders/registry.js';
import type { Postprocess } from '../../../src/io-wrap/index.js';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../../../src/quant/calibrate.js';
import type { TargetName } from '../../../src/targets/index.js';
import { headOptions, parseBatch, parseInputLayout, parseNumClasses, parseOpset, parsePostprocess, parsePrecision, parseSize, parseTarget } from '../../../src/cli/options.js';
import type { ExportDone, ExportRequest, InspectRow } from '../protocol.js';
import { sha256Hex } from '../sha256.js';

export type Progress = (stage: string, fraction: number) => void;

/** What verify, bench and classify need from the last export. */
export interface Exported {
  req: ExportRequest;
  p: Parsed;
  arch: string;
  bytes: Uint8Array;
  /** The external data file's chunks, when the weights went to a side file. */
  data: { name: string; chunks: Uint8Array[] } | null;
  checkpointName: string | undefined;
}

/** A pre/postprocessing request the model cannot take is a usage mistake, as in the CLI. */
function usageOnWrapError<T>(f: () => T): T {
  try { return f(); } catch (e) { throw e instanceof WrapError ? new UsageError(e.message) : e; }
}

/** The export flags, parsed. */
export interface Parsed {
  numClasses?: number; features?: number[] | 'all'; size?: [number, number]; batch: Batch; opset?: number;
  dtype: 'fp32' | 'fp16' | 'int8'; io: 'fp32' | 'fp16'; target?: TargetName; optimize: boolean; reparam: boolean;
  preprocess?: Preprocess; postprocess?: Postprocess; checkpointKey?: string; checkpointLayout?: 'official' | 'timm';
  method?: CalibrationMethod; force: boolean; externalData: boolean;
}

const opt = <T>(v: string | undefined, parse: (v: string) => T): T | undefined => (v === undefined || v === '' ? undefined : parse(v));

/**
 * `vitx export`'s flags through the CLI's own parsers and checks, with its messages (the few
 * parsers that live in cli/export.ts and cli/quantize.ts are repeated here word for word).
 */
export function parseFlags(q: ExportRequest): Parsed {
  const f = q.flags;
  const dtype = f.dtype ?? 'fp32';
  if (dtype !== 'fp32' && dtype !== 'fp16' && dtype !== 'int8') throw new UsageError(`--dtype must be fp32 or fp16, got '${dtype}' (or int8, with --calibration)`);
  const method = opt(f.calibrationMethod, (v) => {
    if (!(CALIBRATION_METHODS as readonly string[]).includes(v)) throw new UsageError(`--calibration-method must be one of ${CALIBRATION_METHODS.join(', ')}, got '${v}'`);
    return v as CalibrationMethod;
  });
  const layout = opt(f.checkpointLayout, (v) => {
    if (v !== 'official' && v !== 'timm') throw new UsageError(`--checkpoint-layout must be official or timm, not ${JSON.stringify(v)}`);
    return v;
  });
  const { numClasses, features } = headOptions({ numClasses: opt(f.numClasses, parseNumClasses), features: f.features === undefined ? undefined : f.features || true });
  const p: Parsed = {
    numClasses, features, size: opt(f.size, parseSize), batch: opt(f.batch, parseBatch) ?? 1, opset: opt(f.opset, parseOpset),
    dtype, io: opt(f.io, parsePrecision('--io')) ?? 'fp32', target: opt(f.target, parseTarget),
    optimize: f.optimize ?? true, reparam: f.reparam ?? true,
    postprocess: opt(f.postprocess, parsePostprocess), checkpointKey: f.checkpointKey || undefined, checkpointLayout: layout,
    method, force: Boolean(f.force), externalData: Boolean(f.externalData),
  };
  if (f.inputLayout && !f.preprocess) throw new UsageError('--input-layout needs --preprocess');
  if (f.preprocess) p.preprocess = { layout: opt(f.inputLayout, parseInputLayout) ?? 'nhwc' };
  if (p.features && p.postprocess) throw new UsageError('--postprocess needs a classifier; it does not apply to --features');
  if (p.io === 'fp16' && p.dtype !== 'fp16') throw new UsageError('--io fp16 needs --dtype fp16');
  const int8 = p.dtype === 'int8';
  if (int8 && !q.calibration?.length) throw new UsageError('--dtype int8 needs --calibration <folder of photos | file.npy>');
  if (!int8 && q.calibration?.length) throw new UsageError('--calibration and --eval go with --dtype int8');
  if (int8 && p.target === 'coreml') throw new UsageError('--dtype int8 supports --target ort, web or tensorrt');
  if (int8 && p.externalData) throw new UsageError('--dtype int8 writes one file; --external-data is not supported with it');
  if (!q.checkpoint && p.checkpointKey !== undefined) throw new UsageError('--checkpoint-key needs --weights');
  if (!q.checkpoint && p.checkpointLayout !== undefined) throw new UsageError('--checkpoint-layout needs --weights');
  return p;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return sha256Hex(bytes);
}

function inspectRows(g: Graph, opset: number, target: string | undefined): { rows: InspectRow[]; text: string } {
  const r = inspectGraph(g, { opset, target });
  const text = formatReport(r);
  const rows = text.trimEnd().split('\n').map((line) => {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    return m ? { key: m[1]!, value: m[2]! } : { key: '', value: line.trim() };
  });
  return { rows, text };
}

export async function runExport(q: ExportRequest, progress: Progress): Promise<{ done: ExportDone; kept: Exported }> {
  const t0 = performance.now();
  const named = resolveModelName(q.model); // an unknown model or tag is a usage error before anything is read
  const spec = getModel(named.arch);
  const p = parseFlags(q);
  const int8 = p.dtype === 'int8';
  const output = `${q.model}.onnx`, dataPath = `${output}.data`;
  const preprocess = p.preprocess;
  progress('reading the checkpoint', 0.01);
  const loaded = q.checkpoint
    ? openCheckpoint(spec.name, new Uint8Array(q.checkpoint.bytes), `weights file ${q.checkpoint.name}`, { key: p.checkpointKey, layout: p.checkpointLayout })
    : undefined;
  const share = int8 ? 0.5 : 0.95;
  const r: ExportResult = usageOnWrapError(() => exportModel(q.model, {
    checkpoint: loaded?.tensors, checkpointName: q.checkpoint?.name, numClasses: p.numClasses, features: p.features,
    opset: p.opset, batch: p.batch, size: p.size, optimize: p.optimize, reparam: p.reparam,
    dtype: p.dtype === 'int8' ? 'fp32' : p.dtype, io: p.io, target: int8 && !p.target ? 'ort' : p.target,
    externalData: int8 ? false : p.externalData ? true : 'auto', dataLocation: dataPath,
    ...(int8 ? INT8_SOURCE : {}),
    preprocess: preprocess && !int8 ? preprocess : undefined,
    postprocess: int8 ? undefined : p.postprocess,
    onStep: (stage, f) => progress(stage, 0.02 + f * (share - 0.02)),
  }));
  if (int8 && (preprocess || p.postprocess)) usageOnWrapError(() => wrapOnnx(r.bytes, { preprocess, postprocess: p.postprocess }));
  const errors = countErrors(r.findings);
  if (errors > 0) {
    throw new UsageError(`${q.model} does not pass the ${r.target} lint (${errors} error${errors === 1 ? '' : 's'}: ${r.findings.filter((x) => x.severity === 'error').map(formatFinding).join('; ')}); nothing written`);
  }
  let int8Text = '';
  let graph = r.graph, opset = r.opset;
  if (int8) {
    const { quantizeInPage } = await import('./int8.js');
    const qr = await quantizeInPage(r.bytes, q, p, (s, f) => progress(s, share + f * (0.97 - share)));
    r.bytes = qr.bytes;
    if (preprocess || p.postprocess) r.bytes = wrapOnnx(qr.bytes, { preprocess, postprocess: p.postprocess }).bytes;
    int8Text = qr.text;
    ({ graph, opset } = parseOnnx(r.bytes));
  }
  progress('summary', 0.98);
  const summary = formatExportSummary({ ...r, graph }, {
    output, dataPath, weightsText: q.checkpoint ? `weights ${q.checkpoint.name}` : 'deterministic init', weightsSummary: loaded?.summary,
    preprocess: Boolean(preprocess), optimize: p.optimize, io: p.io, targetNamed: Boolean(p.target), int8Text,
    seconds: (performance.now() - t0) / 1000,
  });
  const ins = inspectRows(graph, opset, p.target);
  const x = graph.inputs[0]!;
  const tag = (graph.metadata.get('vitx.pretrained_tag') ?? '');
  const classes = Number(graph.metadata.get('vitx.num_classes') ?? 0);
  const done: ExportDone = {
    fileName: output,
    size: r.bytes.byteLength,
    data: r.external ? { name: dataPath, size: r.external.dataBytes } : null,
    sha256: await sha256(r.bytes),
    summary, inspect: ins.rows, inspectText: ins.text,
    input: { name: x.name, dtype: x.dtype, shape: [...x.shape] },
    outputs: graph.outputs.map((v) => v.name),
    in1k: /in1k/.test(tag) && classes === 1000,
    ms: performance.now() - t0,
  };
  // keep the file, not the checkpoint or the photos (verify gets the checkpoint again from the page)
  const kept: Exported = {
    req: { model: q.model, flags: q.flags }, p, arch: spec.name, bytes: r.bytes,
    data: r.external ? { name: dataPath, chunks: r.external.data } : null, checkpointName: q.checkpoint?.name,
  };
  return { done, kept };
}
