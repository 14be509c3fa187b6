/** Parsers for command-line values; each throws a UsageError naming the flag. */
import { Option } from 'commander';
import type { Batch } from '../builders/registry.js';
import { MAX_OPSET, MIN_OPSET } from '../onnx/legalize.js';
import { TARGETS, type TargetName } from '../targets/index.js';
import { UsageError } from './errors.js';

export function parseOpset(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < MIN_OPSET || n > MAX_OPSET) throw new UsageError(`--opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got '${v}'`);
  return n;
}

export function parseBatch(v: string): Batch {
  if (v === 'dynamic') return 'dynamic';
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 4096) throw new UsageError(`--batch must be a positive integer or 'dynamic', got '${v}'`);
  return n;
}

export function parseSize(v: string): [number, number] {
  const m = /^(\d+)(?:x(\d+))?$/.exec(v);
  if (!m) throw new UsageError(`--size must be H or HxW (e.g. 224 or 256x320), got '${v}'`);
  const h = Number(m[1]), w = Number(m[2] ?? m[1]);
  if (h < 1 || w < 1 || h > 4096 || w > 4096) throw new UsageError(`--size out of range: '${v}'`);
  return [h, w];
}

export function parseFloatOpt(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a non-negative number, got '${v}'`);
    return n;
  };
}

export function parseTarget(v: string): TargetName {
  if (!Object.hasOwn(TARGETS, v)) throw new UsageError(`--target must be one of ${Object.keys(TARGETS).join(', ')}, got '${v}'`);
  return v as TargetName;
}

export function parsePrecision(flag: string): (v: string) => 'fp32' | 'fp16' {
  return (v) => {
    if (v !== 'fp32' && v !== 'fp16') throw new UsageError(`${flag} must be fp32 or fp16, got '${v}'`);
    return v;
  };
}

export function parseNumClasses(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 100_000) throw new UsageError(`--num-classes must be an integer from 0 (the pooled embedding) to 100000, got '${v}'`);
  return n;
}

/** `--features` alone: all maps; `--features 1,2,3`: those indices (timm out_indices). */
export function parseFeatures(v: string | boolean): number[] | 'all' {
  if (v === true || v === 'all') return 'all';
  if (typeof v !== 'string' || !/^\d+(,\d+)*$/.test(v)) throw new UsageError(`--features takes comma-separated feature indices (e.g. 1,2,3) or nothing for all, got '${String(v)}'`);
  return v.split(',').map(Number);
}

/** `--num-classes` as `vitx export` and `vitx verify` take it (what the model outputs; headOptions checks it). */
export function numClassesOption(): Option {
  return new Option('--num-classes <n>', 'classifier outputs (default: the checkpoint\'s head, else the tag\'s); 0 = pooled embedding, output "embeddings"').argParser(parseNumClasses);
}

/** `--features` as `vitx export` and `vitx verify` take it. */
export function featuresOption(): Option {
  return new Option('--features [i,j,...]', 'backbone feature maps instead of the classifier (timm features_only / out_indices; default all), outputs features.<i>');
}

/** The parsed head flags; --features and --num-classes together are a usage mistake. */
export function headOptions(f: { numClasses?: number; features?: string | boolean }): { numClasses?: number; features?: number[] | 'all' } {
  const features = f.features === undefined ? undefined : parseFeatures(f.features);
  if (features && f.numClasses !== undefined) throw new UsageError('--features exports no classifier; drop --num-classes');
  return { numClasses: f.numClasses, features };
}

export function parseInputLayout(v: string): 'nhwc' | 'nchw' {
  if (v !== 'nhwc' && v !== 'nchw') throw new UsageError(`--input-layout must be nhwc or nchw, got '${v}'`);
  return v;
}

/** `softmax` or `topk=K` (K is checked against the class count at export). */
export function parsePostprocess(v: string): { kind: 'softmax' } | { kind: 'topk'; k: number } {
  if (v === 'softmax') return { kind: 'softmax' };
  const m = /^topk=(\d+)$/.exec(v);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 100_000) return { kind: 'topk', k: Number(m[1]) };
  throw new UsageError(`--postprocess must be softmax or topk=K with K ≥ 1, got '${v}'`);
}

/**
 * `--layout`: issue 9's image layout (nhwc|nchw, with --preprocess) and issue 11's checkpoint layout
 * (official|timm) share the flag name; the value sets are disjoint, so the value says which is meant.
 */
export function parseLayoutAlias(v: string): 'nhwc' | 'nchw' | 'official' | 'timm' {
  if (v === 'nhwc' || v === 'nchw' || v === 'official' || v === 'timm') return v;
  throw new UsageError(`--layout must be nhwc or nchw (image layout, with --preprocess) or official or timm (checkpoint layout), got '${v}'`);
}

/** --max-input-mb: the largest total size of generated inputs verify/diff allocate (default 1024). */
export const DEFAULT_MAX_INPUT_MB = 1024;

export function parseMaxInputMb(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1 << 20) throw new UsageError(`--max-input-mb must be an integer from 1 to 1048576, got '${v}'`);
  return n;
}
