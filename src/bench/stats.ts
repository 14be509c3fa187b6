/** Latency statistics (no I/O): shared by `vitx bench`, the int8 report and the web app. */
export interface LatencyStats { runs: number; p50: number; p90: number; mean: number; min: number; throughput: number }

export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

/** p50/p90/mean/min in ms; throughput in images per second at batch `batch` (from p50). */
export function latencyStats(ms: readonly number[], batch: number): LatencyStats {
  const s = [...ms].sort((a, b) => a - b);
  const p50 = quantile(s, 0.5);
  return { runs: s.length, p50, p90: quantile(s, 0.9), mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length), min: s[0] ?? NaN, throughput: (1000 * batch) / p50 };
}
