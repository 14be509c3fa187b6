/**
 * `vitx bench <model|file.onnx>`: p50/p90 latency and throughput per backend with onnxruntime's
 * optimizations on (bench/latency.ts), and with --profile the node types and nodes that take the
 * most time according to onnxruntime's profiler, on every backend (bench/profile.ts).
 */
import type { Command } from 'commander';
import '../builders/index.js';
import { type AnyBenchEp, BENCH_EPS, browserLatency, latencyStats, type LatencyStats, openTimed } from '../bench/latency.js';
import { parseProfileText, profileOf, type ProfileSummary, type ProfileUnavailable } from '../bench/profile.js';
import { getModel } from '../builders/registry.js';
import { exportModel } from '../pipeline.js';
import { readSignature, seededInputs } from '../verify/inputs.js';
import { UsageError } from './errors.js';
import { checkOutputs, readInput, writeAtomic } from './files.js';
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

function checkCombination(f: BenchFlags): void {
  const browser = f.ep.filter((e) => e.startsWith('browser-'));
  if (f.threads > 1 && browser.length > 0) {
    throw new UsageError(`--threads ${f.threads} does not apply to ${browser.join(', ')}: onnxruntime-web runs one thread in the page (no cross-origin isolation); bench the browser backends without --threads`);
  }
}

/** The profile of one backend as text lines (two spaces in, like the table). */
function profileLines(ep: string, p: ProfileSummary | ProfileUnavailable): string[] {
  if ('unavailable' in p) return [`  profile ${ep}: ${p.unavailable}`];
  const what = p.source === 'gpu' ? 'GPU time from WebGPU timestamp queries' : 'kernel time';
  const out = [`  profile ${ep}, top node types (${what}, ${p.totalMs.toFixed(2)} ms over ${p.runs} timed run${p.runs === 1 ? '' : 's'}):`];
  for (const t of p.byType) out.push(`    ${t.op.padEnd(24)} ${t.ms.toFixed(2).padStart(9)} ms ${(100 * t.share).toFixed(1).padStart(5)} %`);
  out.push(`  profile ${ep}, top nodes:`);
  for (const n of p.byNode) out.push(`    ${n.node} (${n.op}) ${n.ms.toFixed(2)} ms`);
  return out;
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
    .option('--profile', 'top node types and nodes by time over the timed runs (onnxruntime\'s profiler; every backend)')
    .option('--json <file>', 'also write the results as JSON')
    .action(async (target: string, f: BenchFlags) => {
      checkCombination(f);
      checkOutputs([['--json', f.json]], target.endsWith('.onnx') ? [target] : []);
      const bytes = target.endsWith('.onnx') ? readInput(target, 'ONNX file') : exportModel(getModel(target).name).bytes;
      const sig = readSignature(bytes);
      const batch = 1;
      const feeds = seededInputs(sig, { seed: 0, batch });
      const results: { ep: AnyBenchEp; latency: LatencyStats; profile?: ProfileSummary | ProfileUnavailable }[] = [];
      for (const ep of f.ep) {
        if (ep === 'browser-wasm' || ep === 'browser-webgpu') {
          const r = await browserLatency(bytes, ep, feeds, { runs: f.runs, warmup: f.warmup, profile: f.profile });
          const text = r.profileText;
          const profile = f.profile ? await profileOf(() => parseProfileText(text ?? ''), f.runs) : undefined;
          results.push({ ep, latency: latencyStats(r.ms, batch), profile });
          continue;
        }
        const s = await openTimed(bytes, ep, { threads: f.threads, profile: f.profile });
        const ms: number[] = [];
        try {
          for (let i = 0; i < f.warmup; i++) await s.run(feeds);
          for (let i = 0; i < f.runs; i++) ms.push(await s.run(feeds));
          const profile = f.profile ? await profileOf(() => s.endProfiling(), f.runs) : undefined;
          results.push({ ep, latency: latencyStats(ms, batch), profile });
        } finally {
          await s.release();
        }
      }
      if (f.json) writeAtomic(f.json, [new TextEncoder().encode(`${JSON.stringify({ model: target, threads: f.threads, batch, results }, null, 1)}\n`)]);
      io.out(`${target}: ${f.runs} runs after ${f.warmup} warm-up, batch ${batch}, threads ${f.threads || 'default'}, onnxruntime optimizations on\n`);
      io.out(`  ${'backend'.padEnd(14)} ${'p50 ms'.padStart(9)} ${'p90 ms'.padStart(9)} ${'img/s'.padStart(8)}\n`);
      for (const r of results) io.out(`  ${r.ep.padEnd(14)} ${r.latency.p50.toFixed(2).padStart(9)} ${r.latency.p90.toFixed(2).padStart(9)} ${r.latency.throughput.toFixed(1).padStart(8)}\n`);
      for (const r of results) if (r.profile) for (const line of profileLines(r.ep, r.profile)) io.out(`${line}\n`);
    });
}
