/**
 * The house's floors, read off the import statements of src/: the IR and op registry (graph/)
 * import nothing above them; nothing below the CLI imports cli/; and the core imports no Node
 * built-in — only the Node host (platform/node.ts and the modules it loads), the CLI, the hub
 * client, the benchmark timing and the entries may (design.md principle 12).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Module specifiers a file imports (static, dynamic and re-exports; `import type` too). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

const ALL = files(SRC).map((f) => ({ file: relative(SRC, f), imports: importsOf(readFileSync(f, 'utf8')) }));
const resolveIn = (file: string, spec: string) => (spec.startsWith('.') ? relative(SRC, join(SRC, file, '..', spec)) : spec);
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Where Node built-ins may be imported: the Node host and what only it loads. */
const NODE_ONLY = [
  /^cli\//, /^hub\//, /^bench\//, /^index\.ts$/, /^platform\/node\.ts$/, /^platform\/files\.ts$/,
  /^runtime\/(node|ort|browser|webgpu-env|wasm)\.ts$/, /^onnx\/external\.ts$/, /^quant\/data\.ts$/,
];

describe('the house', () => {
  it('reads imports (the check can fail)', () => {
    expect(importsOf("import { a } from './x.js';\nimport type { B } from '../y.js';\nexport { c } from 'node:fs';\nconst m = await import('z');\nimport './side.js';")).toEqual(['./x.js', '../y.js', 'node:fs', './side.js', 'z']);
  });

  it('graph/ (the IR and the op registry) imports nothing from the floors above it', () => {
    const up = ALL.filter((f) => f.file.startsWith('graph/')).flatMap((f) => f.imports.map((i) => [f.file, resolveIn(f.file, i)] as const))
      .filter(([, to]) => !to.startsWith('graph/') && !to.startsWith('..') && to.includes('/') && !to.startsWith('node:') && /^[a-z-]+\//.test(to) && !/^(onnx-proto|protobufjs)/.test(to));
    expect(up.map(([a, b]) => `${a} → ${b}`)).toEqual([]);
  });

  it('only the CLI imports cli/', () => {
    const bad = ALL.filter((f) => !f.file.startsWith('cli/')).flatMap((f) => f.imports.map((i) => [f.file, resolveIn(f.file, i)] as const)).filter(([, to]) => to.startsWith('cli/'));
    expect(bad.map(([a, b]) => `${a} → ${b}`)).toEqual([]);
  });

  it('the core imports no Node built-in', () => {
    const bad = ALL.filter((f) => !NODE_ONLY.some((r) => r.test(f.file)))
      .flatMap((f) => f.imports.filter((i) => BUILTINS.has(i) || i.startsWith('node:') || i === 'onnxruntime-node').map((i) => `${f.file} → ${i}`));
    expect(bad).toEqual([]);
  });
});
