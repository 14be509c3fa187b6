/**
 * Classify a dropped photo with the exported file, on WebAssembly: the photo is preprocessed as
 * the tag's pretrained cfg says (src/quant/images.ts: timm's eval transform) — or, for a file
 * with the preprocessing inside (--preprocess), only resized and cropped to uint8 pixels — and the
 * top 5 classes are shown, named when the tag is an ImageNet-1k one (web/labels).
 */
import { floatToHalf, halfToFloat } from '../../../src/graph/tensor.js';
import { UsageError } from '../../../src/cli/errors.js';
import { preprocessImage } from '../../../src/quant/images.js';
import { preprocessCfg } from '../../../src/quant/pretrained-cfg.js';
import type { HostTensor } from '../../../src/runtime/ort.js';
import { readSignature } from '../../../src/verify/inputs.js';
import type { ClassifyDone, DroppedFile } from '../protocol.js';
import type { Exported } from './export.js';
import { decodePhoto } from './image.js';
import { openSession, runFeeds } from './ort.js';

let labels: Promise<string[]> | null = null;

function imagenetLabels(): Promise<string[]> {
  labels ??= fetch(new URL('../labels/imagenet-1k.txt', import.meta.url)).then(async (r) => {
    if (!r.ok) throw new Error(`labels: HTTP ${r.status}`);
    return (await r.text()).trimEnd().split('\n');
  });
  return labels;
}

/** The network input for the photo, as the file's input takes it. */
async function inputFor(x: Exported, photo: DroppedFile): Promise<Record<string, HostTensor>> {
  const sig = readSignature(x.bytes);
  const inp = sig.inputs[0]!;
  const nhwc = inp.dtype === 'uint8' && inp.shape[3] === 3;
  const [h, w] = (nhwc ? inp.shape.slice(1, 3) : inp.shape.slice(2, 4)) as number[];
  if (typeof h !== 'number' || typeof w !== 'number') throw new UsageError('classify: the file\'s input size is not static');
  const img = await decodePhoto(new Uint8Array(photo.bytes), photo.name);
  const cfg = preprocessCfg(x.req.model, [h, w]);
  if (inp.dtype === 'uint8') {
    // the graph normalizes: give it the resized, cropped pixels
    const chw = preprocessImage(img, { ...cfg, mean: [0, 0, 0], std: [1, 1, 1] });
    const px = new Uint8Array(3 * h * w);
    for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) px[nhwc ? i * 3 + c : c * h * w + i] = Math.round(chw[c * h * w + i]! * 255);
    return { [inp.name]: { dtype: 'uint8', dims: nhwc ? [1, h, w, 3] : [1, 3, h, w], data: px } };
  }
  const data = preprocessImage(img, cfg);
  const batch = typeof inp.shape[0] === 'number' ? inp.shape[0] : 1;
  const all = new Float32Array(batch * data.length);
  for (let b = 0; b < batch; b++) all.set(data, b * data.length);
  if (inp.dtype === 'float16') return { [inp.name]: { dtype: 'float16', dims: [batch, 3, h, w], data: Uint16Array.from(all, floatToHalf) } };
  return { [inp.name]: { dtype: 'float32', dims: [batch, 3, h, w], data: all } };
}

const asFloats = (t: HostTensor): Float64Array => Float64Array.from(t.dtype === 'float16' ? Array.from(t.data as Uint16Array, halfToFloat) : Array.from(t.data as ArrayLike<number>));

export async function runClassify(x: Exported, photo: DroppedFile, in1k: boolean): Promise<ClassifyDone> {
  const feeds = await inputFor(x, photo);
  const s = await openSession(x.bytes, 'wasm', true);
  let out: Record<string, HostTensor>;
  try { out = await runFeeds(s, feeds); } finally { await s.release(); }
  const names = in1k ? await imagenetLabels() : null;
  const label = (i: number) => names?.[i] ?? null;
  if (out['scores'] && out['indices']) {
    const sc = asFloats(out['scores']), ix = out['indices'].data as BigInt64Array;
    return { ep: 'wasm', output: 'scores, indices', top: Array.from(sc.slice(0, 5), (p, k) => ({ index: Number(ix[k]), label: label(Number(ix[k])), score: p })) };
  }
  const name = out['probabilities'] ? 'probabilities' : out['logits'] ? 'logits' : null;
  if (!name) throw new UsageError(`classify needs a classifier output (logits, probabilities or top-k); this file gives ${Object.keys(out).join(', ')}`);
  const t = out[name]!;
  const classes = t.dims[t.dims.length - 1]!;
  const row = asFloats(t).subarray(0, classes);
  let p = row;
  if (name === 'logits') {
    // softmax over the first row, in float64
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    p = e.map((v) => v / z);
  }
  const order = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]! || a - b).slice(0, 5);
  return { ep: 'wasm', output: name, top: order.map((i) => ({ index: i, label: label(i), score: p[i]! })) };
}
