/**
 * The web app end to end in headless Chromium, as a user drives it: drop a checkpoint (the
 * mobileone_s0 reference weights, rebuilt from the recipe), export, download — the same SHA-256 as
 * `vitx export` of the same file in Node, and the same summary lines; verify on WASM and WebGPU
 * (SwiftShader); benchmark; classify a photo (top-1 as onnxruntime-node gives it on the CLI's file
 * with the CLI's preprocessing); drop a corrupted checkpoint and get the CLI's one-line error and
 * nothing to download. No request leaves the page's origin. Screenshots of the four states go to
 * $VITX_SCREENSHOTS (web/screenshots in the repository) or a temporary folder.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { decodeImage, preprocessImage } from '../../src/quant/images.js';
import { preprocessCfg } from '../../src/quant/pretrained-cfg.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { vitx } from '../helpers/cli.js';
import { FIXTURES, referenceSafetensors } from '../helpers/reference.js';
import { sha256, startWebApp, type WebApp } from '../helpers/web.js';

const MODEL = 'mobileone_s0';
const PHOTO = join(FIXTURES, 'images', 'evaluation', 'chelsea.jpg');
const SHOTS = process.env['VITX_SCREENSHOTS'] ?? mkdtempSync(join(tmpdir(), 'vitx-web-shots-'));

let app: WebApp;
let dir: string;
let ckpt: string;
let cli: { bytes: Uint8Array; stdout: string };

const t0 = performance.now();
const mark = (what: string) => console.log(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

/** The viewport, or (`results`) the whole results column: summary, verify and bench tables. */
async function shot(page: Page, name: string, results = false): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  if (results) await page.locator('main > .col').nth(1).screenshot({ path });
  else await page.screenshot({ path });
}

/** Drops `file` on a drop zone the way a browser does: a `drop` event carrying a DataTransfer. */
async function dropFile(page: Page, zone: string, file: string, name: string, type: string): Promise<void> {
  const b64 = readFileSync(file).toString('base64');
  await page.evaluate(({ zone, b64, name, type }) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type }));
    document.querySelector(zone)!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, { zone, b64, name, type });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vitx-web-test-'));
  ckpt = join(dir, `${MODEL}.safetensors`);
  writeFileSync(ckpt, referenceSafetensors(MODEL));
  const out = join(dir, `${MODEL}.onnx`);
  const r = vitx(['export', MODEL, '-w', ckpt, '-o', out]);
  expect(r.code, r.stderr).toBe(0);
  cli = { bytes: new Uint8Array(readFileSync(out)), stdout: r.stdout };
  app = await startWebApp();
});

afterAll(async () => { await app?.close(); });

