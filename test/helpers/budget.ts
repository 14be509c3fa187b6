/**
 * Peak memory, wall time and CPU time of one synchronous call, for budgets that guard against
 * amplification (a small file that makes a reader allocate gigabytes or work for minutes). CPU time
 * (user + system, `process.cpuUsage`) is what a budget should check on a shared machine: wall time
 * stretches with the load of other processes, CPU time hardly does.
 *
 * Peak RSS comes from getrusage's ru_maxrss (`process.resourceUsage().maxRSS`), the process's
 * high-water mark: when the call sets a new mark, the mark minus the RSS before the call is how far
 * the call's peak rose above where it started. When it sets no new mark, its peak stayed below an
 * earlier one and `peakGrowthMB` is null (an earlier call was measured, or it was set-up work).
 */
export interface Measured { ms: number; cpuMs: number; peakGrowthMB: number | null; error: unknown }

export function measure(f: () => unknown): Measured {
  const rss0 = process.memoryUsage().rss;
  const max0 = process.resourceUsage().maxRSS * 1024;
  const t0 = performance.now(), c0 = process.cpuUsage();
  let error: unknown = null;
  try { f(); } catch (e) { error = e; }
  const ms = performance.now() - t0, c = process.cpuUsage(c0);
  const max1 = process.resourceUsage().maxRSS * 1024;
  return { ms, cpuMs: (c.user + c.system) / 1000, peakGrowthMB: max1 > max0 ? (max1 - rss0) / 2 ** 20 : null, error };
}
