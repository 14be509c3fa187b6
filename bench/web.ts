/**
 * The web app's section of bench/results.md (issue 19's targets), measured in headless Chromium on
 * this machine:
 *
 *   export time   the page (click → summary shown: reading the dropped file, the worker's export,
 *                 the inspect table) against `vitx export -w` in Node (process start
 *                 to exit), reference checkpoints of nextvit_small and maxvit_tiny_tf_224 rebuilt
 *                 from the recipe; alternating runs, medians
 *   responsiveness the longest main-thread task during the exports (PerformanceObserver 'longtask')
 *   memory        peak resident memory of the whole browser (every Chromium process: the page's
 *                 renderer with its worker and WebAssembly, the browser process holding Blobs, GPU),
 *                 sampled every 25 ms during the first export, above what it held just before
 *                 (with the checkpoint already dropped in), as a multiple of the checkpoint's bytes
 *   size          the app's JavaScript, gzipped (without onnxruntime-web), and what the first load fetches
 *
 *   npx tsx bench/web.ts            print the section and splice it into bench/results.md
 *   (npm run bench includes it; VITX_BENCH_WEB=0 skips it there)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumPath, CHROMIUM_FLAGS } from '../src/runtime/browser.js';
import { referenceSafetensors } from '../test/helpers/reference.js';
import { buildWeb } from '../web/build.js';
import { serveStatic } from '../web/serve.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = join(HERE, '..', 'bin', 'vitx.js');
const MODELS = (process.env['VITX_BENCH_WEB_MODELS'] ?? 'nextvit_small,maxvit_tiny_tf_224').split(',');
const RUNS = Number(process.env['VITX_BENCH_WEB_RUNS'] ?? 3);
export const WEB_SECTION = '## Web app (headless Chromium)';

/**
 * One export in the page, timed inside it: click → the result (or the error) shown. A string, so
 * that no transpiler helper (tsx's __name) ends up in the page.
 */
const EXPORT_ONCE = `(async () => {
  const done = document.getElementById('done'), error = document.getElementById('error');
  const t0 = performance.now();
  document.getElementById('export-button').click();
  await new Promise((resolve) => {
    const mo = new MutationObserver(() => { if (!done.hidden || !error.hidden) { mo.disconnect(); resolve(); } });
    mo.observe(document.body, { attributes: true, subtree: true, attributeFilter: ['hidden'] });
  });
  if (!error.hidden) throw new Error(error.textContent || 'export failed');
  return (performance.now() - t0) / 1000;
})()`;

interface Row { model: string; ckptBytes: number; cliS: number[]; pageS: number[]; longestTaskMs: number; longTasks: number; peakBytes: number; baseBytes: number }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Resident memory of a process: [current, peak] bytes. */
function rss(pid: number): [number, number] {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return [kb('VmRSS'), kb('VmHWM')];
}

/** The browser started with `marker` on its command line and every process under it (renderers, GPU, utilities). */
function browserTree(marker: string): number[] {
  const procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).flatMap((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      return [{ pid, ppid, cmd }];
    } catch { return []; }
  });
  const root = procs.find((p) => p.cmd.includes(marker) && !p.cmd.includes('--type='));
  if (!root) throw new Error('the browser process was not found');
  const mine = new Set([root.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (!mine.has(p.pid) && mine.has(p.ppid)) { mine.add(p.pid); grew = true; }
  }
  return [...mine];
}

/** Resident bytes of all the processes, summed (a process that has exited counts 0). */
function treeRss(pids: readonly number[]): number {
  return pids.reduce((a, p) => { try { return a + rss(p)[0]; } catch { return a; } }, 0);
}

function cliExport(model: string, ckpt: string, out: string): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'export', model, '-w', ckpt, '-o', out, '-q'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vitx export ${model}: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

async function measure(origin: string, model: string, dir: string): Promise<Row> {
  const ckpt = join(dir, `${model}.safetensors`);
  writeFileSync(ckpt, referenceSafetensors(model));
  const marker = `--vitx-bench=${model}-${process.pid}`;
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_FLAGS, marker], headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.addInitScript(`window.longtasks = [];
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longtasks.push(e.duration); }).observe({ type: 'longtask', buffered: true });`);
    await page.goto(`${origin}/?model=${model}`);
    await page.waitForSelector('body[data-ready]');
    await page.setInputFiles('#weights-input', ckpt);
    await page.evaluate('window.longtasks.length = 0');
    const pids = browserTree(marker);
    const base = treeRss(pids);
    const row: Row = { model, ckptBytes: readFileSync(ckpt).byteLength, cliS: [], pageS: [], longestTaskMs: 0, longTasks: 0, peakBytes: 0, baseBytes: base };
    for (let i = 0; i < RUNS; i++) {
      row.cliS.push(cliExport(model, ckpt, join(dir, `${model}.onnx`)));
      let peak = 0;
      const poll = setInterval(() => { if (i === 0) peak = Math.max(peak, treeRss(pids)); }, 25);
      const s = await page.evaluate(EXPORT_ONCE).finally(() => clearInterval(poll)) as number;
      row.pageS.push(s);
      if (i === 0) row.peakBytes = peak;
    }
    const tasks = await page.evaluate('window.longtasks') as number[];
    row.longTasks = tasks.length;
    row.longestTaskMs = Math.max(0, ...tasks);
    return row;
  } finally {
    await browser.close();
  }
}

