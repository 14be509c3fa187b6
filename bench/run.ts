/**
 * `npm run bench`: export wall time, onnxruntime CPU latency (2 intra-op threads, median of ≥20
 * runs after warm-up) of the train-time graph vs the vitx-optimized graph, and node counts, for
 * every registered model. Writes bench/results.md (committed).
 *
 * Also: int8 (vitx's QDQ file, calibrated on fixtures/images/calibration) against float32 on CPU
 * and WASM, timed interleaved in one process (thread spinning off), and the float32 roofline: a
 * 2048³ MatMul's GFLOP/s on the same machine (and the int8 QDQ MatMul's GOP/s).
 *
 *   npm run bench                                  all models
 *   npm run bench -- nextvit_small …               selected models (or VITX_BENCH_MODELS=a,b)
 *   VITX_BENCH_RUNS=50 npm run bench               more timed runs
 *   VITX_BENCH_WASM=0 / VITX_BENCH_INT8=0          skip the WASM / int8 columns
 *   VITX_BENCH_WEB=0                               skip the web app section (bench/web.ts)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/builders/index.js';
import { listModels, specParams } from '../src/builders/registry.js';
import { exportModel } from '../src/pipeline.js';
import { createSession, runSession } from '../src/runtime/ort.js';
import { recipeInput } from '../src/weights/recipe.js';
import { interleaved, latencyStats } from '../src/bench/latency.js';
import { attr, Graph } from '../src/graph/ir.js';
import { Tensor } from '../src/graph/tensor.js';
import { serialize } from '../src/onnx/serialize.js';
import { loadSamples } from '../src/quant/data.js';
import { DEFAULT_METHOD, INT8_SOURCE, quantizeOnnx } from '../src/quant/index.js';
import { preprocessCfg } from '../src/quant/pretrained-cfg.js';
import { webBenchSection } from './web.js';
import { setPlatform } from '../src/platform/index.js';
import { NODE_PLATFORM } from '../src/platform/node.js';

setPlatform(NODE_PLATFORM); // int8 calibration runs on the host's onnxruntime (src/platform)

const RUNS = Number(process.env['VITX_BENCH_RUNS'] ?? 20);
const WARMUP = 3;

async function latency(bytes: Uint8Array, dims: number[], ortOpt: boolean): Promise<number> {
  const s = await createSession(bytes, { intraOpThreads: 2, disableOptimizations: !ortOpt });
  const feeds = { input: { dtype: 'float32' as const, dims, data: recipeInput(dims) } };
  try {
    for (let i = 0; i < WARMUP; i++) await runSession(s, feeds);
    const t: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await runSession(s, feeds);
      t.push(performance.now() - t0);
    }
    t.sort((a, b) => a - b);
    return t[Math.floor(t.length / 2)]!;
  } finally {
    await s.release();
  }
}

const WASM = process.env['VITX_BENCH_WASM'] !== '0';
const MAX_PARAMS = 100e6;
/** The models issue 13's int8 latency targets are a geomean over. */
const TARGET_MODELS = ['nextvit_small', 'maxvit_tiny_tf_224', 'edgevit_xxs', 'mobilevit_xxs', 'fastvit_t8', 'fastvit_sa12', 'mobileone_s0', 'mobileone_s1'];
const INT8 = process.env['VITX_BENCH_INT8'] !== '0';
const median = (t: readonly number[]) => latencyStats(t, 1).p50;

/** Files timed interleaved on `ep` (medians in ms, in the order given). */
async function interleavedLatency(models: readonly Uint8Array[], dims: number[], ep: 'cpu' | 'wasm'): Promise<number[]> {
  const feeds = { input: { dtype: 'float32' as const, dims, data: recipeInput(dims) } };
  const runs = ep === 'wasm' ? Math.max(3, Math.round(RUNS / 4)) : RUNS;
  const t = await interleaved(models.map((model, i) => ({ name: String(i), model })), feeds, ep, { runs, warmup: ep === 'wasm' ? 1 : WARMUP, threads: ep === 'cpu' ? 2 : 1 });
  return models.map((_, i) => median(t.get(String(i))!));
}

