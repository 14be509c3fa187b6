/**
 * `browser-webgpu` and `browser-wasm`: onnxruntime-web in a real headless Chromium.
 *
 * One `BrowserHost` per verify run: a small HTTP server on 127.0.0.1 (random port) serves a blank
 * page, the runner script (page.ts) and onnxruntime-web's dist files; playwright-core drives
 * Chromium (Debian's /usr/bin/chromium, or $VITX_CHROMIUM), one page per backend. For each run the
 * model and packed inputs are registered as a job; the page fetches them, runs the session and
 * posts the packed outputs back, so large tensors never pass through JSON.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type Backend, BackendRunError, BackendUnavailableError, firstLine, type Feeds, type Outputs } from './backend.js';
import { packTensors, unpackTensors } from './pack.js';
import { PAGE_HTML, PAGE_SCRIPT } from './page.js';
import { checkProbe, probeFeeds, probeModel } from './probe.js';
import { noAdapterMessage } from './webgpu-env.js';

export const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

export function chromiumPath(): string {
  return process.env['VITX_CHROMIUM'] || '/usr/bin/chromium';
}

type Playwright = typeof import('playwright-core');
type Browser = Awaited<ReturnType<Playwright['chromium']['launch']>>;
type Page = Awaited<ReturnType<Browser['newPage']>>;

interface Job { model: Uint8Array; inputs: Uint8Array; result?: Uint8Array }

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/**
 * The page-side call as an expression string (a function would be serialized from its compiled
 * source, where bundlers and test runners rewrite `import()`).
 */
function callRunner(fn: 'run' | 'adapter' | 'bench', arg: unknown): string {
  return `import('/vitx-runner.mjs').then((m) => m.${fn}(${JSON.stringify(arg)}))`;
}

/** Strips playwright's "page.evaluate: Error: " decoration. */
function pageError(e: unknown): string {
  return firstLine(e).replace(/^page\.evaluate:\s*/, '').replace(/^(Error|TypeError|RangeError):\s*/, '');
}

export class BrowserHost {
  private readonly jobs = new Map<string, Job>();
  private nextJob = 0;
  private browser: Browser | null = null;
  private readonly pages: Page[] = [];

