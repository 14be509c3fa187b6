/**
 * `vitx verify` as a library function.
 *
 *   model name  candidate = the file `vitx export` writes (default pass pipeline, or `passes`);
 *               reference = the train-time graph (`--no-optimize`) on cpu
 *   .onnx file  candidate = the file; reference = the same file on cpu
 *
 * A given reference replaces the default: another .onnx file (run on cpu) or saved outputs
 * (goldens.ts; their inputs are used when present). "cpu" is the host's reference backend
 * (platform/: onnxruntime-node CPU in Node, onnxruntime-web WASM in a page). Inputs are otherwise seeded (inputs.ts).
 * Every listed backend runs the candidate on the same inputs and is compared with the reference
 * (compare.ts). A backend that cannot start is reported as unavailable and fails the run.
 */
import type { DType } from '../graph/tensor.js';
import type { Tensor } from '../graph/tensor.js';
import { OnnxParseError } from '../onnx/parse.js';
import type { Pass } from '../passes/index.js';
import { exportModel } from '../pipeline.js';
import { type BackendName, BackendPool, BackendUnavailableError, type Feeds, firstLine, type Outputs } from '../runtime/backend.js';
import { platform } from '../platform/index.js';
import { compareOutputs, type OutputComparison, type Tolerance } from './compare.js';
import type { Goldens } from './goldens.js';
import { checkInputs, readSignature, seededInputs, type Signature } from './inputs.js';

export type VerifyTarget = { kind: 'model'; model: string } | { kind: 'file'; path: string; bytes: Uint8Array };

export type ReferenceSpec =
  | { kind: 'onnx'; path: string; bytes: Uint8Array }
  | { kind: 'outputs'; path: string; goldens: Goldens };

export interface VerifyOptions {
  backends: readonly BackendName[];
  tolerance: Tolerance;
  /** Seed of the generated inputs (default 0: the reference input of fixtures/reference). */
  seed?: number;
  /** Batch size (model targets: built with it; files: a symbolic first dimension). Default 1. */
  batch?: number;
  /** Model targets: input size and checkpoint. */
  size?: readonly [number, number];
  checkpoint?: ReadonlyMap<string, Tensor>;
  checkpointName?: string;
  /** Model targets: the head as `vitx export` builds it (pipeline.ts PrepareOptions). */
  numClasses?: number;
  features?: readonly number[] | 'all';
  opset?: number;
  /** Model targets: the optimization passes that produce the candidate (default: the default pipeline). */
  passes?: readonly Pass[];
  reference?: ReferenceSpec;
  /** Bound on the generated inputs' total size in bytes (default 1 GiB; the CLI's --max-input-mb). */
  maxInputBytes?: number;
  /** Shared backends (one browser for many targets); otherwise opened and closed here. */
  pool?: BackendPool;
  onProgress?: (e: VerifyProgress) => void;
}

export type BackendStatus = 'pass' | 'fail' | 'unavailable' | 'error';

export interface BackendResult {
  backend: BackendName;
  status: BackendStatus;
  description?: string;
  /** One line, for unavailable and error. */
  error?: string;
  ms: number;
  outputs: OutputComparison[];
}

export type VerifyProgress =
  | { phase: 'prepare' | 'reference'; target: string; what: string }
  | { phase: 'backend'; target: string; backend: BackendName }
  | { phase: 'backend-done'; target: string; result: BackendResult };

export interface VerifyReport {
  target: string;
  candidate: string;
  reference: string;
  tolerance: Tolerance;
  seed: number;
  inputs: { name: string; dtype: DType; dims: number[] }[];
  backends: BackendResult[];
  pass: boolean;
  /** Not part of the JSON report: what was fed and what the reference produced (for --save-outputs). */
  feeds: Feeds;
  referenceOutputs: Outputs;
}

/** The host's reference backend (platform/: cpu in Node, wasm in a page). */
function referenceBackend(): BackendName {
  return platform().backends[0] ?? 'cpu';
}

/** Prefixes a reader error with the file it came from. */
function inFile<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OnnxParseError) throw new OnnxParseError(`${path}: ${e.message}`);
    throw e;
  }
}

/** The reference's run failed or its outputs do not fit the candidate. */
export class VerifyError extends Error {}

interface Prepared { name: string; candidate: Uint8Array; candidateText: string; reference: Uint8Array | null; referenceText: string }

function prepare(target: VerifyTarget, o: VerifyOptions): Prepared {
  if (target.kind === 'file') {
    return { name: target.path, candidate: target.bytes, candidateText: target.path, reference: target.bytes, referenceText: `${target.path} on ${referenceBackend()}` };
  }
  const common = {
    batch: o.batch ?? 1, size: o.size, checkpoint: o.checkpoint, checkpointName: o.checkpointName, numClasses: o.numClasses, features: o.features, opset: o.opset, externalData: false,
  };
  const cand = exportModel(target.model, { ...common, passes: o.passes });
  const pipeline = o.passes ? `passes ${o.passes.map((p) => p.name).join(', ') || '(none)'}` : 'default pipeline';
  const candidateText = `${target.model} optimized (${pipeline}, opset ${cand.opset}, ${o.checkpointName ?? 'deterministic init'})`;
  if (o.reference) return { name: target.model, candidate: cand.bytes, candidateText, reference: null, referenceText: '' };
  const ref = exportModel(target.model, { ...common, optimize: false });
  return { name: target.model, candidate: cand.bytes, candidateText, reference: ref.bytes, referenceText: `${target.model} train-time graph (no passes) on ${referenceBackend()}` };
}

