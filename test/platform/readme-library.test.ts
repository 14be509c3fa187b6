/**
 * The README's "Library use" examples run as written. The Node example (```ts) runs with tsx from
 * a folder inside the package, where `import … from 'vitx'` resolves through the package's own
 * `exports` (dist/index.js), next to the checkpoint it names; its file must equal `vitx export`'s.
 * The worker example (```js) is bundled by esbuild as a browser bundle — 'vitx' must resolve to the
 * browser entry with no Node built-in — and the bundle runs with a stand-in `self`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { ROOT, tempDir, vitx } from '../helpers/cli.js';
import { referenceCheckpoint } from '../helpers/reference.js';
import { cutHead } from '../helpers/stages.js';

function blocks(): { ts: string; js: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Library use\n');
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 5));
  const ts = /```ts\n([\s\S]*?)```/.exec(section), js = /```js\n([\s\S]*?)```/.exec(section);
  expect(ts && js).toBeTruthy();
  return { ts: ts![1]!, js: js![1]! };
}

// inside the package (the ignored tmp/ folder), so that 'vitx' is the package's self-reference
mkdirSync(join(ROOT, 'tmp'), { recursive: true });
const inside = mkdtempSync(join(ROOT, 'tmp', 'readme-lib-'));
afterAll(() => rmSync(inside, { recursive: true, force: true }));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('README: Library use', () => {
  it('the Node example writes what `vitx export` writes and verifies', () => {
    const { ts } = blocks();
    const ckpt = /readFileSync\('([^']+)'\)/.exec(ts)![1]!;
    writeFileSync(join(inside, ckpt), writeSafetensors(cutHead('mobilevit_xxs', referenceCheckpoint('mobilevit_xxs'), 10)));
    writeFileSync(join(inside, 'example.mts'), ts);
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'example.mts'], { cwd: inside, encoding: 'utf8', timeout: 300_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^logits \d+ PASS$/);
    const cli = vitx(['export', 'mobilevit_xxs', '--weights', join(inside, ckpt), '--target', 'web', '-o', join(inside, 'cli.onnx'), '-q']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(sha(readFileSync(join(inside, 'classifier.onnx')))).toBe(sha(readFileSync(join(inside, 'cli.onnx'))));
  });

  it('the worker example bundles for the browser (the browser entry, no Node built-in) and exports', async () => {
    const { js } = blocks();
    writeFileSync(join(inside, 'worker.js'), js);
    const out = tempDir('vitx-worker-');
    const r = await build({ entryPoints: [join(inside, 'worker.js')], bundle: true, format: 'esm', platform: 'browser', splitting: true, outdir: out, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys(r.metafile.inputs).map((f) => relative(ROOT, join(process.cwd(), f)));
    expect(inputs).toContain('dist/browser.js');
    expect(inputs).not.toContain('dist/index.js');
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    expect(Object.values(r.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path)).filter((p) => builtins.has(p) || p.startsWith('node:'))).toEqual([]);

    const posted: unknown[] = [];
    const self = { onmessage: null as null | ((e: { data: unknown }) => Promise<void>), postMessage: (m: unknown) => { posted.push(m); } };
    (globalThis as { self?: unknown }).self = self;
    try {
      await import(pathToFileURL(join(out, 'worker.js')).href);
      await self.onmessage!({ data: { model: 'mobileone_s0' } });
    } finally {
      delete (globalThis as { self?: unknown }).self;
    }
    const last = posted.at(-1) as { bytes: Uint8Array; macs: number };
    expect(posted.slice(0, -1)).toEqual([{ phase: 'weights' }, { phase: 'build' }, { phase: 'done' }]);
    expect(last.macs).toBeGreaterThan(0.27e9);
    const cli = vitx(['export', 'mobileone_s0', '-o', join(out, 'cli.onnx'), '-q']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(sha(last.bytes)).toBe(sha(readFileSync(join(out, 'cli.onnx'))));
  });
});