export async function webBenchSection(): Promise<string[]> {
  const out = mkdtempSync(join(tmpdir(), 'vitx-web-bench-'));
  const report = await buildWeb({ out });
  const server: Server = await serveStatic(out);
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rows: Row[] = [];
  try {
    for (const m of MODELS) {
      rows.push(await measure(origin, m, out));
      process.stderr.write(`web: ${m} page ${median(rows.at(-1)!.pageS).toFixed(2)} s, CLI ${median(rows.at(-1)!.cliS).toFixed(2)} s\n`);
    }
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(out, { recursive: true, force: true });
  }
  const mb = (b: number) => (b / 1e6).toFixed(0);
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const chunks = [...report.files].filter((f) => f.file.startsWith('assets/')).sort((a, b) => b.gzip - a.gzip);
  return [
    WEB_SECTION,
    '',
    `Generated by \`npx tsx bench/web.ts\` (part of \`npm run bench\`) on ${new Date().toISOString().slice(0, 10)}: the web app (\`npm run web\`) in headless Chromium (${chromiumPath()}), reference checkpoints rebuilt from the recipe, ${RUNS} alternating runs each, medians. Targets (issue 19): page export ≤ 1.5 × the CLI's, no main-thread task over 100 ms, peak page memory ≤ 3 × the checkpoint, app JavaScript ≤ 1.5 MB gzipped.`,
    'Page: click → summary shown (the dropped file read, the worker\'s export, the inspect table; the SHA-256 is asked for afterwards). CLI: `vitx export -w` as a process, start to exit. Memory: every Chromium process together (the page\'s renderer with its worker and WebAssembly, the browser process, GPU), resident memory sampled every 25 ms during the first export, its peak above what it held just before (checkpoint dropped in, nothing exported).',
    '',
    '| model | checkpoint MB | CLI s | page s | page / CLI | longest main-thread task | peak memory above idle | ÷ checkpoint |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.model} | ${mb(r.ckptBytes)} | ${median(r.cliS).toFixed(2)} | ${median(r.pageS).toFixed(2)} | ${(median(r.pageS) / median(r.cliS)).toFixed(2)}× | ${r.longTasks ? `${r.longestTaskMs.toFixed(0)} ms (${r.longTasks} over 50 ms)` : 'none over 50 ms'} | ${mb(r.peakBytes - r.baseBytes)} MB (browser before: ${mb(r.baseBytes)} MB) | ${((r.peakBytes - r.baseBytes) / r.ckptBytes).toFixed(2)}× |`),
    '',
    `App JavaScript (dist/web/assets, without onnxruntime-web's ort.webgpu.min.mjs and .wasm): ${kib(report.appGzip)} gzipped in ${chunks.length} files; the first page load fetches ${kib(report.initialGzip)} of it (main.js); the worker and each task (export, int8, verify, bench, classify) load on demand. Largest: ${chunks.slice(0, 4).map((c) => `${c.file.replace('assets/', '')} ${kib(c.gzip)}`).join(', ')}.`,
    '',
  ];
}

/** Replaces (or appends) the web section of results.md. */
export function spliceWebSection(text: string, section: string[]): string {
  const start = text.indexOf(WEB_SECTION);
  if (start < 0) {
    // where npm run bench puts it: after the generated table, before the hand-written sections
    const at = text.indexOf('\n## ');
    return at < 0 ? `${text.trimEnd()}\n\n${section.join('\n')}` : `${text.slice(0, at + 1)}${section.join('\n')}\n${text.slice(at + 1)}`;
  }
  const next = text.indexOf('\n## ', start + WEB_SECTION.length);
  return `${text.slice(0, start)}${section.join('\n')}${next < 0 ? '' : text.slice(next + 1)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const section = await webBenchSection();
  process.stdout.write(`${section.join('\n')}\n`);
  const results = join(HERE, 'results.md');
  if (existsSync(results)) writeFileSync(results, spliceWebSection(readFileSync(results, 'utf8'), section));
}