/** Roofline: a [n, n] × [n, n] MatMul in float32 and in QDQ int8 (u8 × s8), GFLOP/s = 2n³ / t. */
async function roofline(n = 2048): Promise<{ fp32: number; int8: number }> {
  const g = new Graph('matmul');
  const a = g.addInput('input', { dtype: 'float32', shape: [n, n] });
  const b = g.addInitializer('b', new Tensor('float32', [n, n], recipeInput([1, 1, n, n])));
  const y = g.addNode('MatMul', [a, b], [{ dtype: 'float32', shape: [n, n] }], { name: 'mm' }).output;
  g.outputs.push(y);
  const fp32 = serialize(g, { opset: 17 });
  const q = new Graph('matmul_int8');
  const qa = q.addInput('input', { dtype: 'float32', shape: [n, n] });
  const s = q.addInitializer('s', Tensor.scalarF32(1 / 64)), zu = q.addInitializer('zu', new Tensor('uint8', [], Uint8Array.of(128)));
  const ws = q.addInitializer('ws', Tensor.scalarF32(1 / 64)), zs = q.addInitializer('zs', new Tensor('int8', [], Int8Array.of(0)));
  const wq = q.addInitializer('bq', new Tensor('int8', [n, n], Int8Array.from(recipeInput([1, 1, n, n]), (v) => Math.round(v * 60))));
  const xq = q.addNode('QuantizeLinear', [qa, s, zu], [{ dtype: 'uint8', shape: [n, n] }], { name: 'qx' }).output;
  const xd = q.addNode('DequantizeLinear', [xq, s, zu], [{ dtype: 'float32', shape: [n, n] }], { name: 'dqx' }).output;
  const wd = q.addNode('DequantizeLinear', [wq, ws, zs], [{ dtype: 'float32', shape: [n, n] }], { name: 'dqw' }).output;
  const qy = q.addNode('MatMul', [xd, wd], [{ dtype: 'float32', shape: [n, n] }], { name: 'mm', attrs: {} }).output;
  const yq = q.addNode('QuantizeLinear', [qy, s, zu], [{ dtype: 'uint8', shape: [n, n] }], { name: 'qy' }).output;
  q.outputs.push(q.addNode('DequantizeLinear', [yq, s, zu], [{ dtype: 'float32', shape: [n, n] }], { name: 'dqy', attrs: { axis: attr.int(1) } }).output);
  const int8 = serialize(q, { opset: 17 });
  const feeds = { input: { dtype: 'float32' as const, dims: [n, n], data: recipeInput([1, 1, n, n]) } };
  const t = await interleaved([{ name: 'fp32', model: fp32 }, { name: 'int8', model: int8 }], feeds, 'cpu', { runs: 10, warmup: 2, threads: 2 });
  const gflop = (2 * n ** 3) / 1e9;
  return { fp32: gflop / (median(t.get('fp32')!) / 1000), int8: gflop / (median(t.get('int8')!) / 1000) };
}

const nodes = (h: Map<string, number>) => [...h.values()].reduce((a, b) => a + b, 0);
const ms = (x: number) => x.toFixed(x < 10 ? 2 : 1);

interface Row { model: string; exportS: number; nodesTrain: number; nodesOpt: number; bnTrain: number; bnOpt: number; lat: number[]; fused?: [number, number]; cpu8?: [number, number]; wasm8?: [number, number] }

