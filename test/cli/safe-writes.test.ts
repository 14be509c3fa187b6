/**
 * Issue 17 §3: where vitx writes. Temporary files are created with O_CREAT|O_EXCL|O_NOFOLLOW under
 * an unpredictable name (a link planted at the old, predictable `<out>.vitx-tmp-<pid>` is never
 * followed), stale ones of dead processes are removed (regular files only), and no output replaces
 * an input or another output, compared as files (alias folders, symbolic and hard links) for every
 * command: export, verify, diff, quantize, bench.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CREATE_NEW, removeStaleTemps, tempNameFor, writeAtomic } from '../../src/cli/files.js';
import { legalize } from '../../src/onnx/legalize.js';
import { serializeExternal } from '../../src/onnx/external.js';
import { serialize } from '../../src/onnx/serialize.js';
import { type CliResult, tempDir, vitx } from '../helpers/cli.js';
import { tinyVisionGraph } from '../helpers/tiny-model.js';

function expectOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr + r.stdout).toBe(code);
  expect(r.stderr).toMatch(/^vitx: error: [^\n]+\n$/);
  expect(r.stderr).toMatch(pattern);
}

let dir: string;
beforeAll(() => { dir = tempDir('vitx-writes-'); });

describe('temporary files', () => {
  it('a symbolic link planted at the old predictable temporary name is not followed', () => {
    const d = join(dir, 'planted');
    mkdirSync(d);
    const victim = join(d, 'victim.txt');
    writeFileSync(victim, 'precious');
    const out = join(d, 'report.json');
    symlinkSync(victim, `${out}.vitx-tmp-${process.pid}`);
    writeAtomic(out, [new TextEncoder().encode('{"ok": true}\n')]);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readFileSync(out, 'utf8')).toBe('{"ok": true}\n');
    expect(lstatSync(out).isSymbolicLink()).toBe(false);
  });

  it('names are unpredictable (pid and 16 random hex digits), and the open refuses a name that exists or is a link', () => {
    const out = join(dir, 'x.onnx');
    const a = tempNameFor(out), b = tempNameFor(out);
    expect(a).not.toBe(b);
    expect(a).toMatch(new RegExp(`x\\.onnx\\.vitx-tmp-${process.pid}-[0-9a-f]{16}$`));
    const victim = join(dir, 'victim2.txt');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, a);
    expect(() => openSync(a, CREATE_NEW, 0o666)).toThrow(/EEXIST|ELOOP/);
    writeFileSync(b, 'someone else\'s');
    expect(() => openSync(b, CREATE_NEW, 0o666)).toThrow(/EEXIST/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    const c = tempNameFor(out);
    closeSync(openSync(c, CREATE_NEW, 0o666));
    expect(lstatSync(c).isFile()).toBe(true);
  });

  it('stale temporaries of dead processes are removed in both name forms; links, folders and live processes\' files are kept', () => {
    const d = join(dir, 'stale');
    mkdirSync(d);
    const dead = spawnSync('true').pid!;
    const victim = join(dir, 'victim3.txt');
    writeFileSync(victim, 'precious');
    writeFileSync(join(d, `a.onnx.vitx-tmp-${dead}`), 'old form');
    writeFileSync(join(d, `b.onnx.vitx-tmp-${dead}-0123456789abcdef`), 'new form');
    writeFileSync(join(d, `c.onnx.vitx-tmp-${process.pid}-0123456789abcdef`), 'mine, in progress');
    symlinkSync(victim, join(d, `d.onnx.vitx-tmp-${dead}-fedcba9876543210`));
    mkdirSync(join(d, `e.onnx.vitx-tmp-${dead}`));
    writeFileSync(join(d, `f.onnx.vitx-tmp-${dead}-xyz`), 'not our name form');
    expect(removeStaleTemps(d).sort()).toEqual([`a.onnx.vitx-tmp-${dead}`, `b.onnx.vitx-tmp-${dead}-0123456789abcdef`]);
    expect(readdirSync(d).sort()).toEqual([`c.onnx.vitx-tmp-${process.pid}-0123456789abcdef`, `d.onnx.vitx-tmp-${dead}-fedcba9876543210`, `e.onnx.vitx-tmp-${dead}`, `f.onnx.vitx-tmp-${dead}-xyz`]);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });
});

describe('no output replaces an input or another output', () => {
  let models: string, alias: string, model: string, ext: string, cal: string, before: Buffer;
  beforeAll(() => {
    models = join(dir, 'models');
    mkdirSync(models);
    alias = join(dir, 'alias');
    symlinkSync(models, alias); // another name for the models folder
    const g = tinyVisionGraph(16, 1);
    legalize(g, 17);
    model = join(models, 'in.onnx');
    writeFileSync(model, serialize(g, { opset: 17 }));
    before = readFileSync(model);
    const e = serializeExternal(g, { opset: 17, location: 'w.data', threshold: 64 });
    ext = join(models, 'ext.onnx');
    writeFileSync(ext, e.model);
    writeFileSync(join(models, 'w.data'), Buffer.concat(e.data));
    cal = join(dir, 'cal');
    mkdirSync(cal);
    writeFileSync(join(cal, 'a.png'), 'not decoded: the check comes first');
  });
  const unchanged = () => expect(readFileSync(model).equals(before)).toBe(true);
  const refused = /refusing to overwrite the input file/;

  it('quantize: --json naming the input model, -o through an alias folder, --json onto a calibration photo', () => {
    expectOneLineError(vitx(['quantize', model, '--calibration', cal, '--json', model]), 1, refused);
    expectOneLineError(vitx(['quantize', model, '--calibration', cal, '-o', join(alias, 'in.onnx')]), 1, /refusing to overwrite the input file .*in\.onnx \(.*alias\/in\.onnx is the same file\)/);
    expectOneLineError(vitx(['quantize', model, '--calibration', cal, '--json', join(cal, 'a.png')]), 1, /refusing to overwrite the input file .*cal\/a\.png/);
    unchanged();
    expect(readFileSync(join(cal, 'a.png'), 'utf8')).toBe('not decoded: the check comes first');
  });

  it('quantize / verify: two outputs that are the same file (directly or through the alias)', () => {
    const o = join(models, 'q.onnx');
    expectOneLineError(vitx(['quantize', model, '--calibration', cal, '-o', o, '--json', join(alias, 'q.onnx')]), 1, /-o .*q\.onnx and --json .*alias\/q\.onnx are the same file; choose different output paths/);
    expect(existsSync(o)).toBe(false);
    const j = join(dir, 'out.json');
    expectOneLineError(vitx(['verify', model, '--ep', 'cpu', '--json', j, '--save-outputs', j]), 1, /--json .*out\.json and --save-outputs .*out\.json are the same file/);
    expect(existsSync(j)).toBe(false);
  });

  it('verify: an output onto the model (alias), its external data file, or the --reference file', () => {
    expectOneLineError(vitx(['verify', model, '--ep', 'cpu', '--json', join(alias, 'in.onnx')]), 1, refused);
    const data = readFileSync(join(models, 'w.data'));
    expectOneLineError(vitx(['verify', ext, '--ep', 'cpu', '--json', join(alias, 'w.data')]), 1, /refusing to overwrite the input file .*w\.data/);
    expect(readFileSync(join(models, 'w.data')).equals(data)).toBe(true);
    expectOneLineError(vitx(['verify', ext, '--ep', 'cpu', '--reference', model, '--json', model]), 1, refused);
    unchanged();
  });

  it('diff and bench: --json onto an input model', () => {
    expectOneLineError(vitx(['diff', model, ext, '--json', join(alias, 'ext.onnx')]), 1, refused);
    expectOneLineError(vitx(['bench', model, '--runs', '1', '--warmup', '1', '--json', join(alias, 'in.onnx')]), 1, refused);
    unchanged();
  });

  it('export: -o a hard link of the weights file, and --json onto a calibration photo', () => {
    const w = join(dir, 'w.safetensors');
    writeFileSync(w, 'weights: not read, the check comes first');
    linkSync(w, join(dir, 'hard.onnx'));
    expectOneLineError(vitx(['export', 'mobileone_s0', '-w', w, '-o', join(dir, 'hard.onnx')]), 1, /refusing to overwrite the input file .*w\.safetensors \(.*hard\.onnx is the same file\)/);
    expectOneLineError(vitx(['export', 'mobileone_s0', '--dtype', 'int8', '--calibration', cal, '-o', join(dir, 'm.onnx'), '--json', join(cal, 'a.png')]), 1, /refusing to overwrite the input file .*a\.png/);
    expect(readFileSync(w, 'utf8')).toBe('weights: not read, the check comes first');
  });
});
