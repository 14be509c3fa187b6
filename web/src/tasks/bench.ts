/**
 * `vitx bench` in the page: the exported file on each backend with onnxruntime's optimizations on
 * (as deployed), warm-up runs, then timed runs one at a time; p50 / p90 as src/bench/latency.ts
 * computes them. Inputs are the seeded ones verify uses.
 */
import { latencyStats } from '../../../src/bench/stats.js';
import { readSignature, seededInputs } from '../../../src/verify/inputs.js';
import type { BenchDone, BenchRow, Ep } from '../protocol.js';
import type { Exported } from './export.js';
import { openSession, runFeeds, webgpuMissing } from './ort.js';

export async function runBench(x: Exported, eps: readonly Ep[], runs: number, warmup: number, progress: (s: string, f: number) => void): Promise<BenchDone> {
  const feeds = seededInputs(readSignature(x.bytes), { seed: 0, batch: 1 });
  const rows: BenchRow[] = [];
  for (const [i, ep] of eps.entries()) {
    const base = i / eps.length, step = 1 / eps.length;
    progress(`${ep}: starting`, base);
    const missing = ep === 'webgpu' ? await webgpuMissing() : null;
    if (missing) { rows.push({ ep, status: 'unavailable', detail: missing, p50: NaN, p90: NaN, runs: 0 }); continue; }
    try {
      const s = await openSession(x.bytes, ep, true);
      const ms: number[] = [];
      try {
        for (let w = 0; w < warmup; w++) await runFeeds(s, feeds);
        for (let r = 0; r < runs; r++) {
          const t0 = performance.now();
          await runFeeds(s, feeds);
          ms.push(performance.now() - t0);
          progress(`${ep}: run ${r + 1} of ${runs}`, base + (step * (r + 1)) / runs);
        }
      } finally {
        await s.release();
      }
      const st = latencyStats(ms, 1);
      rows.push({ ep, status: 'ok', detail: '', p50: st.p50, p90: st.p90, runs: st.runs });
    } catch (e) {
      rows.push({ ep, status: 'error', detail: String((e as Error).message ?? e).split('\n')[0]!, p50: NaN, p90: NaN, runs: 0 });
    }
  }
  return { rows };
}
