/**
 * Regression tests for issue 12's robustness findings, through the real binary: external data
 * resolved from the model's folder (never the current directory) and checked against the model's
 * checksum, bounded inputs and reads, special files refused, option validation by own property,
 * stale temporary files removed, and the WebGPU backend falling back to SwiftShader when the
 * system's Vulkan driver gives no adapter. Every failure is one line naming the file.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { needs } from '../helpers/prerequisites.js';
import { Builder } from '../../src/graph/builder.js';
import { serializeExternal } from '../../src/onnx/external.js';
import { legalize } from '../../src/onnx/legalize.js';
import { serialize } from '../../src/onnx/serialize.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { readGoldens } from '../../src/verify/goldens.js';
import { seededInputs, readSignature } from '../../src/verify/inputs.js';
import { BIN, type CliResult, tempDir, vitx } from '../helpers/cli.js';
import { tinyVisionGraph } from '../helpers/tiny-model.js';

function expectOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr + r.stdout).toBe(code);
  expect(r.stderr).toMatch(/^vitx: error: [^\n]+\n$/);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/TypeError|RangeError|\n\s+at /);
}

let dir: string, extModel: string, inline: Uint8Array;

function legalized() {
  const g = tinyVisionGraph(16, 1);
  legalize(g, 17);
  return g;
}

beforeAll(() => {
  dir = tempDir('vitx-trust-');
  mkdirSync(join(dir, 'models'));
  extModel = join(dir, 'models', 'tiny.onnx');
  // the tiny model with its weights in w.data (threshold 64 B: every weight goes external)
  const e = serializeExternal(legalized(), { opset: 17, location: 'w.data', threshold: 64 });
  writeFileSync(join(dir, 'models', 'w.data'), Buffer.concat(e.data));
  writeFileSync(extModel, e.model);
  inline = serialize(legalized(), { opset: 17 });
  // a stray, NaN-filled w.data in the folder the commands run from
  mkdirSync(join(dir, 'cwd'));
  writeFileSync(join(dir, 'cwd', 'w.data'), Buffer.from(new Float32Array(e.dataBytes / 4).fill(NaN).buffer));
});

describe('external data is read from the model file\'s folder', () => {
  it('verify uses the model\'s w.data, not a stray one in the current directory (outputs equal the inline file\'s)', async () => {
    const out = join(dir, 'golden.json');
    const r = vitx(['verify', extModel, '--ep', 'cpu', '--save-outputs', out], { cwd: join(dir, 'cwd') });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const saved = readGoldens(readFileSync(out), 'json', out);
    const want = await runOnnx(inline, seededInputs(readSignature(inline), { seed: 0, batch: 1 }));
    expect(Array.from(saved.outputs['logits']!.data as Float32Array)).toEqual(Array.from(want['logits']!.data as Float32Array));
    // and from any other folder too (onnxruntime was handed the data, not a path to resolve)
    expect(vitx(['verify', extModel, '--ep', 'cpu,wasm'], { cwd: '/' }).code).toBe(0);
  });

  it('diff compares an external-data model with its inline twin', () => {
    const other = join(dir, 'inline.onnx');
    writeFileSync(other, inline);
    const same = vitx(['diff', other, extModel], { cwd: join(dir, 'cwd') });
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/logits: pass/);
  });

  it('an interrupted --external-data export (new .data next to the old .onnx) is refused, not loaded with wrong weights', () => {
    const d = join(dir, 'interrupted');
    mkdirSync(d);
    const a = join(d, 'a.onnx'), b = join(d, 'b.onnx');
    expect(vitx(['export', 'mobileone_s0', '--size', '64', '--external-data', '-q', '-o', a]).code).toBe(0);
    expect(vitx(['export', 'mobileone_s0', '--size', '64', '--external-data', '--no-reparam', '-q', '-o', b]).code).toBe(0);
    expect(vitx(['inspect', a]).code).toBe(0);
    copyFileSync(`${b}.data`, `${a}.data`); // what a kill between the two renames leaves
    for (const cmd of [['inspect', a], ['verify', a, '--ep', 'cpu']]) {
      expectOneLineError(vitx(cmd), 1, /a\.onnx: external data a\.onnx\.data is \d+ bytes but the model was written with a different a\.onnx\.data .*export again/);
    }
  });
});

describe('bounded resources', () => {
  it('a 1.6 KB model declaring a [1,3,16384,16384] input: verify and diff stop with one line naming --max-input-mb', () => {
    const b = Builder.create('huge_input');
    const x = b.input('input', { dtype: 'float32', shape: [1, 3, 16384, 16384] });
    const y = b.relu(x);
    b.g.outputs.push(y);
    const f = join(dir, 'huge.onnx');
    writeFileSync(f, serialize(b.g, { opset: 17 }));
    expect(readFileSync(f).byteLength).toBeLessThan(2000);
    for (const cmd of [['verify', f, '--ep', 'cpu'], ['diff', f, f]]) {
      expectOneLineError(vitx(cmd, { timeoutMs: 60_000 }), 1, /huge\.onnx: input input float32\[1,3,16384,16384\] needs 3072 MB of inputs, more than the limit of 1024 MB \(raise it with --max-input-mb\)/);
    }
    // a raised limit is accepted as an option (not run: it would allocate 3 GB)
    expectOneLineError(vitx(['verify', f, '--ep', 'cpu', '--max-input-mb', '0']), 2, /--max-input-mb must be an integer from 1/);
  });

  it('special files are refused in one line: /dev/zero, a FIFO, a directory', () => {
    expectOneLineError(vitx(['inspect', '/dev/zero'], { timeoutMs: 30_000 }), 1, /cannot read model \/dev\/zero: not a regular file \(a device, FIFO or socket\)/);
    const fifo = join(dir, 'pipe.onnx');
    execFileSync('mkfifo', [fifo]);
    expectOneLineError(vitx(['inspect', fifo], { timeoutMs: 30_000 }), 1, /cannot read model .*pipe\.onnx: not a regular file/);
    expectOneLineError(vitx(['verify', fifo, '--ep', 'cpu'], { timeoutMs: 30_000 }), 1, /cannot read model file .*pipe\.onnx: not a regular file/);
    expectOneLineError(vitx(['diff', fifo, fifo], { timeoutMs: 30_000 }), 1, /cannot read model file .*pipe\.onnx: not a regular file/);
    expectOneLineError(vitx(['inspect', dir]), 1, /cannot read model .*: is a directory/);
    // an output path that is a FIFO (or device) is refused, not replaced by the atomic rename
    expectOneLineError(vitx(['verify', extModel, '--ep', 'cpu', '--json', fifo]), 1, /cannot write .*pipe\.onnx: not a regular file/);
    expectOneLineError(vitx(['export', 'mobileone_s0', '--size', '64', '-o', fifo]), 1, /cannot write .*pipe\.onnx: not a regular file/);
    expect(statSync(fifo).isFIFO()).toBe(true);
    expectOneLineError(vitx(['export', 'mobileone_s0', '-w', '/dev/zero', '-o', join(dir, 'x.onnx')], { timeoutMs: 30_000 }), 1, /cannot read weights file \/dev\/zero: not a regular file/);
  });

  it('diff --batch is bounded', () => {
    expectOneLineError(vitx(['diff', extModel, extModel, '--batch', '99999999']), 2, /--batch must be an integer from 1 to 4096, got '99999999'/);
  });
});

describe('clean errors', () => {
  it('--target validates by own property: __proto__, toString and constructor are unknown targets (exit 2)', () => {
    for (const t of ['__proto__', 'toString', 'constructor', 'hasOwnProperty']) {
      expectOneLineError(vitx(['inspect', extModel, '--target', t]), 2, new RegExp(`--target must be one of ort, tensorrt, coreml, web, got '${t}'`));
      expectOneLineError(vitx(['export', 'mobileone_s0', '--target', t, '-o', join(dir, 'never.onnx')]), 2, /--target must be one of/);
    }
    expect(existsSync(join(dir, 'never.onnx'))).toBe(false);
  });

  it('a tensor whose data disagrees with its shape is named with the file (not "expected 432 bytes for float32[4,3,3,3], got 100")', async () => {
    const { onnx } = await import('../../src/onnx/proto.js');
    const m = onnx.ModelProto.decode(inline);
    const t = m.graph!.initializer!.find((x) => x.name === 'stem.conv.weight')!;
    expect(t.rawData!.length).toBe(1728); // float32[16,3,3,3]; keep 100 bytes
    t.rawData = t.rawData!.subarray(0, 100);
    const f = join(dir, 'short.onnx');
    writeFileSync(f, onnx.ModelProto.encode(m).finish());
    expectOneLineError(vitx(['inspect', f]), 1, /short\.onnx: initializer stem\.conv\.weight: float32\[16,3,3,3\] needs 1728 bytes \(432 values\), got 100$/m);
    expectOneLineError(vitx(['diff', f, f]), 1, /short\.onnx: initializer stem\.conv\.weight: float32\[16,3,3,3\] needs 1728 bytes/);
  });
});

describe('temporary files of a killed run', () => {
  it('the next write into the folder removes *.vitx-tmp-<pid> files of dead processes, and keeps a live one\'s', () => {
    const d = join(dir, 'tmps');
    mkdirSync(d);
    const dead = spawnSync('true').pid!; // exited: its pid names no live process
    writeFileSync(join(d, `old.onnx.vitx-tmp-${dead}`), 'partial');
    writeFileSync(join(d, `old.onnx.data.vitx-tmp-${dead}`), 'partial');
    writeFileSync(join(d, `busy.onnx.vitx-tmp-${process.pid}`), 'in progress');
    expect(vitx(['export', 'mobileone_s0', '--size', '64', '-q', '-o', join(d, 'new.onnx')]).code).toBe(0);
    expect(readdirSync(d).sort()).toEqual([`busy.onnx.vitx-tmp-${process.pid}`, 'new.onnx']);
  });
});

describe('temporary files of a real kill -9', () => {
  it('an export killed while writing leaves <file>.vitx-tmp-<pid>-<hex>; the next export into the folder removes it', async () => {
    const d = join(dir, 'killed');
    mkdirSync(d);
    const child = spawn(process.execPath, [BIN, 'export', 'nextvit_small', '--external-data', '-q', '-o', join(d, 'big.onnx')], { stdio: 'ignore' });
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    let seen: string[] = [];
    for (let i = 0; i < 6000 && child.exitCode === null && seen.length === 0; i++) {
      seen = readdirSync(d).filter((n) => n.includes('.vitx-tmp-'));
      if (!seen.length) await new Promise((res) => setTimeout(res, 5));
    }
    child.kill('SIGKILL');
    await exited;
    expect(seen.length, 'the export finished before a temporary file was seen').toBeGreaterThan(0);
    expect(readdirSync(d).some((n) => new RegExp(`\\.vitx-tmp-${child.pid}-[0-9a-f]{16}$`).test(n))).toBe(true); // what kill -9 leaves
    expect(vitx(['export', 'mobileone_s0', '--size', '64', '-q', '-o', join(d, 'small.onnx')]).code).toBe(0);
    expect(readdirSync(d).filter((n) => n.includes('.vitx-tmp-'))).toEqual([]);
    rmSync(d, { recursive: true, force: true }); // up to 130 MB of nextvit_small
  });
});

describe('WebGPU without a GPU', () => {
  it('a system Vulkan driver that gives no adapter: falls back to SwiftShader and says so', (ctx) => {
    needs(ctx, 'chromium'); // SwiftShader's driver ships with it (a visible skip, or a failure in CI)
    // a system-like ICD folder (the loader searches $XDG_DATA_DIRS/vulkan/icd.d) whose driver library does not exist
    const share = join(dir, 'share');
    mkdirSync(join(share, 'vulkan', 'icd.d'), { recursive: true });
    writeFileSync(join(share, 'vulkan', 'icd.d', 'broken.json'), JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: join(dir, 'libno_such_driver.so'), api_version: '1.3.0' } }));
    const json = join(dir, 'webgpu.json');
    const tiny = join(dir, 'inline.onnx');
    writeFileSync(tiny, inline);
    const r = vitx(['verify', tiny, '--ep', 'webgpu', '--json', json], { env: { XDG_DATA_DIRS: share } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { targets: { backends: { description: string }[] }[] };
    expect(report.targets[0]!.backends[0]!.description).toBe('onnxruntime-node, WebGPU execution provider on SwiftShader Vulkan (chromium), because the system Vulkan driver gives no adapter');
  });
});
