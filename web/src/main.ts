/**
 * The page: picks a model, takes dropped files and options, and hands every heavy step to the
 * worker (client.ts). This thread only reads files, updates the DOM and saves downloads,
 * so it never blocks for long.
 */
import { TaskError, WorkerClient } from './client.js';
import type { BenchDone, ClassifyDone, DownloadDone, DroppedFile, Ep, ExportDone, ExportFlags, VerifyDone } from './protocol.js';
import { $, bytes, count, h, input, select, show } from './ui/dom.js';
import { dropZone, readDropped } from './ui/drop.js';
import { type Catalog, entries, type Entry, modelPicker } from './ui/picker.js';

const client = new WorkerClient();
let model: Entry | null = null;
let weights: File | null = null;
let calibration: File[] = [];
let busy = false;
let downloadUrls: string[] = [];
/** The checkpoint of the last export (verify builds its reference from it). */
let exportedWith: File | null = null;

// ------------------------------------------------------------------ options → flags (as the CLI takes them)

function flags(): ExportFlags {
  const head = select('opt-head').value;
  const f: ExportFlags = {
    dtype: select('opt-dtype').value,
    target: select('opt-target').value || undefined,
    opset: select('opt-opset').value || undefined,
    size: input('opt-size').value.trim() || undefined,
    batch: input('opt-batch').value.trim() || undefined,
    postprocess: select('opt-post').value || undefined,
    preprocess: input('opt-pre').checked || undefined,
    inputLayout: input('opt-pre').checked && select('opt-layout').value !== 'nhwc' ? select('opt-layout').value : undefined,
    io: select('opt-dtype').value === 'fp16' && input('opt-io').checked ? 'fp16' : undefined,
    checkpointKey: input('opt-key').value.trim() || undefined,
    checkpointLayout: select('opt-ckpt-layout').value || undefined,
    optimize: input('opt-no-opt').checked ? false : undefined,
    reparam: input('opt-no-reparam').checked ? false : undefined,
    externalData: input('opt-external').checked || undefined,
  };
  if (head === 'embedding') f.numClasses = '0';
  else if (head === 'features') f.features = input('opt-features').value.trim().replace(/^all$/, '');
  else f.numClasses = input('opt-classes').value.trim() || undefined;
  if (f.dtype === 'int8') {
    f.calibrationMethod = select('opt-method').value || undefined;
    f.force = input('opt-force').checked || undefined;
  }
  if (f.dtype === 'fp32') delete f.dtype;
  return f;
}

/** The equivalent command line, shown under the options. */
function cliLine(): string {
  const f = flags();
  const a = ['vitx export', model?.name ?? '<model>'];
  if (weights) a.push('-w', weights.name);
  if (f.checkpointKey) a.push('--checkpoint-key', f.checkpointKey);
  if (f.checkpointLayout) a.push('--checkpoint-layout', f.checkpointLayout);
  if (f.numClasses !== undefined) a.push('--num-classes', f.numClasses);
  if (f.features !== undefined) a.push('--features', ...(f.features ? [f.features] : []));
  if (f.size) a.push('--size', f.size);
  if (f.batch) a.push('--batch', f.batch);
  if (f.opset) a.push('--opset', f.opset);
  if (f.dtype) a.push('--dtype', f.dtype);
  if (f.io) a.push('--io', f.io);
  if (f.dtype === 'int8') a.push('--calibration', 'photos/');
  if (f.calibrationMethod) a.push('--calibration-method', f.calibrationMethod);
  if (f.force) a.push('--force');
  if (f.target) a.push('--target', f.target);
  if (f.preprocess) a.push('--preprocess');
  if (f.inputLayout) a.push('--input-layout', f.inputLayout);
  if (f.postprocess) a.push('--postprocess', f.postprocess);
  if (f.optimize === false) a.push('--no-optimize');
  if (f.reparam === false) a.push('--no-reparam');
  if (f.externalData) a.push('--external-data');
  return a.join(' ');
}

