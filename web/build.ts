/**
 * Builds the web app (web/) into dist/web with esbuild:
 *
 *   dist/web/index.html, style.css, catalog.json, labels/   the page and its data
 *   dist/web/assets/main.js, worker.js, <chunk>-<hash>.js   the app: the page script, the worker, and
 *                                                           the chunks each task loads on demand
 *   dist/web/ort/                                           onnxruntime-web (WebGPU + WASM build), as shipped
 *   dist/web/build-report.json                              bytes and gzip bytes per file, the stand-ins used
 *
 * The worker imports the package's browser entry (src/browser.ts) and the core's platform-free
 * modules; a Node built-in anywhere in the graph fails the build, naming the module that pulls it
 * in. Two packages that the page's code paths import but never call (pngjs, commander) resolve to
 * web/shims. onnxruntime-web is not bundled: the chunks import it from ../ort/ at run time.
 *
 *   npx tsx web/build.ts [--dev]     (npm run web builds and serves)
 */
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const WEB = dirname(fileURLToPath(import.meta.url));
const ROOT = join(WEB, '..');
export const OUT = join(ROOT, 'dist', 'web');

/** onnxruntime-web files the page needs: the WebGPU-capable build (its WebGPU EP and WASM in one asyncify binary). */
export const ORT_FILES = ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];

/** Packages the page's code paths import but never call there (web/shims/README.md). */
const SHIMS: Record<string, string> = { pngjs: 'pngjs.ts', commander: 'commander.ts' };

export interface BuildReport {
  /** Each package stood in for (web/shims), who imports it. */
  shimmed: { module: string; importers: string[]; shim: string }[];
  files: { file: string; bytes: number; gzip: number }[];
  /** The app's JavaScript (assets/, without onnxruntime-web), gzip bytes. */
  appGzip: number;
  /** What the first page load fetches of it (main.js and what it imports statically). */
  initialGzip: number;
}

function platformPlugin(seen: Map<string, Set<string>>): esbuild.Plugin {
  const rel = (p: string) => relative(ROOT, p);
  return {
    name: 'vitx-platform',
    setup(b) {
      // the browser entry's promise (test/platform/browser-bundle.test.ts): no Node built-in, no onnxruntime-node
      b.onResolve({ filter: /^node:|^(fs|path|zlib|crypto|os|module|url|http|https|child_process|worker_threads|stream|util|buffer|onnxruntime-node|playwright-core)$/ }, (a) => ({
        errors: [{ text: `${rel(a.importer)} imports ${a.path}, which the web app cannot load` }],
      }));
      b.onResolve({ filter: /^(pngjs|commander)$/ }, (a) => {
        seen.set(a.path, new Set([...(seen.get(a.path) ?? []), rel(a.importer)]));
        return { path: join(WEB, 'shims', SHIMS[a.path]!) };
      });
      // onnxruntime-web stays its own file, loaded at run time next to its .wasm
      b.onResolve({ filter: /^onnxruntime-web(\/webgpu)?$/ }, () => ({ path: '../ort/ort.webgpu.min.mjs', external: true }));
    },
  };
}

export async function buildWeb(o: { dev?: boolean; out?: string } = {}): Promise<BuildReport> {
  const out = o.out ?? OUT;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'ort'), { recursive: true });
  mkdirSync(join(out, 'labels'), { recursive: true });
  const seen = new Map<string, Set<string>>();
  const r = await esbuild.build({
    entryPoints: { main: join(WEB, 'src', 'main.ts'), worker: join(WEB, 'src', 'worker.ts') },
    outdir: join(out, 'assets'),
    bundle: true, splitting: true, format: 'esm', platform: 'browser', target: 'es2022',
    minify: !o.dev, sourcemap: o.dev ? 'inline' : false, metafile: true, logLevel: 'silent',
    entryNames: '[name]', chunkNames: '[name]-[hash]',
    define: { 'process.env.VITX_DEBUG': 'undefined' },
    plugins: [platformPlugin(seen)],
  });
  const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  for (const f of ORT_FILES) copyFileSync(join(ortDir, f), join(out, 'ort', f));
  for (const f of ['index.html', 'style.css', 'catalog.json']) copyFileSync(join(WEB, f), join(out, f));
  copyFileSync(join(WEB, 'labels', 'imagenet-1k.txt'), join(out, 'labels', 'imagenet-1k.txt'));
  const files = Object.keys(r.metafile.outputs).map((f) => {
    const bytes = readFileSync(join(ROOT, f));
    return { file: relative(out, join(ROOT, f)), bytes: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength };
  });
  const initial = new Set<string>();
  const walk = (f: string) => {
    if (initial.has(f)) return;
    initial.add(f);
    for (const i of r.metafile.outputs[f]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) walk(i.path);
  };
  walk(Object.keys(r.metafile.outputs).find((f) => f.endsWith('assets/main.js'))!);
  const report: BuildReport = {
    shimmed: [...seen].map(([module, importers]) => ({ module, importers: [...importers].sort(), shim: SHIMS[module]! })),
    files,
    appGzip: files.reduce((a, f) => a + f.gzip, 0),
    initialGzip: files.filter((f) => initial.has(relative(ROOT, join(out, f.file)))).reduce((a, f) => a + f.gzip, 0),
  };
  writeFileSync(join(out, 'build-report.json'), `${JSON.stringify(report, null, 1)}\n`);
  return report;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rep = await buildWeb({ dev: process.argv.includes('--dev') });
  console.log(`built ${relative(process.cwd(), OUT)}: app JavaScript ${(rep.appGzip / 1024).toFixed(0)} KiB gzipped (first load ${(rep.initialGzip / 1024).toFixed(0)} KiB), ${rep.files.length} files`);
  for (const n of rep.shimmed) console.log(`  ${n.module} → web/shims/${n.shim} (imported by ${n.importers.join(', ')})`);
}
