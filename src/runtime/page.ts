/**
 * The page side of the browser backends, served as /vitx-runner.mjs. It imports onnxruntime-web
 * (served from the package's dist folder under /ort/), fetches the model and packed inputs of a
 * job, runs them on the requested execution provider and posts the packed outputs back.
 * The packing format is pack.ts's.
 */
export const PAGE_HTML = '<!doctype html><meta charset="utf-8"><title>vitx</title><body>vitx browser backend</body>\n';

export const PAGE_SCRIPT = `
import * as ort from '/ort/ort.webgpu.min.mjs';
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

// onnxruntime-web's profiler prints its JSON array to stdout, which emscripten sends to
// console.log, bound when the WebAssembly module starts (the first session): this wrapper is what
// it binds, and collects the lines while a bench asks for them.
let printed = null;
const consoleLog = console.log.bind(console);
console.log = (...a) => { if (printed) printed.push(a.join(' ')); else consoleLog(...a); };

const VIEWS = {
  float32: [Float32Array, 4], float64: [Float64Array, 8], float16: [Uint16Array, 2], int64: [BigInt64Array, 8],
  int32: [Int32Array, 4], int8: [Int8Array, 1], uint8: [Uint8Array, 1], bool: [Uint8Array, 1],
};
const align8 = (n) => (n + 7) & ~7;

function unpack(buf) {
  const n = new DataView(buf).getUint32(0, true);
  const entries = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
  const start = align8(4 + n);
  return entries.map((e) => {
    const [C, size] = VIEWS[e.dtype];
    return { name: e.name, dtype: e.dtype, dims: e.dims, data: new C(buf, start + e.offset, e.length / size) };
  });
}

function pack(tensors) {
  const entries = [];
  let off = 0;
  for (const t of tensors) {
    entries.push({ name: t.name, dtype: t.dtype, dims: t.dims, offset: off, length: t.data.byteLength });
    off = align8(off + t.data.byteLength);
  }
  const header = new TextEncoder().encode(JSON.stringify(entries));
  const start = align8(4 + header.byteLength);
  const out = new Uint8Array(start + off);
  new DataView(out.buffer).setUint32(0, header.byteLength, true);
  out.set(header, 4);
  tensors.forEach((t, i) => out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), start + entries[i].offset));
  return out;
}

export async function adapter() {
  if (!navigator.gpu) return { ok: false, why: 'navigator.gpu is missing' };
  const a = await navigator.gpu.requestAdapter();
  if (!a) return { ok: false, why: 'requestAdapter() returned null' };
  const i = a.info || {};
  return { ok: true, info: [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') };
}

// a job's model as a session (graph optimization level, profiler on or off) and its packed inputs as feeds
async function openJob(job, ep, level, enableProfiling = false) {
  const get = async (what) => {
    const r = await fetch('/job/' + job + '/' + what);
    if (!r.ok) throw new Error('fetching ' + what + ' failed: HTTP ' + r.status);
    return r.arrayBuffer();
  };
  const [model, inputs] = await Promise.all([get('model'), get('inputs')]);
  const session = await ort.InferenceSession.create(new Uint8Array(model), { executionProviders: [ep], graphOptimizationLevel: level, enableProfiling });
  const feeds = {};
  for (const t of unpack(inputs)) feeds[t.name] = new ort.Tensor(t.dtype, t.data, t.dims);
  return { session, feeds };
}

// vitx bench: onnxruntime's optimizations on (as deployed); returns each timed run in ms and, with
// profile, the text onnxruntime's profiler printed at endProfiling()
export async function bench({ job, ep, runs, warmup, profile }) {
  const { session, feeds } = await openJob(job, ep, 'all', profile);
  try {
    const once = async () => { const r = await session.run(feeds); for (const t of Object.values(r)) await t.getData(); };
    for (let i = 0; i < warmup; i++) await once();
    const ms = [];
    for (let i = 0; i < runs; i++) { const t0 = performance.now(); await once(); ms.push(performance.now() - t0); }
    if (!profile) return { ms };
    printed = [];
    try {
      await session.endProfiling();
      return { ms, profileText: printed.join('\\n') };
    } finally {
      printed = null;
    }
  } finally {
    await session.release();
  }
}

export async function run({ job, ep, outputNames }) {
  const { session, feeds } = await openJob(job, ep, 'disabled');
  try {
    const res = outputNames ? await session.run(feeds, outputNames) : await session.run(feeds);
    const outs = [];
    for (const [name, t] of Object.entries(res)) {
      outs.push({ name, dtype: t.type, dims: Array.from(t.dims), data: await t.getData(true) });
    }
    const r = await fetch('/job/' + job + '/result', { method: 'POST', body: pack(outs) });
    if (!r.ok) throw new Error('uploading the outputs failed: HTTP ' + r.status);
  } finally {
    await session.release();
  }
}
`;
