/**
 * Peak memory and wall time of one synchronous call, for budgets that guard against amplification
 * (a small file that makes a reader allocate gigabytes or work for minutes).
 *
 * Peak RSS comes from getrusage's ru_maxrss (`process.resourceUsage().maxRSS`), the process's
 * high-water mark: when the call sets a new mark, the mark minus the RSS before the call is how far
 * the call's peak rose above where it started. When it sets no new mark, its peak stayed below an
 * earlier one and `peakGrowthMB` is null (an earlier call was measured, or it was set-up work).
 */
export interface Measured { ms: number; peakGrowthMB: number | null; error: unknown }

export function measure(f: () => unknown): Measured {
  const rss0 = process.memoryUsage().rss;
  const max0 = process.resourceUsage().maxRSS * 1024;
  const t0 = performance.now();
  let error: unknown = null;
  try { f(); } catch (e) { error = e; }
  const ms = performance.now() - t0;
  const max1 = process.resourceUsage().maxRSS * 1024;
  return { ms, peakGrowthMB: max1 > max0 ? (max1 - rss0) / 2 ** 20 : null, error };
}
