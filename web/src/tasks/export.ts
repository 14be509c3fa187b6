/**
 * The worker's export: `vitx export` on dropped bytes — the CLI's own flag parsers and messages,
 * the package's front door (src/browser.ts: readCheckpoint, exportModel, int8 included) on the
 * browser host, the CLI's summary text. The file is never written anywhere: its bytes stay in the
 * worker (for verify, bench, classify) and reach the page as a Blob when it is downloaded.
 */
import { type Checkpoint, exportModel, type ExportModelResult, LintError, readCheckpoint, useBrowserPlatform } from '../../../src/browser.js';
import { resolveModelName } from '../../../src/builders/pretrained.js';
import type { Batch } from '../../../src/builders/registry.js';
import { getModel } from '../../../src/builders/registry.js';
import { UsageError } from '../../../src/cli/errors.js';
import { headOptions, parseBatch, parseInputLayout, parseNumClasses, parseOpset, parsePostprocess, parsePrecision, parseSize, parseTarget } from '../../../src/cli/options.js';
import { formatExportSummary } from '../../../src/cli/summary.js';
import type { Graph } from '../../../src/graph/ir.js';
import { inspectGraph } from '../../../src/inspect/index.js';
import { formatReport } from '../../../src/inspect/format.js';
import { type Postprocess, type Preprocess, WrapError } from '../../../src/io-wrap/index.js';
import { parseOnnx } from '../../../src/onnx/parse.js';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../../../src/quant/calibrate.js';
import type { TargetName } from '../../../src/targets/index.js';
import type { ExportDone, ExportRequest, InspectRow } from '../protocol.js';
import { loadOrt } from './ort.js';

// the front door on the browser host, with onnxruntime-web loaded from the app's own ../ort/ (one thread)
useBrowserPlatform({ loadOrt });

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

/** The front door's export, with the CLI's messages for its refusals (a wrap the model cannot take, the lint). */
async function exportAsCli(model: string, o: Parameters<typeof exportModel>[1]): Promise<ExportModelResult> {
  try {
    return await exportModel(model, o);
  } catch (e) {
    if (e instanceof WrapError) throw new UsageError(e.message);
    if (e instanceof LintError) throw new UsageError(`${e.message}; nothing written`);
    throw e;
  }
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

function inspectRows(g: Graph, opset: number, target: string | undefined): { rows: InspectRow[]; text: string } {
  const r = inspectGraph(g, { opset, target });
  const text = formatReport(r);
  const rows = text.trimEnd().split('\n').map((line) => {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    return m ? { key: m[1]!, value: m[2]! } : { key: '', value: line.trim() };
  });
  return { rows, text };
}

/** The progress bar's share of each phase of the front door's export. */
function phaseFraction(phase: string, fraction: number | undefined, int8: boolean): number {
  const build = int8 ? 0.5 : 0.95;
  switch (phase) {
    case 'weights': return 0.01;
    case 'build': return 0.02 + (fraction ?? 0) * (build - 0.02);
    case 'calibrate': return build + 0.1;
    case 'fidelity': return build + 0.3;
    case 'wrap': return 0.95;
    default: return 0.97;
  }
}

export async function runExport(q: ExportRequest, progress: Progress): Promise<{ done: ExportDone; kept: Exported }> {
  const t0 = performance.now();
  const named = resolveModelName(q.model); // an unknown model or tag is a usage error before anything is read
  const spec = getModel(named.arch);
  const p = parseFlags(q);
  const int8 = p.dtype === 'int8';
  const output = `${q.model}.onnx`, dataPath = `${output}.data`;
  progress('reading the checkpoint', 0.01);
  const checkpoint: Checkpoint | undefined = q.checkpoint
    ? readCheckpoint(new Uint8Array(q.checkpoint.bytes), { name: q.checkpoint.name, key: p.checkpointKey, layout: p.checkpointLayout ?? 'auto', model: q.model })
    : undefined;
  const int8Lines = int8 ? await import('./int8.js') : null;
  const samples = int8Lines ? await int8Lines.photoSamples(q, p, progress) : null;
  let latency: Awaited<ReturnType<NonNullable<typeof int8Lines>['latencyCheck']>> | null = null;
  const r = await exportAsCli(q.model, {
    weights: checkpoint, weightsName: q.checkpoint?.name, numClasses: p.numClasses, features: p.features,
    opset: p.opset, batch: p.batch, size: p.size, optimize: p.optimize, reparam: p.reparam,
    dtype: p.dtype, io: p.io, target: p.target, externalData: int8 ? undefined : p.externalData ? true : 'auto', dataLocation: dataPath,
    preprocess: p.preprocess, postprocess: p.postprocess,
    ...(samples && int8Lines ? {
      int8: { calibration: samples, method: p.method, ...int8Lines.OPENERS },
      onQuantized: async (qr, floatBytes) => { latency = await int8Lines.latencyCheck(floatBytes, qr.bytes, samples, q.model, p.force, progress); },
    } : {}),
    onProgress: (e) => { if (e.phase !== 'build') progress(e.detail ?? e.phase, phaseFraction(e.phase, undefined, int8)); },
    onStep: (stage, f) => progress(stage, phaseFraction('build', f, int8)), // the pipeline's passes (pipeline.ts), passed through
  });
  const int8Text = r.int8 && int8Lines && latency ? int8Lines.reportText(r.int8, latency) : '';
  const { graph, opset } = int8 ? parseOnnx(r.bytes) : { graph: r.graph, opset: r.opset };
  progress('summary', 0.98);
  const summary = formatExportSummary({ ...r, graph }, {
    output, dataPath, weightsText: q.checkpoint ? `weights ${q.checkpoint.name}` : 'deterministic init', weightsSummary: checkpoint?.summary,
    preprocess: Boolean(p.preprocess), optimize: p.optimize, io: p.io, targetNamed: Boolean(p.target), int8Text,
    seconds: (performance.now() - t0) / 1000,
  });
  const ins = inspectRows(graph, opset, p.target);
  const x = graph.inputs[0]!;
  const tag = graph.metadata.get('vitx.pretrained_tag') ?? '';
  const classes = Number(graph.metadata.get('vitx.num_classes') ?? 0);
  const done: ExportDone = {
    fileName: output,
    size: r.bytes.byteLength,
    data: r.external ? { name: dataPath, size: r.external.dataBytes } : null,
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
