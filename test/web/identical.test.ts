/**
 * Same inputs, same bytes: for one model per family, float32 and float16, the file the web app's
 * worker writes in headless Chromium, the file `vitx export` writes in Node, and the bytes the
 * library's exportModel returns are identical; from PyTorch checkpoints too; int8 too (the CLI and the worker calibrated on the
 * same photos; mobileone_s0 int8 is covered through the page in app.test.ts). The worker is driven
 * with the same flag strings the CLI gets.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel } from '../../src/index.js';
import { vitx } from '../helpers/cli.js';
import { buildPth } from '../helpers/pth.js';
import { FIXTURES } from '../helpers/reference.js';
import { sha256, startWebApp, type WebApp } from '../helpers/web.js';

const FAMILIES = ['mobileone_s0', 'mobilevit_xxs', 'edgevit_xxs', 'fastvit_t8', 'maxvit_pico_rw_256', 'nextvit_small'];
const PHOTOS = join(FIXTURES, 'images', 'calibration');

let app: WebApp;
let page: Page;
let dir: string;

/** Exports in the page's worker; returns the SHA-256 of the file (the worker's `hash` request) and its size. */
async function exportInPage(model: string, flags: Record<string, string | boolean>, calibration: { name: string; b64: string }[] = [], weights?: { name: string; b64: string }): Promise<{ sha256: string; size: number }> {
  return page.evaluate(async ({ model, flags, calibration, weights }) => {
    const w = new Worker('/assets/worker.js', { type: 'module' });
    try {
      const decode = (f: { name: string; b64: string }) => ({ name: f.name, bytes: Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0)).buffer });
      const files = calibration.map(decode);
      const checkpoint = weights ? decode(weights) : undefined;
      let size = 0;
      return await new Promise<{ sha256: string; size: number }>((resolve, reject) => {
        w.onmessage = (ev) => {
          const m = ev.data;
          if (m.kind === 'error') reject(new Error(m.message));
          else if (m.kind === 'done' && m.id === 1) { size = m.result.size; w.postMessage({ id: 2, kind: 'hash' }); }
          else if (m.kind === 'done' && m.id === 2) resolve({ sha256: m.result, size });
        };
        w.postMessage({ id: 1, kind: 'export', req: { model, flags, checkpoint, calibration: files.length ? files : undefined } }, files.map((f) => f.bytes));
      });
    } finally {
      w.terminate();
    }
  }, { model, flags, calibration, weights });
}

function exportInNode(model: string, args: string[]): Uint8Array {
  const out = join(dir, `${model}-${args.join('_').replace(/[^a-z0-9_]/gi, '')}.onnx`);
  const r = vitx(['export', model, ...args, '-o', out]);
  expect(r.code, r.stderr).toBe(0);
  return new Uint8Array(readFileSync(out));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vitx-same-bytes-'));
  app = await startWebApp();
  page = await app.open();
});

afterAll(async () => { await app?.close(); });

describe('the browser, the library and the CLI write the same bytes', () => {
  for (const model of FAMILIES) {
    it(`${model}: fp32 and fp16`, async () => {
      for (const dtype of ['fp32', 'fp16'] as const) {
        const node = exportInNode(model, dtype === 'fp32' ? [] : ['--dtype', dtype]);
        const lib = (await exportModel(model, dtype === 'fp32' ? {} : { dtype })).bytes; // the package's front door
        expect(sha256(lib), `${model} ${dtype}: library`).toBe(sha256(node));
        const web = await exportInPage(model, dtype === 'fp32' ? {} : { dtype });
        expect(web.size).toBe(node.byteLength);
        expect(web.sha256, `${model} ${dtype}: browser`).toBe(sha256(node));
      }
    });
  }

  it('PyTorch checkpoints: a timm training checkpoint (EMA) and an official layout, as -w reads them', async () => {
    for (const [fixture, model] of [['mobilevit_xxs_train', 'mobilevit_xxs'], ['mobileone_s0_official', 'mobileone_s0']] as const) {
      const file = join(dir, `${fixture}.pth.tar`);
      const bytes = buildPth(fixture, model);
      writeFileSync(file, bytes);
      const node = exportInNode(model, ['-w', file]);
      const web = await exportInPage(model, {}, [], { name: `${fixture}.pth.tar`, b64: Buffer.from(bytes).toString('base64') });
      expect(web.sha256, fixture).toBe(sha256(node));
    }
  });

  it('mobilevit_xxs int8 (attention and Gemm rewrites) from the same calibration photos', async () => {
    const node = exportInNode('mobilevit_xxs', ['--dtype', 'int8', '--calibration', PHOTOS, '--force']);
    const photos = readdirSync(PHOTOS).map((f) => ({ name: f, b64: readFileSync(join(PHOTOS, f)).toString('base64') }));
    const web = await exportInPage('mobilevit_xxs', { dtype: 'int8', force: true }, photos);
    expect(web.sha256).toBe(sha256(node));
  });
});
