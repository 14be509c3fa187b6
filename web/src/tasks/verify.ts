/**
 * `vitx verify` in the page: the exported file runs on WebAssembly and WebGPU (onnxruntime's
 * optimizations off, as verify runs it) and is compared with the train-time graph (no passes,
 * float32, same checkpoint and head) on WebAssembly, on seeded inputs (seed 0), with verify's
 * comparison (src/verify/compare.ts). The browser has no onnxruntime CPU, so the reference runs on
 * WASM; float32 files use verify's default tolerance, fp16 and int8 files a looser one (shown).
 */
import { floatToHalf } from '../../../src/graph/tensor.js';
import { exportModel } from '../../../src/pipeline.js';
import type { HostTensor } from '../../../src/runtime/ort.js';
import { compareOutputs, type Tolerance } from '../../../src/verify/compare.js';
import { readSignature, seededInputs } from '../../../src/verify/inputs.js';
import { readCheckpoint } from '../../../src/browser.js';
import type { DroppedFile, Ep, VerifyDone, VerifyRow } from '../protocol.js';
import type { Exported } from './export.js';
import { openSession, runFeeds, webgpuMissing } from './ort.js';

export const TOLERANCE: Record<'fp32' | 'fp16' | 'int8', Tolerance> = {
  fp32: { atol: 1e-4, rtol: 1e-3 }, // vitx verify's defaults
  fp16: { atol: 1e-2, rtol: 1e-2 },
  int8: { atol: 0.25, rtol: 0.1 },
};

/** The train-time graph `vitx verify <model>` compares with: no passes, float32, the same head and wraps. */
function referenceBytes(x: Exported, checkpoint: DroppedFile | undefined): Uint8Array {
  const p = x.p;
  const ck = checkpoint && readCheckpoint(new Uint8Array(checkpoint.bytes), { name: checkpoint.name, key: p.checkpointKey, layout: p.checkpointLayout ?? 'auto', model: x.req.model });
  return exportModel(x.req.model, {
    checkpoint: ck?.tensors, checkpointName: x.checkpointName, numClasses: p.numClasses, features: p.features,
    size: p.size, batch: p.batch === 'dynamic' ? 1 : p.batch, opset: p.opset, optimize: false, externalData: false,
    preprocess: p.preprocess, postprocess: p.postprocess,
  }).bytes;
}

/** Feeds as the candidate takes them (an fp16-I/O file takes float16 inputs). */
function asCandidateFeeds(feeds: Record<string, HostTensor>, cand: Uint8Array): Record<string, HostTensor> {
  const sig = readSignature(cand);
  const out: Record<string, HostTensor> = {};
  for (const [k, t] of Object.entries(feeds)) {
    const want = sig.inputs.find((s) => s.name === k)?.dtype;
    out[k] = want === 'float16' && t.dtype === 'float32' ? { dtype: 'float16', dims: t.dims, data: Uint16Array.from(t.data as Float32Array, floatToHalf) } : t;
  }
  return out;
}

async function runOn(model: Uint8Array, ep: Ep, feeds: Record<string, HostTensor>) {
  const s = await openSession(model, ep, false);
  try { return await runFeeds(s, feeds); } finally { await s.release(); }
}

export async function runVerify(x: Exported, eps: readonly Ep[], checkpoint: DroppedFile | undefined, progress: (s: string, f: number) => void): Promise<VerifyDone> {
  const tol = TOLERANCE[x.p.dtype];
  progress('building the train-time reference', 0.05);
  if (Boolean(checkpoint) !== Boolean(x.checkpointName)) throw new Error('verify needs the checkpoint the file was exported from');
  const ref = referenceBytes(x, checkpoint);
  const feeds = seededInputs(readSignature(ref), { seed: 0, batch: 1 });
  progress('reference on wasm', 0.2);
  const expected = await runOn(ref, 'wasm', feeds);
  const candFeeds = asCandidateFeeds(feeds, x.bytes);
  const rows: VerifyRow[] = [];
  for (const [i, ep] of eps.entries()) {
    progress(`candidate on ${ep}`, 0.3 + (0.7 * i) / eps.length);
    const t0 = performance.now();
    const missing = ep === 'webgpu' ? await webgpuMissing() : null;
    if (missing) { rows.push({ ep, status: 'unavailable', detail: missing, outputs: [], ms: 0 }); continue; }
    try {
      const got = await runOn(x.bytes, ep, candFeeds);
      const cmp = compareOutputs(got, expected, tol);
      rows.push({
        ep, status: cmp.every((c) => c.pass) ? 'pass' : 'fail', detail: '', ms: performance.now() - t0,
        outputs: cmp.map((c) => ({
          name: c.name, maxAbs: c.abs.max, maxRel: c.rel.max, pass: c.pass,
          argmax: c.classes ? `${c.classes.argmaxAgree}/${c.classes.rows}` : '—',
        })),
      });
    } catch (e) {
      rows.push({ ep, status: 'error', detail: String((e as Error).message ?? e).split('\n')[0]!, outputs: [], ms: performance.now() - t0 });
    }
  }
  return { reference: `${x.req.model} train-time graph (no passes, float32) on wasm`, tolerance: `atol ${tol.atol}, rtol ${tol.rtol}`, rows };
}
