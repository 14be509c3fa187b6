/**
 * Scratch probe (not part of the product): int8 QDQ placement variants against float32, timed
 * interleaved in one process (onnxruntime CPU 2 threads or onnxruntime-web 1 thread).
 *   npx tsx bench/int8-probe.ts cpu|wasm|ops model[,model] variant[,variant] [runs]
 * variant: JSON-ish name from VARIANTS below.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/builders/index.js';
import { getModel } from '../src/builders/registry.js';
import { interleaved, latencyStats, openTimed } from '../src/bench/latency.js';
import { onnx } from '../src/onnx/proto.js';
import { exportModel } from '../src/pipeline.js';
import { loadSamples } from '../src/quant/data.js';
import { quantizeOnnx, type QuantizeOptions } from '../src/quant/index.js';
import { preprocessCfg } from '../src/quant/pretrained-cfg.js';
import { recipeInput } from '../src/weights/recipe.js';

const VARIANTS: Record<string, Partial<QuantizeOptions>> = JSON.parse(process.env['PROBE_VARIANTS'] ?? '{}');
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
  const src = mode === 'wasm' ? fp32 : exportModel(model, { target: 'ort' });
  const chw = [3, dims[2]!, dims[3]!] as [number, number, number];
  const cal = loadSamples(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'images', 'calibration'), chw, preprocessCfg(model, [dims[2]!, dims[3]!]), 'calibration');
  const files = [{ name: 'fp32', model: fp32.bytes }];
  for (const v of variantsArg!.split(',')) {
    const o = { ...(VARIANTS[v] ?? {}), ...(mode === 'wasm' ? { profile: 'web' as const } : {}) };
    const q = await quantizeOnnx(src.bytes, cal, o);
    files.push({ name: v, model: q.bytes });
    if (mode === 'ops') {
      const p = `/work/scratch/int8speed/${model}.${v}.opt.onnx`;
      const s = await openTimed(q.bytes, 'cpu', { optimizedModelFilePath: p });
      await s.release();
      writeFileSync(`/work/scratch/int8speed/${model}.${v}.onnx`, q.bytes);
      const { readFileSync } = await import('node:fs');
      console.log(model, v, JSON.stringify(ops(readFileSync(p))));
    }
  }
  if (mode === 'ops') continue;
  const feeds = { input: { dtype: 'float32' as const, dims, data: recipeInput(dims) } };
  const t = await interleaved(files, feeds, mode === 'wasm' ? 'wasm' : 'cpu', { runs, warmup: 2, threads: mode === 'wasm' ? 1 : 2 });
  const base = median(t.get('fp32')!);
  console.log(`${model} ${mode} fp32 ${base.toFixed(2)} ms | ` + files.slice(1).map((f) => `${f.name} ${median(t.get(f.name)!).toFixed(2)} (${(median(t.get(f.name)!) / base).toFixed(3)})`).join(' | '));
}
