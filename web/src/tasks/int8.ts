/**
 * `--dtype int8` in the page, around the front door's int8 export (src/library.ts): the dropped
 * photos are the calibration folder (read in name order, as a folder is), preprocessed as the CLI
 * does (src/quant/images.ts, the tag's pretrained cfg); the front door splits and quantizes them
 * (its calibration runs on onnxruntime-web's WebAssembly in Node too: same ranges, same bytes);
 * the fidelity report runs on WASM here, and the CLI's latency check (refuse a slower int8 file
 * unless --force) on WASM with onnxruntime's optimizations on.
 */
import type { QuantizeReport } from '../../../src/browser.js';
import { latencyStats } from '../../../src/bench/stats.js';
import { UsageError } from '../../../src/cli/errors.js';
import { parseOnnx } from '../../../src/onnx/parse.js';
import { feedFor } from '../../../src/quant/calibrate.js';
import { preprocessImage } from '../../../src/quant/images.js';
import { preprocessCfg } from '../../../src/quant/pretrained-cfg.js';
import { formatInt8Report } from '../../../src/quant/report.js';
import { type Samples, splitHeldOut } from '../../../src/quant/samples.js';
import type { ExportRequest } from '../protocol.js';
import type { Parsed, Progress } from './export.js';
import { decodePhoto } from './image.js';
import { openSession, opener, runFeeds } from './ort.js';

const IMAGE_EXT = /\.(jpe?g|png)$/i;
const LATENCY_RUNS = 10;

/** The fidelity report's sessions: outputs as deployed (optimizations on), per-layer tensors with them off. */
export const OPENERS = { open: opener('wasm', true), openLayers: opener('wasm', false) };

export interface Latency { ep: 'wasm'; runs: number; float32Ms: number; int8Ms: number; ratio: number }

export async function photoSamples(q: ExportRequest, p: Parsed, progress: Progress): Promise<Samples> {
  const files = [...(q.calibration ?? [])].filter((f) => IMAGE_EXT.test(f.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (files.length === 0) throw new UsageError('calibration photos: drop .jpg/.jpeg/.png files');
  const cfg = preprocessCfg(q.model, p.size); // the export's input size: --size, else the tag's (or the architecture's)
  const data: Float32Array[] = [];
  for (const [i, f] of files.entries()) {
    progress(`decoding calibration photo ${i + 1} of ${files.length}`, 0.01);
    data.push(preprocessImage(await decodePhoto(new Uint8Array(f.bytes), f.name), cfg));
  }
  return {
    description: `${files.length} image${files.length === 1 ? '' : 's'} dropped in the page (${cfg.source}: ${cfg.interpolation}, crop_pct ${cfg.cropPct})`,
    names: files.map((f) => f.name), shape: [3, cfg.size[0], cfg.size[1]], data,
  };
}

/** Median of interleaved timed runs of both files on WASM (the CLI's check), refusing a slower int8 file unless forced. */
export async function latencyCheck(floatBytes: Uint8Array, int8Bytes: Uint8Array, samples: Samples, model: string, force: boolean, progress: Progress): Promise<Latency> {
  progress('latency on wasm', 0.9);
  const g = parseOnnx(floatBytes).graph;
  const feeds = feedFor(g, splitHeldOut(samples).heldOut, 0);
  const s = [await openSession(floatBytes, 'wasm', true), await openSession(int8Bytes, 'wasm', true)];
  const t: number[][] = [[], []];
  try {
    for (const x of s) await runFeeds(x, feeds);
    for (let r = 0; r < LATENCY_RUNS; r++) {
      for (const [i, x] of s.entries()) { const t0 = performance.now(); await runFeeds(x, feeds); t[i]!.push(performance.now() - t0); }
    }
  } finally {
    for (const x of s) await x.release();
  }
  const a = latencyStats(t[0]!, 1).p50, b = latencyStats(t[1]!, 1).p50;
  if (b > a && !force) throw new UsageError(`the int8 file is slower than float32 on wasm (${b.toFixed(2)} ms vs ${a.toFixed(2)} ms); ${model}.onnx not written (--force writes it anyway)`);
  return { ep: 'wasm', runs: LATENCY_RUNS, float32Ms: a, int8Ms: b, ratio: b / a };
}

export function reportText(q: QuantizeReport, latency: Latency): string {
  return formatInt8Report({ ...q, latency, written: true });
}
