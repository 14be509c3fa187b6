/**
 * The package as a user gets it: `npm pack`, installed into an empty project without network
 * (`npm ci --offline` from the npm cache this checkout's own `npm ci` filled; the project's lockfile
 * pins the versions vitx's own lockfile tested), then
 *   - nothing ran that downloads: onnxruntime-node, an optional peer dependency, is not installed
 *     (its install script fetches CUDA files from NuGet on linux-x64), and no install script ran;
 *   - `npx vitx export mobileone_s0` writes the same bytes as this checkout's CLI;
 *   - `vitx verify … --ep cpu` says in one line that onnxruntime-node is missing;
 *   - a TypeScript file importing only 'vitx' type-checks (strict, NodeNext) and runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir, vitx } from '../helpers/cli.js';

/** The environment without the npm_* variables of an `npm test` around this run. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

const NPM = 'npm';

function npm(args: string[], cwd: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(NPM, args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 300_000, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A lockfile for a project depending only on the tarball: vitx's own production entries. */
function consumerLock(tarball: string, integrity: string): unknown {
  const own = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { vitx: `file:${tarball}` } },
    'node_modules/vitx': {
      version: pkg['version'], resolved: `file:${tarball}`, integrity, license: pkg['license'],
      dependencies: pkg['dependencies'], peerDependencies: pkg['peerDependencies'], peerDependenciesMeta: pkg['peerDependenciesMeta'],
      bin: pkg['bin'], engines: pkg['engines'],
    },
  };
  for (const [k, v] of Object.entries(own.packages)) if (k !== '' && !v['dev']) packages[k] = v;
  return { name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

const CHECK_TS = `import { exportModel, inspect, listModels, readCheckpoint, verify, quantizeModel, type ExportModelResult, type ExportPhase } from 'vitx';

const phases: ExportPhase[] = [];
const rows = listModels();
const r: ExportModelResult = await exportModel('mobileone_s0', { onProgress: (p) => { phases.push(p.phase); } });
const report = inspect(r.bytes);
const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(r.bytes)));
const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
const fns: unknown[] = [readCheckpoint, verify, quantizeModel];
console.log(JSON.stringify({ models: rows.length, macs: report.macs, outputs: report.outputs.map((o) => o.name), fns: fns.length, phases, sha256 }));
`;

describe('npm pack → npm install in an empty project (offline)', () => {
  it('installs without onnxruntime-node or any install-time download, and `npx vitx export` / `import from "vitx"` work', () => {
    const dir = tempDir('vitx-pack-');
    // dist/ is built by the test suite's global setup; `prepare` would build it again
    const packed = JSON.parse(execFileSync(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8' })) as { filename: string; integrity: string; files: { path: string }[] }[];
    const { filename, integrity, files } = packed[0]!;
    const paths = files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['bin/vitx.js', 'dist/index.js', 'dist/index.d.ts', 'dist/browser.js', 'dist/browser.d.ts', 'dist/cli/main.js', 'package.json', 'README.md']));
    expect(paths.filter((p) => !/^(bin|dist)\/|^(package\.json|README\.md|LICENSE)$/.test(p))).toEqual([]); // no tests, fixtures, sources

    const app = join(dir, 'app');
    execFileSync('mkdir', [app]);
    execFileSync('mv', [join(dir, filename), app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies: { vitx: `file:${filename}` } }, null, 2));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(consumerLock(filename, integrity), null, 2));
    const install = npm(['ci', '--offline', '--no-audit', '--no-fund'], app);
    expect(install.code, install.stderr).toBe(0);
    expect(install.stderr).not.toMatch(/error/i);
    expect(existsSync(join(app, 'node_modules', 'vitx', 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'onnxruntime-node'))).toBe(false);

    const exp = spawnSync('npx', ['--offline', 'vitx', 'export', 'mobileone_s0'], { cwd: app, encoding: 'utf8', env: cleanEnv(), timeout: 300_000 });
    expect(exp.stderr).toBe('');
    expect(exp.status).toBe(0);
    expect(exp.stdout).toMatch(/^wrote mobileone_s0\.onnx/);
    const here = vitx(['export', 'mobileone_s0', '-o', join(dir, 'here.onnx'), '-q']);
    expect(here.code, here.stderr).toBe(0);
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(sha(join(app, 'mobileone_s0.onnx'))).toBe(sha(join(dir, 'here.onnx')));

    const ver = spawnSync('npx', ['--offline', 'vitx', 'verify', 'mobileone_s0', '--ep', 'cpu'], { cwd: app, encoding: 'utf8', env: cleanEnv(), timeout: 300_000 });
    expect(ver.status).toBe(1);
    expect(ver.stdout + ver.stderr).toMatch(/onnxruntime-node is not installed — run `npm install onnxruntime-node`/);
    expect(ver.stderr).not.toMatch(/\n\s+at /); // no stack trace

    // the typed front door, through the package's name only
    writeFileSync(join(app, 'check.ts'), CHECK_TS);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, outDir: 'out', lib: ['ES2022', 'DOM'] }, files: ['check.ts'] }));
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app, encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    const run = spawnSync(process.execPath, [join(app, 'out', 'check.js')], { cwd: app, encoding: 'utf8', env: cleanEnv(), timeout: 300_000 });
    expect(run.stderr).toBe('');
    const got = JSON.parse(run.stdout) as { models: number; macs: number; outputs: string[]; phases: string[]; sha256: string };
    expect(got.models).toBeGreaterThan(50);
    expect(got.outputs).toEqual(['logits']);
    expect(got.macs).toBeGreaterThan(0.27e9);
    expect(got.phases).toEqual(['weights', 'build', 'done']);
    expect(got.sha256).toBe(sha(join(dir, 'here.onnx'))); // exportModel('mobileone_s0') = vitx export mobileone_s0

    // the same compiler refuses a wrong use of the installed types (the check above can fail)
    writeFileSync(join(app, 'bad.ts'), "import { exportModel } from 'vitx';\nconst n: number = await exportModel('mobileone_s0');\nexport { n };\n");
    writeFileSync(join(app, 'tsconfig.bad.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true }, files: ['bad.ts'] }));
    const bad = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.bad.json'], { cwd: app, encoding: 'utf8' });
    expect(bad.stdout).toMatch(/bad\.ts\(2,7\): error TS2322/);
  });
});