function inputsFor(sig: Signature, o: VerifyOptions, what: string): Feeds {
  const g = o.reference?.kind === 'outputs' ? o.reference.goldens : null;
  if (g && Object.keys(g.inputs).length > 0) {
    checkInputs(sig, g.inputs, `saved outputs ${o.reference!.path}`);
    return g.inputs;
  }
  return seededInputs(sig, { seed: o.seed ?? 0, batch: o.batch ?? 1, maxBytes: o.maxInputBytes, what });
}

async function referenceOutputs(p: Prepared, feeds: Feeds, pool: BackendPool, o: VerifyOptions): Promise<{ outputs: Outputs; text: string }> {
  const r = o.reference;
  if (r?.kind === 'outputs') return { outputs: r.goldens.outputs, text: `saved outputs ${r.path}` };
  const bytes = r?.kind === 'onnx' ? r.bytes : p.reference!;
  const text = r?.kind === 'onnx' ? `${r.path} on ${referenceBackend()}` : p.referenceText;
  if (r?.kind === 'onnx') inFile(r.path, () => readSignature(bytes)); // a malformed reference file fails here with a clear message
  const name = referenceBackend();
  const ref = await pool.get(name);
  try {
    return { outputs: await ref.run(bytes, feeds), text };
  } catch (e) {
    throw new VerifyError(`reference (${text}) does not run: ${firstLine(e).replace(`${name}: `, '')}`);
  }
}

export async function verify(target: VerifyTarget, o: VerifyOptions): Promise<VerifyReport> {
  const pool = o.pool ?? new BackendPool();
  try {
    const targetName = target.kind === 'model' ? target.model : target.path;
    o.onProgress?.({ phase: 'prepare', target: targetName, what: target.kind === 'model' ? 'building and optimizing' : 'reading' });
    const p = prepare(target, o);
    const sig = target.kind === 'file' ? inFile(target.path, () => readSignature(p.candidate)) : readSignature(p.candidate);
    const feeds = inputsFor(sig, o, p.name);
    o.onProgress?.({ phase: 'reference', target: p.name, what: 'computing reference outputs' });
    const ref = await referenceOutputs(p, feeds, pool, o);
    // every reference output must be one of the model's (e.g. a features / embeddings / N-class file
    // against flags that build another head): otherwise there is nothing to compare it with
    const missing = Object.keys(ref.outputs).filter((k) => !sig.outputs.some((s) => s.name === k));
    if (missing.length > 0) {
      throw new VerifyError(`the reference's outputs (${Object.keys(ref.outputs).join(', ')}) are not all outputs of the model (${sig.outputs.map((s) => s.name).join(', ')}): ${missing.join(', ')} missing`);
    }
    for (const out of sig.outputs) {
      const r = ref.outputs[out.name];
      const fixed = out.shape.every((d) => typeof d === 'number');
      if (r && fixed && (r.dims.length !== out.shape.length || r.dims.some((d, i) => d !== out.shape[i]))) {
        throw new VerifyError(`the reference's output ${out.name} is [${r.dims.join(',')}], the model's is [${out.shape.join(',')}]`);
      }
    }
    const results: BackendResult[] = [];
    for (const name of o.backends) {
      o.onProgress?.({ phase: 'backend', target: p.name, backend: name });
      const t0 = performance.now();
      let result: BackendResult;
      try {
        const backend = await pool.get(name);
        try {
          const got = await backend.run(p.candidate, feeds);
          const outputs = compareOutputs(got, ref.outputs, o.tolerance);
          result = { backend: name, status: outputs.every((c) => c.pass) ? 'pass' : 'fail', description: backend.description, ms: 0, outputs };
        } catch (e) {
          result = { backend: name, status: 'error', description: backend.description, error: firstLine(e), ms: 0, outputs: [] };
        }
      } catch (e) {
        const status = e instanceof BackendUnavailableError ? 'unavailable' : 'error';
        result = { backend: name, status, error: firstLine(e), ms: 0, outputs: [] };
      }
      result.ms = Math.round(performance.now() - t0);
      results.push(result);
      o.onProgress?.({ phase: 'backend-done', target: p.name, result });
    }
    return {
      target: p.name, candidate: p.candidateText, reference: ref.text, tolerance: o.tolerance, seed: o.seed ?? 0,
      inputs: Object.entries(feeds).map(([name, t]) => ({ name, dtype: t.dtype, dims: [...t.dims] })),
      backends: results, pass: results.length > 0 && results.every((r) => r.status === 'pass'),
      feeds, referenceOutputs: ref.outputs,
    };
  } finally {
    if (!o.pool) await pool.close();
  }
}

/** The report without the tensors, with non-finite numbers as strings (JSON has no Infinity). */
export function reportJson(reports: readonly VerifyReport[], extra: Record<string, unknown> = {}): string {
  const strip = reports.map(({ feeds: _f, referenceOutputs: _r, ...rest }) => rest);
  const body = { ...extra, pass: reports.every((r) => r.pass), targets: strip };
  return `${JSON.stringify(body, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`;
}
