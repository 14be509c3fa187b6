/**
 * `vitx bench <model|file.onnx>`: p50/p90 latency and throughput per backend with onnxruntime's
 * optimizations on (bench/latency.ts), and with --profile the node types and nodes that take the
 * most time according to onnxruntime's profiler (cpu and webgpu).
 */
import type { Command } from 'commander';
import '../builders/index.js';
import { type AnyBenchEp, BENCH_EPS, browserLatency, latencyStats, type LatencyStats, openTimed, type ProfileEvent } from '../bench/latency.js';
import { getModel } from '../builders/registry.js';
import { exportModel } from '../pipeline.js';
import { readSignature, seededInputs } from '../verify/inputs.js';
import { UsageError } from './errors.js';
import { readInput, writeAtomic } from './files.js';
import type { Io } from './main.js';
import { parseRuns } from './quantize.js';

interface BenchFlags { ep: AnyBenchEp[]; threads: number; runs: number; warmup: number; profile?: boolean; json?: string }

function parseEps(v: string): AnyBenchEp[] {
  const out: AnyBenchEp[] = [];
  for (const raw of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(BENCH_EPS as readonly string[]).includes(raw)) throw new UsageError(`--ep: '${raw}' is not a bench backend (choose from ${BENCH_EPS.join(', ')})`);
    if (!out.includes(raw as AnyBenchEp)) out.push(raw as AnyBenchEp);
  }
  if (out.length === 0) throw new UsageError('--ep needs at least one backend');
  return out;
}

function parseThreads(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 256) throw new UsageError(`--threads must be an integer from 0 (onnxruntime's default) to 256, got '${v}'`);
  return n;
}

export interface ProfileSummary { byType: { op: string; ms: number; share: number }[]; byNode: { node: string; op: string; ms: number }[] }

/** Sums the profiler's per-node kernel times ("…_kernel_time" events, µs) per op type and per node. */
export function summarizeProfile(events: readonly ProfileEvent[], top = 10): ProfileSummary {
  const types = new Map<string, number>(), nodes = new Map<string, { op: string; us: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?', node = e.name.slice(0, -'_kernel_time'.length);
    types.set(op, (types.get(op) ?? 0) + e.dur);
    const n = nodes.get(node) ?? { op, us: 0 };
    n.us += e.dur; nodes.set(node, n);
  }
  const total = [...types.values()].reduce((a, b) => a + b, 0) || 1;
  return {
    byType: [...types].sort((a, b) => b[1] - a[1]).slice(0, top).map(([op, us]) => ({ op, ms: us / 1000, share: us / total })),
    byNode: [...nodes].sort((a, b) => b[1].us - a[1].us).slice(0, top).map(([node, v]) => ({ node, op: v.op, ms: v.us / 1000 })),
  };
}

export function registerBench(program: Command, io: Io): void {
  program
    .command('bench')
    .description('measure latency (p50/p90) and throughput per backend, onnxruntime optimizations on')
    .argument('<model|file.onnx>', "model name (exported as 'vitx export' would) or an ONNX file")
    .option('--ep <list>', `backends, comma-separated: ${BENCH_EPS.join(', ')}`, parseEps, ['cpu'] as AnyBenchEp[])
    .option('--threads <n>', 'intra-op threads (0: onnxruntime\'s default; wasm: worker threads)', parseThreads, 0)
    .option('--runs <n>', 'timed runs per backend', parseRuns('--runs'), 20)
    .option('--warmup <n>', 'untimed runs first', parseRuns('--warmup'), 3)
    .option('--profile', 'top node types and nodes by time (onnxruntime profiler; cpu, webgpu)')
    .option('--json <file>', 'also write the results as JSON')
    .action(async (target: string, f: BenchFlags) => {
      const bytes = target.endsWith('.onnx') ? readInput(target, 'ONNX file') : exportModel(getModel(target).name).bytes;
      const sig = readSignature(bytes);
      const batch = 1;
      const feeds = seededInputs(sig, { seed: 0, batch });
      const results: { ep: AnyBenchEp; latency: LatencyStats; profile?: ProfileSummary }[] = [];
      for (const ep of f.ep) {
        if (ep === 'browser-wasm' || ep === 'browser-webgpu') {
          results.push({ ep, latency: latencyStats(await browserLatency(bytes, ep, feeds, { runs: f.runs, warmup: f.warmup }), batch) });
          continue;
        }
        const s = await openTimed(bytes, ep, { threads: f.threads, profile: f.profile && ep !== 'wasm' });
        const ms: number[] = [];
        try {
          for (let i = 0; i < f.warmup; i++) await s.run(feeds);
          for (let i = 0; i < f.runs; i++) ms.push(await s.run(feeds));
          const profile = f.profile && ep !== 'wasm' ? summarizeProfile(await s.endProfiling()) : undefined;
          results.push({ ep, latency: latencyStats(ms, batch), profile });
        } finally {
          await s.release();
        }
      }
      if (f.json) writeAtomic(f.json, [new TextEncoder().encode(`${JSON.stringify({ model: target, threads: f.threads, batch, results }, null, 1)}\n`)]);
      io.out(`${target}: ${f.runs} runs after ${f.warmup} warm-up, batch ${batch}, threads ${f.threads || 'default'}, onnxruntime optimizations on\n`);
      io.out(`  ${'backend'.padEnd(14)} ${'p50 ms'.padStart(9)} ${'p90 ms'.padStart(9)} ${'img/s'.padStart(8)}\n`);
      for (const r of results) io.out(`  ${r.ep.padEnd(14)} ${r.latency.p50.toFixed(2).padStart(9)} ${r.latency.p90.toFixed(2).padStart(9)} ${r.latency.throughput.toFixed(1).padStart(8)}\n`);
      for (const r of results) {
        if (!r.profile) continue;
        io.out(`  profile ${r.ep}, top node types (kernel time over all runs):\n`);
        for (const t of r.profile.byType) io.out(`    ${t.op.padEnd(24)} ${t.ms.toFixed(2).padStart(9)} ms ${(100 * t.share).toFixed(1).padStart(5)} %\n`);
        io.out(`  profile ${r.ep}, top nodes:\n`);
        for (const n of r.profile.byNode) io.out(`    ${n.node} (${n.op}) ${n.ms.toFixed(2)} ms\n`);
      }
      if (f.profile && f.ep.some((e) => e.includes('wasm') || e.startsWith('browser'))) io.out('  (onnxruntime-web backends: no profile; the profiler output is onnxruntime-node\'s)\n');
    });
}