  private constructor(private readonly server: Server, private readonly ortDir: string) {}

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Starts the server and the browser; throws with a one-line reason (without a backend name). */
  static async start(): Promise<BrowserHost> {
    const exe = chromiumPath();
    if (!existsSync(exe)) throw new Error(`no Chromium at ${exe} — install chromium (apt-get install chromium) or set VITX_CHROMIUM`);
    let pw: Playwright;
    try {
      const m = await import('playwright-core');
      pw = ((m as unknown as { default?: Playwright }).default ?? m) as Playwright;
    } catch (e) {
      throw new Error(`playwright-core is not installed (${firstLine(e)})`);
    }
    const require = createRequire(import.meta.url);
    const ortDir = dirname(require.resolve('onnxruntime-web'));
    const host = new BrowserHost(createServer((req, res) => { host.handle(req, res).catch((e) => send(res, 500, 'text/plain', firstLine(e))); }), ortDir);
    await new Promise<void>((resolve, reject) => {
      host.server.once('error', reject);
      host.server.listen(0, '127.0.0.1', () => resolve());
    });
    try {
      host.browser = await pw.chromium.launch({ executablePath: exe, args: CHROMIUM_FLAGS, headless: true, timeout: 120_000 });
    } catch (e) {
      await host.close();
      throw new Error(`Chromium (${exe}) does not start: ${firstLine(e).replace(/^browserType\.launch:\s*/, '')}`);
    }
    return host;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const p = url.pathname;
    if (req.method === 'GET' && p === '/') return send(res, 200, 'text/html; charset=utf-8', PAGE_HTML);
    if (req.method === 'GET' && p === '/vitx-runner.mjs') return send(res, 200, 'text/javascript', PAGE_SCRIPT);
    const ortFile = /^\/ort\/([A-Za-z0-9._-]+)$/.exec(p)?.[1];
    if (req.method === 'GET' && ortFile) {
      const f = join(this.ortDir, ortFile);
      if (!existsSync(f)) return send(res, 404, 'text/plain', 'not found');
      return send(res, 200, ortFile.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', readFileSync(f));
    }
    const m = /^\/job\/(\d+)\/(model|inputs|result)$/.exec(p);
    const job = m ? this.jobs.get(m[1]!) : undefined;
    if (m && job) {
      if (req.method === 'GET' && m[2] === 'model') return send(res, 200, 'application/octet-stream', job.model);
      if (req.method === 'GET' && m[2] === 'inputs') return send(res, 200, 'application/octet-stream', job.inputs);
      if (req.method === 'POST' && m[2] === 'result') {
        job.result = await readBody(req);
        return send(res, 200, 'text/plain', 'ok');
      }
    }
    send(res, 404, 'text/plain', 'not found');
  }

  private async newPage(): Promise<Page> {
    if (!this.browser) throw new Error('the browser is closed');
    const page = await this.browser.newPage();
    this.pages.push(page);
    await page.goto(`${this.origin}/`);
    return page;
  }

  private async runOn(page: Page, ep: 'webgpu' | 'wasm', model: Uint8Array, feeds: Feeds, outputNames?: readonly string[]): Promise<Outputs> {
    const id = String(this.nextJob++);
    const job: Job = { model, inputs: packTensors(feeds) };
    this.jobs.set(id, job);
    try {
      await page.evaluate(callRunner('run', { job: id, ep, outputNames: outputNames ? [...outputNames] : null }));
      if (!job.result) throw new Error('the page returned no outputs');
      return unpackTensors(job.result);
    } finally {
      this.jobs.delete(id);
    }
  }

  /**
   * `vitx bench`: times `runs` runs (after `warmup`) in a fresh page, onnxruntime's optimizations on;
   * with `profile`, also the profiler's output text (bench/profile.ts parses it).
   */
  async bench(ep: 'webgpu' | 'wasm', model: Uint8Array, feeds: Feeds, o: { runs: number; warmup: number; profile?: boolean }): Promise<{ ms: number[]; profileText?: string }> {
    const name = ep === 'webgpu' ? 'browser-webgpu' as const : 'browser-wasm' as const;
    const page = await this.newPage();
    const id = String(this.nextJob++);
    this.jobs.set(id, { model, inputs: packTensors(feeds) });
    try {
      if (ep === 'webgpu') {
        const a = await page.evaluate(callRunner('adapter', {})) as { ok: boolean };
        if (!a.ok) throw new BackendUnavailableError(noAdapterMessage(name));
      }
      return await page.evaluate(callRunner('bench', { job: id, ep, runs: o.runs, warmup: o.warmup, profile: Boolean(o.profile) })) as { ms: number[]; profileText?: string };
    } catch (e) {
      if (e instanceof BackendUnavailableError) throw e;
      throw new BackendRunError(`${name}: ${pageError(e)}`);
    } finally {
      this.jobs.delete(id);
      await page.close().catch(() => undefined);
    }
  }

  /** Opens a page for `ep` and checks it on the probe model. */
  async backend(ep: 'webgpu' | 'wasm'): Promise<Backend> {
    const name = ep === 'webgpu' ? 'browser-webgpu' as const : 'browser-wasm' as const;
    let page: Page;
    let info = '';
    try {
      page = await this.newPage();
      if (ep === 'webgpu') {
        const a = await page.evaluate(callRunner('adapter', {})) as { ok: boolean; why?: string; info?: string };
        if (!a.ok) throw new BackendUnavailableError(noAdapterMessage(name));
        info = a.info ? ` (${a.info})` : '';
      }
      const r = await this.runOn(page, ep, probeModel(), probeFeeds());
      if (!checkProbe(r['y']?.data as Float32Array)) throw new Error('wrong result on the probe model');
    } catch (e) {
      if (e instanceof BackendUnavailableError) throw e;
      throw new BackendUnavailableError(`${name}: onnxruntime-web does not run in Chromium (${pageError(e)})`);
    }
    const description = `onnxruntime-web in headless Chromium, ${ep === 'webgpu' ? `WebGPU${info}` : 'WebAssembly (1 thread)'}`;
    return {
      name,
      description,
      run: async (model, feeds, outputNames) => {
        try {
          return await this.runOn(page, ep, model, feeds, outputNames);
        } catch (e) {
          throw new BackendRunError(`${name}: ${pageError(e)}`);
        }
      },
      close: async () => { await page.close().catch(() => undefined); },
    };
  }

  async close(): Promise<void> {
    const b = this.browser;
    this.browser = null;
    if (b) await b.close().catch(() => undefined);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