describe('web app in headless Chromium', () => {
  it('exports a dropped checkpoint to the same bytes as the CLI, verifies, benchmarks and classifies', async () => {
    const page = await app.open();
    await shot(page, 'empty');
    await page.setInputFiles('#weights-input', ckpt);
    await expect.poll(() => page.textContent('#weights-name')).toContain(`${MODEL}.safetensors`);
    expect(await page.textContent('#cli-line')).toBe(`vitx export ${MODEL} -w ${MODEL}.safetensors`);

    await page.click('#export-button');
    await page.waitForSelector('#done:not([hidden])', { timeout: 300_000 });
    expect(await page.isHidden('#error')).toBe(true);
    mark('exported');

    // the downloaded file is the CLI's, byte for byte
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe(`${MODEL}.onnx`);
    const got = new Uint8Array(readFileSync((await download.path())!));
    expect(sha256(got)).toBe(sha256(cli.bytes));
    await expect.poll(() => page.textContent('#sha'), { timeout: 60_000 }).toBe(sha256(cli.bytes));

    // the summary is the CLI's (its first line names the output path; the time line differs)
    const summary = (await page.textContent('#summary'))!.split('\n');
    const expected = cli.stdout.split('\n');
    expect(summary[0]).toBe(expected[0]!.replace(join(dir, `${MODEL}.onnx`), `${MODEL}.onnx`).replace(`weights ${ckpt}`, `weights ${MODEL}.safetensors`));
    const body = (lines: string[]) => lines.slice(1).filter((l) => !l.startsWith('  time'));
    expect(body(summary)).toEqual(body(expected));
    expect(await page.textContent('#inspect')).toContain('MACs');

    // verify on WASM and WebGPU (SwiftShader) against the train-time graph
    await page.click('#verify-button');
    await page.waitForSelector('#verify-table:not([hidden])', { timeout: 300_000 });
    const rows = await page.$$eval('#verify-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
    expect(rows.map((r) => [r[0], r[1]])).toEqual([['wasm', 'pass'], ['webgpu', 'pass']]);
    mark('verified');

    await page.fill('#bench-runs', '1'); // SwiftShader WebGPU: seconds per run
    await page.click('#bench-button');
    await page.waitForSelector('#bench-table:not([hidden])', { timeout: 300_000 });
    const bench = await page.$$eval('#bench-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
    expect(bench.map((r) => r[0])).toEqual(['wasm', 'webgpu']);
    for (const r of bench) expect(Number(r[1]), r.join(' ')).toBeGreaterThan(0);
    mark('benchmarked');

    // classify a photo: the top-1 class of onnxruntime-node on the CLI's file, CLI preprocessing
    await dropFile(page, '#photo-zone', PHOTO, 'chelsea.jpg', 'image/jpeg');
    await page.waitForSelector('#classify-out:not([hidden])', { timeout: 120_000 });
    const top = await page.$$eval('#top5 li', (lis) => lis.map((li) => li.querySelector('.idx')!.textContent!.replace('#', '')));
    const x = preprocessImage(decodeImage(new Uint8Array(readFileSync(PHOTO)), 'chelsea.jpg'), preprocessCfg(MODEL, [224, 224]));
    const logits = (await runOnnx(cli.bytes, { input: { dtype: 'float32', dims: [1, 3, 224, 224], data: x } }))['logits']!.data as Float32Array;
    const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
    expect(top).toHaveLength(5);
    expect(Number(top[0])).toBe(order[0]);
    expect((await page.textContent('#top5 li .label'))!.length).toBeGreaterThan(0);
    await shot(page, 'done', true);

    // int8 with calibration photos dropped in: the bytes of `vitx export --dtype int8 --calibration <the same photos>`
    const photos = join(FIXTURES, 'images', 'calibration');
    const int8Out = join(dir, `${MODEL}.int8.onnx`);
    const q = vitx(['export', MODEL, '-w', ckpt, '--dtype', 'int8', '--calibration', photos, '--force', '-o', int8Out]);
    expect(q.code, q.stderr).toBe(0);
    await page.selectOption('#opt-dtype', 'int8');
    await page.check('#opt-force');
    await page.setInputFiles('#calib-input', readdirSync(photos).map((f) => join(photos, f)));
    expect(await page.textContent('#cli-line')).toBe(`vitx export ${MODEL} -w ${MODEL}.safetensors --dtype int8 --calibration photos/ --force`);
    await page.click('#export-button');
    await page.waitForFunction(() => /calibration/.test(document.querySelector('#progress-text')?.textContent ?? ''), undefined, { timeout: 120_000, polling: 50 });
    await shot(page, 'exporting');
    await page.waitForSelector('#done:not([hidden])', { timeout: 300_000 });
    mark('int8 exported');
    const [d8] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(sha256(new Uint8Array(readFileSync((await d8.path())!)))).toBe(sha256(new Uint8Array(readFileSync(int8Out))));
    const s8 = (await page.textContent('#summary'))!;
    for (const key of ['  int8     ', '  calib    percentile on 4 of 5 images', '  fidelity ', '  layers   ', '  latency  wasm: ']) expect(s8).toContain(key);
    await page.close();

    // nothing but the page's own assets was requested
    // (the worker's requests are seen too: onnxruntime's WebAssembly and the labels)
    expect(app.requests).toContain(`${app.origin}/ort/ort-wasm-simd-threaded.asyncify.wasm`);
    expect(app.requests).toContain(`${app.origin}/labels/imagenet-1k.txt`);
    for (const u of app.requests) expect(u.startsWith(`${app.origin}/`) || u.startsWith('blob:') || u.startsWith('data:'), u).toBe(true);
  });

  it('shows the CLI\'s one-line error for a corrupted checkpoint and offers nothing to download', async () => {
    const bad = join(dir, 'corrupt.safetensors');
    const bytes = readFileSync(ckpt);
    writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length / 2))); // cut in half: tensors run past the end
    const r = vitx(['export', MODEL, '-w', bad, '-o', join(dir, 'never.onnx')]);
    expect(r.code).toBe(1);
    const page = await app.open();
    let downloads = 0;
    page.on('download', () => downloads++);
    await page.setInputFiles('#weights-input', bad);
    await page.click('#export-button');
    await page.waitForSelector('#error:not([hidden])', { timeout: 120_000 });
    const msg = (await page.textContent('#error'))!;
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg).toBe(r.stderr.trim().replace(`weights file ${bad}`, 'weights file corrupt.safetensors'));
    expect(await page.isHidden('#done')).toBe(true);
    expect(downloads).toBe(0);
    await shot(page, 'error');
    await page.close();
  });

  it('stays within the size budget and loads task code on demand', () => {
    const r = app.report;
    expect(r.appGzip).toBeLessThan(1.5 * 2 ** 20);
    // the first load is the page script only; the worker and each task are separate files
    expect(r.initialGzip).toBeLessThan(r.appGzip / 4);
    const files = r.files.map((f) => f.file);
    expect(files).toContain('assets/worker.js');
    expect(files.filter((f) => f.startsWith('assets/') && !/\/(main|worker)\.js$/.test(f)).length).toBeGreaterThanOrEqual(4);
  });
});