function refreshOptions(): void {
  const dtype = select('opt-dtype').value, head = select('opt-head').value;
  show($('int8-box'), dtype === 'int8');
  show($('lbl-io'), dtype === 'fp16');
  show($('lbl-layout'), input('opt-pre').checked);
  show($('lbl-classes'), head === 'classifier');
  show($('lbl-features'), head === 'features');
  $('cli-line').textContent = cliLine();
}

// ------------------------------------------------------------------ status: progress and errors

function setProgress(stage: string, fraction: number): void {
  const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  show($('progress'), true);
  ($('progress-fill') as HTMLElement).style.width = `${pct}%`;
  $('progress').querySelector('[role=progressbar]')!.setAttribute('aria-valuenow', String(pct));
  $('progress-text').textContent = `${stage} — ${pct} %`;
}

function showError(message: string | null): void {
  $('error').textContent = message ?? '';
  show($('error'), message !== null);
}

function errorText(e: unknown): string {
  return e instanceof TaskError ? e.message : `vitx: error: internal error in the page: ${String((e as Error)?.message ?? e).split('\n')[0]}; reload the page and report it`;
}

function setBusy(on: boolean): void {
  busy = on;
  for (const id of ['export-button', 'verify-button', 'bench-button']) ($(id) as HTMLButtonElement).disabled = on;
  document.body.classList.toggle('busy', on);
}

// ------------------------------------------------------------------ export

function clearResult(): void {
  for (const u of downloadUrls) URL.revokeObjectURL(u);
  downloadUrls = [];
  show($('done'), false);
  show($('verify-card'), false);
  show($('classify-card'), false);
  show($('verify-table'), false);
  show($('bench-table'), false);
  show($('classify-out'), false);
  $('verify-ref').textContent = '';
}

function renderDone(d: ExportDone): void {
  $('download').textContent = `Download ${d.fileName} (${bytes(d.size)})`;
  show($('download-data'), d.data !== null);
  if (d.data) $('download-data').textContent = `Download ${d.data.name} (${bytes(d.data.size)})`;
  $('sha').textContent = 'computing…';
  void client.call<string>({ kind: 'hash' }).then((h) => { $('sha').textContent = h; }, (e) => { $('sha').textContent = errorText(e); });
  $('summary').textContent = d.summary;
  $('inspect').replaceChildren(h('tbody', {}, ...d.inspect.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.key), h('td', {}, r.value)))));
  show($('empty'), false);
  show($('done'), true);
  show($('verify-card'), true);
  const classifier = d.outputs.some((o) => o === 'logits' || o === 'probabilities' || o === 'scores');
  show($('classify-card'), classifier);
}

async function runExport(): Promise<void> {
  if (busy) return;
  if (!model) { showError('vitx: error: choose a model or pretrained tag first'); return; }
  showError(null);
  clearResult();
  setBusy(true);
  setProgress('reading files', 0);
  try {
    const f = flags();
    const req = {
      model: model.name, flags: f,
      checkpoint: weights ? await readDropped(weights) : undefined,
      calibration: f.dtype === 'int8' ? await Promise.all(calibration.map(readDropped)) : undefined,
    };
    const done = await client.call<ExportDone>({ kind: 'export', req }, setProgress);
    exportedWith = weights;
    setProgress(`exported in ${(done.ms / 1000).toFixed(2)} s`, 1);
    renderDone(done);
  } catch (e) {
    show($('progress'), false);
    show($('empty'), true);
    showError(errorText(e));
  } finally {
    setBusy(false);
  }
}

