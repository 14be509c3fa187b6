/**
 * Names from files — ONNX node, initializer, input/output names and metadata, safetensors keys,
 * pickle keys — reach the terminal with C0 and C1 controls, bidi marks/overrides and line
 * separators escaped (`\x1b`, `\x9b`, `\u202e`), on stderr (errors) and in the text reports on
 * stdout; `--json` stays valid JSON that decodes to the file's names.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '../../src/graph/tensor.js';
import { printable } from '../../src/printable.js';
import { onnx, type OnnxNs } from '../../src/onnx/proto.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { writeZip } from '../helpers/pth.js';

/** Every character class that must never reach a terminal raw (\n only as a line end). */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
const EVIL = ['\u009b', '\u0085', '\u202e', '\u202a', '\u2066', '\u2069', '\u061c', '\u200f', '\u2028', '\u001b[2J', '\n', '\r'];
const evil = (stem: string) => `${stem}${EVIL.join('')}end`;

let dir: string;
beforeAll(() => { dir = tempDir('vitx-printable-'); });

const tensorType = (dims: number[]) => ({ tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });

/** x → Relu → y with evil names everywhere a name can be (and evil metadata). */
function model(edit: (g: OnnxNs.IGraphProto) => void = () => {}): Uint8Array {
  const g: OnnxNs.IGraphProto = {
    name: 'g',
    node: [{ name: evil('node'), opType: 'Relu', input: [evil('x')], output: [evil('y')] }],
    input: [{ name: evil('x'), type: tensorType([1, 4]) }],
    output: [{ name: evil('y'), type: tensorType([1, 4]) }],
  };
  edit(g);
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject({
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g, metadataProps: [{ key: 'vitx.model', value: evil('meta') }],
  })).finish();
}

function write(name: string, bytes: Uint8Array): string {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

function expectSafe(r: { stdout: string; stderr: string }): void {
  expect(r.stdout).not.toMatch(UNSAFE);
  expect(r.stderr).not.toMatch(UNSAFE);
}

describe('printable()', () => {
  it('escapes C0, DEL, C1, bidi marks and overrides, separators; nothing else; idempotent', () => {
    expect(printable('a\u001b[2Jb\u007f\u009b\u0085\u202e\u2066\u061c\u200e\u2028z')).toBe('a\\x1b[2Jb\\x7f\\x9b\\x85\\u202e\\u2066\\u061c\\u200e\\u2028z');
    const plain = 'stages.0.conv → [1, 3, 224, 224] · ≤ × — é 日本';
    expect(printable(plain)).toBe(plain);
    expect(printable(printable(evil('n')))).toBe(printable(evil('n')));
  });
});

describe('names from files reach stderr escaped', () => {
  it('ONNX: a node name in a reader error', () => {
    const f = write('bad-node.onnx', model((g) => { g.node![0]!.input = [evil('missing')]; }));
    const r = vitx(['inspect', f]);
    expect(r.code).toBe(1);
    expectSafe(r);
    expect(r.stderr).toContain(`node ${printable(evil('node'))} reads ${printable(evil('missing'))}, which is not defined before it`);
    expect(r.stderr.split('\n')).toHaveLength(2); // one line
  });

  it('ONNX: an initializer name in a reader error', () => {
    const f = write('bad-init.onnx', model((g) => { g.initializer = [{ name: evil('w'), dataType: 1, dims: [4], rawData: new Uint8Array(3) }]; }));
    const r = vitx(['inspect', f]);
    expect(r.code).toBe(1);
    expectSafe(r);
    expect(r.stderr).toContain(`initializer ${printable(evil('w'))}: float32[4] needs 16 bytes`);
  });

  it('safetensors: a key in the checkpoint mismatch (bidi override only, which the key check lets through)', () => {
    const f = write('evil.safetensors', writeSafetensors([['evil\u202ekey\u2066', Tensor.f32([1], [1])]]));
    const r = vitx(['export', 'mobileone_s0', '--weights', f, '-o', join(dir, 'x.onnx')]);
    expect(r.code).toBe(1);
    expectSafe(r);
    expect(r.stderr).toMatch(/1 unexpected: evil\\u202ekey\\u2066\n$/);
  });

  it('safetensors: a key in a header error', () => {
    const header = JSON.stringify({ [evil('k')]: { dtype: 'F99', shape: [1], data_offsets: [0, 4] } });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
    const f = write('bad-header.safetensors', Buffer.concat([len, Buffer.from(header), Buffer.alloc(4)]));
    const r = vitx(['export', 'mobileone_s0', '--weights', f, '-o', join(dir, 'x.onnx')]);
    expect(r.code).toBe(1);
    expectSafe(r);
    expect(r.stderr).toContain(`tensor ${printable(evil('k'))} has unsupported dtype F99\n`);
  });

  it('pickle: the entries of a PyTorch checkpoint without a state dict', () => {
    // {key: 1, …} as protocol 2: PROTO 2, EMPTY_DICT, (BINUNICODE key, BININT1 1, SETITEM)…, STOP
    const pickle = (keys: string[]) => {
      const b: number[] = [0x80, 0x02, 0x7d];
      for (const k of keys) { const u = Buffer.from(k, 'utf8'); b.push(0x58, u.length & 255, u.length >> 8, 0, 0, ...u, 0x4b, 1, 0x73); }
      return Uint8Array.from([...b, 0x2e]);
    };
    const pth = writeZip([['archive/data.pkl', pickle(['evil\u202ekey', evil('k')])], ['archive/version', new TextEncoder().encode('3\n')]]);
    const r = vitx(['export', 'mobileone_s0', '--weights', write('evil.pth', pth), '-o', join(dir, 'x.onnx')]);
    expect(r.code).toBe(1);
    expectSafe(r);
    expect(r.stderr).toMatch(/no state dict found \(entries: evil\\u202ekey, k/);
  });
});

describe('names from files in the text reports on stdout', () => {
  it('inspect: input, output and metadata names escaped; --json decodes to the file\'s own names', () => {
    const f = write('names.onnx', model());
    const r = vitx(['inspect', f]);
    expect(r.code, r.stderr).toBe(0);
    expectSafe(r);
    expect(r.stdout).toContain(printable(evil('y')));
    const j = vitx(['inspect', f, '--json']);
    expect(j.code).toBe(0);
    expect(j.stdout).not.toMatch(UNSAFE);
    const report = JSON.parse(j.stdout) as { outputs: { name: string }[]; metadata: Record<string, string> };
    expect(report.outputs[0]!.name).toBe(evil('y'));
    expect(report.metadata['vitx.model']).toBe(evil('meta'));
  });

  it('diff: node names escaped', () => {
    const a = write('a.onnx', model());
    const b = write('b.onnx', model((g) => { g.node![0]!.name = evil('other'); }));
    const r = vitx(['diff', a, b]);
    expectSafe(r);
    expect(r.stdout).toContain(`node ${printable(evil('other'))} (Relu) only in b`);
  });

  it('verify: output names escaped', () => {
    const f = write('run.onnx', model());
    const r = vitx(['verify', f, '--ep', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    expectSafe(r);
    expect(r.stdout).toContain(printable(evil('x')));
  });
});