async function main(): Promise<void> {
  const wanted = [...process.argv.slice(2), ...(process.env['VITX_BENCH_MODELS'] ?? '').split(',').filter(Boolean)];
  // default: every architecture up to 100 M parameters (the larger ones take minutes per configuration on 2 cores)
  const models = listModels().filter((s) => (wanted.length === 0 ? specParams(s) <= MAX_PARAMS : wanted.includes(s.name)));
  const rows: Row[] = [];
  for (const spec of models) {
    const dims = [1, 3, spec.defaultSize[0], spec.defaultSize[1]];
    const t0 = performance.now();
    const opt = exportModel(spec.name);
    const exportS = (performance.now() - t0) / 1000;
    const train = exportModel(spec.name, { optimize: false });
    const lat = [
      await latency(train.bytes, dims, true), await latency(opt.bytes, dims, true),
      await latency(train.bytes, dims, false), await latency(opt.bytes, dims, false),
    ];
    const row = {
      model: spec.name, exportS, nodesTrain: nodes(train.nodesAfter), nodesOpt: nodes(opt.nodesAfter),
      bnTrain: train.nodesAfter.get('BatchNormalization') ?? 0, bnOpt: opt.nodesAfter.get('BatchNormalization') ?? 0, lat,
    };
    // --target ort (contrib fusions) and int8 as `vitx export --dtype int8` writes it, interleaved with the default file
    const ortFile = exportModel(spec.name, { target: 'ort' });
    if (INT8) {
      const chw = [3, dims[2]!, dims[3]!] as [number, number, number];
      const cal = loadSamples(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'images', 'calibration'), chw, preprocessCfg(spec.name, [dims[2]!, dims[3]!]), 'calibration');
      const q = await quantizeOnnx(exportModel(spec.name, { target: 'ort', ...INT8_SOURCE }).bytes, cal); // as `vitx export --dtype int8`
      const [fp32, fused, int8] = await interleavedLatency([opt.bytes, ortFile.bytes, q.bytes], dims, 'cpu');
      (row as Row).fused = [fp32!, fused!];
      (row as Row).cpu8 = [fp32!, int8!];
      if (WASM) {
        const web = await quantizeOnnx(opt.bytes, cal, { profile: 'web' });
        (row as Row).wasm8 = await interleavedLatency([opt.bytes, web.bytes], dims, 'wasm') as [number, number];
      }
    } else {
      (row as Row).fused = await interleavedLatency([opt.bytes, ortFile.bytes], dims, 'cpu') as [number, number];
    }
    rows.push(row);
    process.stderr.write(`${spec.name}: export ${exportS.toFixed(2)} s, nodes ${row.nodesTrain}→${row.nodesOpt}, CPU ${ms(lat[0]!)}→${ms(lat[1]!)} ms\n`);
  }
  const roof = await roofline();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const ratio = (p?: [number, number]) => (p ? `${ms(p[0])} → ${ms(p[1])} (${(p[1] / p[0]).toFixed(2)}×)` : '—');
  const geo = (k: 'cpu8' | 'wasm8' | 'fused', only?: readonly string[]) => {
    const rs = rows.filter((r) => !only || only.includes(r.model)).map((r) => r[k]).filter((p): p is [number, number] => Boolean(p));
    return rs.length ? Math.exp(rs.reduce((a, p) => a + Math.log(p[1] / p[0]), 0) / rs.length).toFixed(2) : '—';
  };
  const lines = [
    '# vitx benchmark results',
    '',
    `Generated by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpu}, ${cpus().length} cores, Node ${process.version}, onnxruntime-node (CPU EP, 2 intra-op threads).`,
    `Latency: median of ${RUNS} runs after ${WARMUP} warm-up runs, batch 1 at the default input size, deterministic weights.`,
    wanted.length ? `Models: ${models.length} named on the command line.` : `Models: every registered architecture up to ${MAX_PARAMS / 1e6} M parameters (${models.length} of ${listModels().length}); the larger ones take minutes per configuration on 2 cores (the zoo test exports and runs each once).`,
    '"train-time" is `vitx export --no-optimize` (every BatchNorm and branch as trained); "vitx" is the default pipeline.',
    'onnxruntime\'s own graph optimizations are shown both on ("ORT all", how users run it) and off ("ORT off", which isolates what vitx\'s passes do).',
    '',
    'The train-time file run with ORT all stands in for `torch.onnx.export` of the same model (torch is not installed here; onnxruntime applies the same Conv+BN fusions to it).',
    `Roofline on this machine (onnxruntime CPU, 2 threads): 2048³ MatMul ${roof.fp32.toFixed(0)} GFLOP/s float32, ${roof.int8.toFixed(0)} GOP/s int8 (QDQ, u8×s8).`,
    INT8 ? `int8: \`vitx export --dtype int8\` (QDQ, ${DEFAULT_METHOD} calibration on fixtures/images/calibration, GELU fusion and layout rewrites of \`--target ort\`, the attention score path as MultiHeadAttention after the quantized projections), timed interleaved with the float32 vitx file in one process (thread spinning off), ORT all; CPU 2 threads, WASM onnxruntime-web 1 thread. Geomean int8/fp32: CPU ${geo('cpu8')}, WASM ${geo('wasm8')}; over issue 13's eight models (${TARGET_MODELS.join(', ')}): CPU ${geo('cpu8', TARGET_MODELS)}, WASM ${geo('wasm8', TARGET_MODELS)}.` : '',
    '',
    `fp32 --target ort: the same float32 file with onnxruntime contrib fusions (GELU and attention as one node each) and the layout rewrites measured with them, interleaved with the default file; geomean ${geo('fused')}.`,
    '',
    '| model | export (s) | nodes train-time → vitx | BatchNorm nodes | CPU ms, ORT all: train-time (torch.onnx stand-in) → vitx | CPU ms, ORT off: train-time → vitx | CPU ms fp32 → fp32 --target ort | CPU ms fp32 → int8 | WASM ms fp32 → int8 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.model} | ${r.exportS.toFixed(2)} | ${r.nodesTrain} → ${r.nodesOpt} | ${r.bnTrain} → ${r.bnOpt} | ${ms(r.lat[0]!)} → ${ms(r.lat[1]!)} | ${ms(r.lat[2]!)} → ${ms(r.lat[3]!)} | ${ratio(r.fused)} | ${ratio(r.cpu8)} | ${ratio(r.wasm8)} |`),
    '',
  ];
  const here = dirname(fileURLToPath(import.meta.url));
  // hand-maintained sections (observations from the test suite) follow the generated table
  if (process.env['VITX_BENCH_WEB'] !== '0') lines.push(...await webBenchSection()); // the web app (bench/web.ts)
  const extra = join(here, 'backends.md');
  if (existsSync(extra)) lines.push(readFileSync(extra, 'utf8'));
  const out = join(here, wanted.length ? 'results.partial.md' : 'results.md');
  writeFileSync(out, lines.join('\n'));
  process.stderr.write(`wrote ${out}\n`);
}

main().catch((e) => { process.stderr.write(`bench failed: ${(e as Error).stack}\n`); process.exit(1); });
