/**
 * `--dtype int8` in the page: the dropped photos are the calibration folder (in name order, as a
 * folder is read), preprocessed as the CLI does (src/quant/images.ts, the tag's pretrained cfg),
 * split into calibration and held-out samples as the CLI does (src/quant/data.ts), quantized by
 * src/quant (whose calibration runs on onnxruntime-web's WebAssembly in Node too: same ranges,
 * same bytes), then the fidelity report and the latency check on WASM in the page.
 */
import { latencyStats } from '../../../src/bench/stats.js';
import { parseOnnx } from '../../../src/onnx/parse.js';
import { feedFor } from '../../../src/quant/calibrate.js';
import { type Samples, splitHeldOut } from '../../../src/quant/data.js';
import { fidelity } from '../../../src/quant/fidelity.js';
import { preprocessImage } from '../../../src/quant/images.js';
import { DEFAULT_METHOD, quantizeOnnx } from '../../../src/quant/index.js';
import { preprocessCfg } from '../../../src/quant/pretrained-cfg.js';
import { formatInt8Report, type Int8Report } from '../../../src/quant/report.js';
import { UsageError } from '../../../src/cli/errors.js';
import type { ExportRequest } from '../protocol.js';
import type { Parsed } from './export.js';
import { decodePhoto } from './image.js';
import { openSession, opener, runFeeds } from './ort.js';

const IMAGE_EXT = /\.(jpe?g|png)$/i;
const LATENCY_RUNS = 10;

export class QuantizeRefusedInPage extends Error {}

async function photoSamples(q: ExportRequest, chw: [number, number, number]): Promise<Samples> {
  const files = [...(q.calibration ?? [])].filter((f) => IMAGE_EXT.test(f.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (files.length === 0) throw new UsageError('calibration photos: drop .jpg/.jpeg/.png files');
  let cfg = preprocessCfg(q.model, [chw[1], chw[2]]);
  if (chw[1] !== cfg.size[0] || chw[2] !== cfg.size[1]) cfg = { ...cfg, size: [chw[1], chw[2]] };
  const data: Float32Array[] = [];
  for (const f of files) data.push(preprocessImage(await decodePhoto(new Uint8Array(f.bytes), f.name), cfg));
  return {
    description: `${files.length} image${files.length === 1 ? '' : 's'} dropped in the page (${cfg.source}: ${cfg.interpolation}, crop_pct ${cfg.cropPct})`,
    names: files.map((f) => f.name), shape: [...chw], data,
  };
}

/** Median of interleaved timed runs of both files on WASM, onnxruntime's optimizations on. */
async function latency(floatBytes: Uint8Array, int8Bytes: Uint8Array, feeds: ReturnType<typeof feedFor>): Promise<[number, number]> {
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
  return [latencyStats(t[0]!, 1).p50, latencyStats(t[1]!, 1).p50];
}

export async function quantizeInPage(floatBytes: Uint8Array, q: ExportRequest, p: Parsed, progress: (stage: string, f: number) => void): Promise<{ bytes: Uint8Array; text: string }> {
  const g = parseOnnx(floatBytes).graph;
  const x = g.inputs[0];
  if (!x || x.shape.length !== 4 || x.shape.slice(1).some((d) => typeof d !== 'number')) throw new UsageError('int8: the model needs one NCHW input with static C, H, W');
  const chw = x.shape.slice(1) as [number, number, number];
  progress('decoding calibration photos', 0);
  const { calibration, heldOut } = splitHeldOut(await photoSamples(q, chw));
  const profile = p.target === 'web' || p.target === 'tensorrt' ? p.target : 'ort';
  const method = p.method ?? DEFAULT_METHOD;
  const qr = await quantizeOnnx(floatBytes, calibration, { profile, method, onProgress: (s) => progress(s, 0.2) });
  progress('fidelity on held-out photos', 0.6);
  const fid = await fidelity(floatBytes, qr.bytes, heldOut, opener('wasm', true), opener('wasm', false));
  progress('latency on wasm', 0.85);
  const [a, b] = await latency(floatBytes, qr.bytes, feedFor(g, heldOut, 0));
  const report: Int8Report = {
    profile: qr.profile, method: qr.method, opset: qr.opset, calibration: calibration.description, heldOut: heldOut.description,
    quantized: qr.stats, fidelity: fid, latency: { ep: 'wasm', runs: LATENCY_RUNS, float32Ms: a, int8Ms: b, ratio: b / a }, written: true,
  };
  if (profile !== 'tensorrt' && b > a && !p.force) {
    throw new QuantizeRefusedInPage(`the int8 file is slower than float32 on wasm (${b.toFixed(2)} ms vs ${a.toFixed(2)} ms); ${q.model}.onnx not written (--force writes it anyway)`);
  }
  return { bytes: qr.bytes, text: formatInt8Report(report) };
}
