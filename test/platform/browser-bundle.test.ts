/**
 * The browser entry (src/browser.ts) bundles with esbuild for the browser without a single Node
 * built-in in its module graph (esbuild's metafile), and the bundle — run here in Node as plain
 * JavaScript, with the pure-JS SHA-256 / CRC-32 and protobufjs without `long`, as in a page — writes
 * the same bytes as the Node entry and `vitx export`.
 */
import { createHash } from 'node:crypto';
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { exportModel } from '../../src/library.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { ROOT, tempDir, vitx } from '../helpers/cli.js';
import { referenceCheckpoint } from '../helpers/reference.js';

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

async function bundle(entry: string, platform: 'browser' | 'node', outdir: string): Promise<Metafile> {
  const r = await build({
    entryPoints: [join(ROOT, entry)], bundle: true, platform, format: 'esm', splitting: true, outdir, metafile: true, logLevel: 'silent',
    ...(platform === 'node' ? { packages: 'external' as const } : {}),
  });
  return r.metafile;
}

/** Every import in the graph that names a Node built-in (`fs`, `node:fs`, `zlib/…`), with its importer. */
function nodeImports(meta: Metafile): string[] {
  const found: string[] = [];
  for (const [file, input] of Object.entries(meta.inputs)) {
    for (const i of input.imports) if (BUILTINS.has(i.path) || BUILTINS.has(i.path.split('/')[0]!) || i.path.startsWith('node:')) found.push(`${file} → ${i.path}`);
  }
  return found;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('browser entry', () => {
  it('bundles without any Node built-in in its module graph', async () => {
    const meta = await bundle('src/browser.ts', 'browser', tempDir('vitx-bundle-'));
    expect(nodeImports(meta)).toEqual([]);
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain('src/library.ts');
    expect(inputs.some((f) => f.includes('onnxruntime-web'))).toBe(true); // the browser's runtime, loaded lazily
    expect(inputs.some((f) => f.includes('onnxruntime-node'))).toBe(false);
  });

  it('the check sees Node built-ins where they are (the Node entry)', async () => {
    const meta = await bundle('src/index.ts', 'node', tempDir('vitx-bundle-'));
    const found = nodeImports(meta);
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(/platform\/node\.ts → node:crypto$/), expect.stringMatching(/platform\/node\.ts → node:zlib$/)]));
  });

  it('the bundle exports the same bytes as the Node entry and `vitx export` (deterministic init and a checkpoint)', async () => {
    const dir = tempDir('vitx-bundle-');
    await bundle('src/browser.ts', 'browser', dir);
    const web = await import(pathToFileURL(join(dir, 'browser.js')).href) as typeof import('../../src/browser.js');
    expect(web.listModels().map((r) => r.name)).toContain('mobileone_s0');

    const fromBundle = await web.exportModel('mobileone_s0');
    const fromNode = await exportModel('mobileone_s0');
    expect(sha(fromBundle.bytes)).toBe(sha(fromNode.bytes));
    const cli = vitx(['export', 'mobileone_s0', '-o', join(dir, 'm.onnx'), '-q']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(sha(readFileSync(join(dir, 'm.onnx')))).toBe(sha(fromNode.bytes));

    // a checkpoint's bytes, read by both (safetensors), at another opset and in float16
    const ckpt = writeSafetensors(referenceCheckpoint('mobileone_s0'));
    const o = { weights: ckpt, weightsName: 'm.safetensors', dtype: 'fp16' as const, opset: 18 };
    const a = await web.exportModel('mobileone_s0', o), b = await exportModel('mobileone_s0', o);
    expect(a.checkpoint?.summary).toBe('safetensors');
    expect(sha(a.bytes)).toBe(sha(b.bytes));
    expect(sha(a.bytes)).not.toBe(sha(fromNode.bytes));
  });

  it('the bundle reads back what it wrote (inspect) like the Node entry', async () => {
    const dir = tempDir('vitx-bundle-');
    await bundle('src/browser.ts', 'browser', dir);
    const web = await import(pathToFileURL(join(dir, 'browser.js')).href) as typeof import('../../src/browser.js');
    const { bytes } = await web.exportModel('mobilevit_xxs', { target: 'web' });
    const r = web.inspect(bytes, { target: 'web' });
    expect(r.macs).toBeGreaterThan(0.4e9);
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
    const { inspect } = await import('../../src/library.js');
    expect(r).toEqual(inspect(bytes, { target: 'web' }));
  });
});
