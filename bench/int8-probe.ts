/**
 * int8 placement probe (a measuring tool, not part of `npm run bench`): QDQ files written with
 * different quantizeOnnx options, against the float32 vitx file.
 *
 *   PROBE_VARIANTS='{"old":{"regions":false,"gemm":false,"minReduction":64},"new":{}}' \
 *     npx tsx bench/int8-probe.ts cpu|wasm|ops|fid model[,model…] variant[,variant…] [runs]
 *
 *   cpu / wasm  interleaved latency in one process (thread spinning off; CPU 2 threads from the
 *               `--target ort` file, as `vitx export --dtype int8` does; WASM 1 thread, profile web
 *               from the default file, as `npm run bench` does); medians and int8/float32 ratios
 *   ops         op histogram of onnxruntime's optimized graph (which QLinear* kernels it fused);
 *               files under $PROBE_DIR (default: the OS temp folder)
 *   fid         worst held-out Pearson correlation (reference weights, fixtures/images/evaluation)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/builders/index.js';
import { getModel } from '../src/builders/registry.js';
import { interleaved, latencyStats, openTimed } from '../src/bench/latency.js';
import { onnx } from '../src/onnx/proto.js';
import { type ExportOptions, exportModel } from '../src/pipeline.js';
import { loadSamples } from '../src/quant/data.js';
import { quantizeOnnx, type QuantizeOptions } from '../src/quant/index.js';
import { preprocessCfg } from '../src/quant/pretrained-cfg.js';
import { recipeInput } from '../src/weights/recipe.js';
import { feedFor } from '../src/quant/calibrate.js';
import { compareRow } from '../src/quant/fidelity.js';
import { referenceCheckpoint } from '../test/helpers/reference.js';
import { setPlatform } from '../src/platform/index.js';
import { NODE_PLATFORM } from '../src/platform/node.js';

setPlatform(NODE_PLATFORM); // int8 calibration runs on the host's onnxruntime (src/platform)

/** A variant: quantizeOnnx options, and `source`: exportModel options of the float file it quantizes (cpu / ops / fid; default `{ target: 'ort' }`, e.g. `{"source":{"contribAttention":false,"ortLayout":true}}`). */
type Variant = Partial<QuantizeOptions> & { source?: ExportOptions };
const VARIANTS: Record<string, Variant> = JSON.parse(process.env['PROBE_VARIANTS'] ?? '{}');
const [mode, modelsArg, variantsArg, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 20);
const median = (t: readonly number[]) => latencyStats(t, 1).p50;

function ops(bytes: Uint8Array): Record<string, number> {
  const h: Record<string, number> = {};
  for (const n of onnx.ModelProto.decode(bytes).graph!.node!) h[n.opType!] = (h[n.opType!] ?? 0) + 1;
  return h;
}

for (const model of modelsArg!.split(',')) {
  const spec = getModel(model);
  const dims = [1, 3, spec.defaultSize[0], spec.defaultSize[1]];
  const fp32 = exportModel(model);
  const sources = new Map<string, Uint8Array>();
  const source = (v: string, checkpoint?: ExportOptions['checkpoint']): Uint8Array => {
    const o: ExportOptions = { target: 'ort', ...(VARIANTS[v]?.source ?? {}), ...(checkpoint ? { checkpoint } : {}) };
    const key = `${JSON.stringify(VARIANTS[v]?.source ?? {})}${checkpoint ? ' ref' : ''}`;
    if (!sources.has(key)) sources.set(key, exportModel(model, o).bytes);
    return sources.get(key)!;
  };
  const quantOptions = (v: string): Partial<QuantizeOptions> => { const { source: _, ...q } = VARIANTS[v] ?? {}; return q; };
  const chw = [3, dims[2]!, dims[3]!] as [number, number, number];
  const cal = loadSamples(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'images', 'calibration'), chw, preprocessCfg(model, [dims[2]!, dims[3]!]), 'calibration');
  const files = [{ name: 'fp32', model: fp32.bytes }];
  for (const v of variantsArg!.split(',')) {
    const o = { ...quantOptions(v), ...(mode === 'wasm' ? { profile: 'web' as const } : {}) };
    const q = await quantizeOnnx(mode === 'wasm' ? fp32.bytes : source(v), cal, o);
    files.push({ name: v, model: q.bytes });
    if (mode === 'ops') {
      const base = join(process.env['PROBE_DIR'] ?? tmpdir(), `${model}.${v}`);
      const s = await openTimed(q.bytes, 'cpu', { optimizedModelFilePath: `${base}.opt.onnx` });
      await s.release();
      writeFileSync(`${base}.onnx`, q.bytes);
      const p = `${base}.opt.onnx`;
      console.log(model, v, JSON.stringify(ops(readFileSync(p))));
    }
  }
  if (mode === 'ops') continue;
  if (mode === 'fid') {
    // worst held-out Pearson correlation (reference weights, fixtures/images/evaluation), cpu as deployed
    const r = exportModel(model, { checkpoint: referenceCheckpoint(model), target: 'ort' });
    const ev = loadSamples(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'images', 'evaluation'), chw, preprocessCfg(model, [dims[2]!, dims[3]!]), 'evaluation');
    const row: string[] = [];
    for (const v of variantsArg!.split(',')) {
      const q = await quantizeOnnx(source(v, referenceCheckpoint(model)), cal, quantOptions(v));
      const [a, b] = [await openTimed(r.bytes, 'cpu', { noOptimizations: true }), await openTimed(q.bytes, 'cpu')];
      let worst = 1;
      for (let i = 0; i < ev.data.length; i++) {
        const feeds = feedFor(r.graph, ev, i);
        const x = (await a.infer(feeds))['logits']!.data as Float32Array, y = (await b.infer(feeds))['logits']!.data as Float32Array;
        worst = Math.min(worst, compareRow(ev.names[i]!, x, y, true).pearson);
      }
      await a.release(); await b.release();
      row.push(`${v} ${worst.toFixed(4)}`);
    }
    console.log(`${model} worst held-out pearson: ${row.join(' | ')}`);
    continue;
  }
  const feeds = { input: { dtype: 'float32' as const, dims, data: recipeInput(dims) } };
  const t = await interleaved(files, feeds, mode === 'wasm' ? 'wasm' : 'cpu', { runs, warmup: 2, threads: mode === 'wasm' ? 1 : 2 });
  const base = median(t.get('fp32')!);
  console.log(`${model} ${mode} fp32 ${base.toFixed(2)} ms | ` + files.slice(1).map((f) => `${f.name} ${median(t.get(f.name)!).toFixed(2)} (${(median(t.get(f.name)!) / base).toFixed(3)})`).join(' | '));
}
