/** Parsers for command-line values; each throws a UsageError naming the flag. */
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

/** --max-input-mb: the largest total size of generated inputs verify/diff allocate (default 1024). */
export const DEFAULT_MAX_INPUT_MB = 1024;

export function parseMaxInputMb(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1 << 20) throw new UsageError(`--max-input-mb must be an integer from 1 to 1048576, got '${v}'`);
  return n;
}
