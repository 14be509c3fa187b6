/**
 * The web app under test: built into a temporary folder (web/build.ts), served on 127.0.0.1
 * (web/serve.ts) and opened in headless Chromium (playwright-core, /usr/bin/chromium with
 * SwiftShader WebGPU, as src/runtime/browser.ts launches it). Every request the page makes is
 * recorded, so a test can assert that nothing left the origin.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumPath, CHROMIUM_FLAGS } from '../../src/runtime/browser.js';
import { buildWeb, type BuildReport } from '../../web/build.js';
import { serveStatic } from '../../web/serve.js';

export interface WebApp {
  origin: string;
  report: BuildReport;
  browser: Browser;
  /** URLs the pages requested. */
  requests: string[];
  open(path?: string): Promise<Page>;
  close(): Promise<void>;
}

export async function startWebApp(): Promise<WebApp> {
  const out = mkdtempSync(join(tmpdir(), 'vitx-web-'));
  const report = await buildWeb({ out });
  const server: Server = await serveStatic(out);
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS, headless: true, timeout: 120_000 });
  const requests: string[] = [];
  return {
    origin, report, browser, requests,
    async open(path = '/') {
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
      page.on('request', (r) => requests.push(r.url()));
      page.on('worker', (w) => w.on('console', () => undefined));
      await page.goto(`${origin}${path}`);
      await page.waitForSelector('body[data-ready]');
      return page;
    },
    async close() {
      await browser.close().catch(() => undefined);
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(out, { recursive: true, force: true });
    },
  };
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