/** Saves the file (and its data file): the worker hands it over as a Blob only now. */
async function download(which: 'model' | 'data'): Promise<void> {
  try {
    const r = await client.call<DownloadDone>({ kind: 'download' });
    const f = which === 'model' ? { name: r.name, file: r.file } : r.data;
    if (!f) return;
    const url = URL.createObjectURL(f.file);
    downloadUrls.push(url);
    const a = h('a', { href: url, download: f.name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    showError(errorText(e));
  }
}

// ------------------------------------------------------------------ verify, bench, classify

const fmt = (x: number) => (Number.isFinite(x) ? (x === 0 ? '0' : x < 1e-3 ? x.toExponential(2) : x.toPrecision(3)) : '—');

async function runVerify(): Promise<void> {
  if (busy) return;
  setBusy(true);
  showError(null);
  try {
    const eps: Ep[] = ['wasm', 'webgpu'];
    // the worker keeps no checkpoint after an export: the train-time reference reads it again
    const checkpoint = exportedWith ? await readDropped(exportedWith) : undefined;
    const r = await client.call<VerifyDone>({ kind: 'verify', eps, checkpoint }, (s, f) => setProgress(`verify: ${s}`, f));
    $('verify-ref').textContent = `reference: ${r.reference}; tolerance ${r.tolerance}`;
    const body = $('verify-table').querySelector('tbody')!;
    body.replaceChildren(...r.rows.flatMap((row) => {
      const badge = h('span', { class: `badge ${row.status}` }, row.status);
      if (row.outputs.length === 0) return [h('tr', {}, h('th', { scope: 'row' }, row.ep), h('td', {}, badge), h('td', { colspan: 5, class: 'why' }, row.detail))];
      return row.outputs.map((o, i) => h('tr', {},
        h('th', { scope: 'row' }, i === 0 ? row.ep : ''), h('td', {}, i === 0 ? badge : ''), h('td', {}, o.name),
        h('td', { class: 'num' }, fmt(o.maxAbs)), h('td', { class: 'num' }, fmt(o.maxRel)), h('td', { class: 'num' }, o.argmax),
        h('td', { class: 'num' }, i === 0 ? row.ms.toFixed(0) : '')));
    }));
    show($('verify-table'), true);
    setProgress('verified', 1);
  } catch (e) {
    showError(errorText(e));
  } finally {
    setBusy(false);
  }
}

async function runBench(): Promise<void> {
  if (busy) return;
  setBusy(true);
  showError(null);
  try {
    const runs = Math.max(1, Math.min(1000, Math.round(Number(input('bench-runs').value) || 20)));
    const r = await client.call<BenchDone>({ kind: 'bench', eps: ['wasm', 'webgpu'], runs, warmup: Math.min(3, runs) }, (s, f) => setProgress(`benchmark: ${s}`, f));
    const body = $('bench-table').querySelector('tbody')!;
    body.replaceChildren(...r.rows.map((row) => row.status === 'ok'
      ? h('tr', {}, h('th', { scope: 'row' }, row.ep), h('td', { class: 'num' }, row.p50.toFixed(2)), h('td', { class: 'num' }, row.p90.toFixed(2)), h('td', { class: 'num' }, String(row.runs)))
      : h('tr', {}, h('th', { scope: 'row' }, row.ep), h('td', { colspan: 3, class: 'why' }, `${row.status}: ${row.detail}`))));
    show($('bench-table'), true);
    setProgress('benchmarked', 1);
  } catch (e) {
    showError(errorText(e));
  } finally {
    setBusy(false);
  }
}

/** A bar for a probability (set through the CSSOM: the page's CSP allows no inline style attributes). */
function meter(p: number): HTMLElement {
  const e = h('span', { class: 'meter', role: 'presentation' });
  e.style.setProperty('--p', `${(100 * p).toFixed(1)}%`);
  return e;
}

async function classify(file: File): Promise<void> {
  if (busy) return;
  setBusy(true);
  showError(null);
  try {
    const preview = $('photo-preview') as HTMLImageElement;
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(file);
    const image: DroppedFile = await readDropped(file);
    const r = await client.call<ClassifyDone>({ kind: 'classify', image });
    $('top5').replaceChildren(...r.top.map((t) => h('li', {},
      h('span', { class: 'label' }, t.label ?? `class ${t.index}`), h('span', { class: 'idx' }, t.label ? `#${t.index}` : ''),
      meter(t.score), h('span', { class: 'num' }, `${(100 * t.score).toFixed(1)} %`))));
    show($('classify-out'), true);
  } catch (e) {
    showError(errorText(e));
  } finally {
    setBusy(false);
  }
}

// ------------------------------------------------------------------ the hub (only when asked)

async function downloadPretrained(): Promise<void> {
  const hub = model?.tag?.hub;
  if (!hub || busy) return;
  setBusy(true);
  showError(null);
  try {
    setProgress(`downloading ${hub}/model.safetensors`, 0);
    const r = await fetch(`https://huggingface.co/${hub}/resolve/main/model.safetensors`);
    if (!r.ok) throw new TaskError(`vitx: error: ${hub}: the hub answered HTTP ${r.status}`);
    const total = Number(r.headers.get('content-length') ?? 0);
    const reader = r.body!.getReader();
    const parts: Uint8Array[] = [];
    let got = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.byteLength;
      if (total) setProgress(`downloading ${hub}/model.safetensors`, got / total);
    }
    setWeights(new File(parts as BlobPart[], `${hub.replace('/', '--')}.safetensors`));
    setProgress('downloaded', 1);
  } catch (e) {
    showError(e instanceof TaskError ? e.message : `vitx: error: ${hub}: the hub cannot be reached from this page (${String((e as Error).message ?? e)})`);
  } finally {
    setBusy(false);
  }
}

// ------------------------------------------------------------------ wiring

function setWeights(f: File | null): void {
  weights = f;
  show($('weights-chosen'), f !== null);
  $('weights-name').textContent = f ? `${f.name} (${bytes(f.size)})` : '';
  refreshOptions();
}

function pickModel(e: Entry): void {
  model = e;
  const t = e.tag;
  $('model-facts').replaceChildren(
    h('strong', {}, e.name), ` — ${e.family}, ${count(e.params, 'M')} parameters, ${count(e.macs, 'G')} MACs, input ${e.size} (accepts ${e.sizes}), ${e.classes} classes`,
    t ? `; preprocessing of ${t.tag}: ${t.interpolation}, crop_pct ${t.cropPct}, mean ${t.mean.join(',')}, std ${t.std.join(',')}` : '; no pretrained tag');
  show($('hub-button'), Boolean(t?.hub));
  refreshOptions();
}

async function start(): Promise<void> {
  const catalog = await (await fetch('catalog.json')).json() as Catalog;
  const picker = modelPicker(input('model-search'), $('model-list'), entries(catalog), pickModel);
  picker.pick(new URLSearchParams(location.search).get('model') ?? 'mobileone_s0');
  dropZone($('weights-zone'), input('weights-input'), (fs) => setWeights(fs[0] ?? null));
  dropZone($('calib-zone'), input('calib-input'), (fs) => {
    calibration = fs;
    $('calib-chosen').textContent = `${fs.length} photo${fs.length === 1 ? '' : 's'}: ${fs.map((f) => f.name).sort().join(', ')}`;
    show($('calib-chosen'), true);
  });
  dropZone($('photo-zone'), input('photo-input'), (fs) => { if (fs[0]) void classify(fs[0]); });
  $('weights-clear').addEventListener('click', () => setWeights(null));
  $('hub-button').addEventListener('click', () => void downloadPretrained());
  $('export-button').addEventListener('click', () => void runExport());
  $('download').addEventListener('click', () => void download('model'));
  $('download-data').addEventListener('click', () => void download('data'));
  $('verify-button').addEventListener('click', () => void runVerify());
  $('bench-button').addEventListener('click', () => void runBench());
  for (const el of document.querySelectorAll('#h-options ~ * input, #h-options ~ * select')) el.addEventListener('input', refreshOptions);
  document.querySelector('#h-options')!.closest('section')!.addEventListener('change', refreshOptions);
  refreshOptions();
  document.body.dataset['ready'] = '1';
}

void start();
