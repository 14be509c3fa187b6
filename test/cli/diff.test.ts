/**
 * `vitx diff` through the real binary: a file and a copy with one weight changed (named, non-zero
 * exit, --bisect names the first diverging node), a file and its re-serialized copy (no
 * difference), an optimized file and its source (outputs agree, structure differs; --strict fails),
 * and bad input.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '../../src/graph/tensor.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { serialize } from '../../src/onnx/serialize.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { referenceSafetensors } from '../helpers/reference.js';
import { tinyVisionOnnx } from '../helpers/tiny-model.js';

const MODEL = 'mobileone_s0';
let dir: string, opt: string, raw: string, changed: string, reserialized: string;
let changedWeight: string, changedNode: string;

beforeAll(() => {
  dir = tempDir('vitx-diff-');
  const weights = join(dir, 'w.safetensors');
  writeFileSync(weights, referenceSafetensors(MODEL));
  opt = join(dir, 'opt.onnx');
  raw = join(dir, 'raw.onnx');
  expect(vitx(['export', MODEL, '--weights', weights, '--size', '96', '-o', opt, '-q']).code).toBe(0);
  expect(vitx(['export', MODEL, '--weights', weights, '--size', '96', '-o', raw, '-q', '--no-optimize']).code).toBe(0);
  // a copy with one weight changed: the weight of a Conv in the middle of the network
  const p = parseOnnx(readFileSync(opt));
  const convs = [...p.graph.nodes].filter((n) => n.op === 'Conv' && n.input(1).isConstant);
  const conv = convs[Math.floor(convs.length / 2)]!;
  const w = conv.input(1);
  changedWeight = w.name;
  changedNode = conv.name;
  const d = Float32Array.from(w.constant!.data as Float32Array);
  d[0]! += 0.5;
  p.graph.setConstant(w, new Tensor('float32', w.constant!.shape, d));
  changed = join(dir, 'changed.onnx');
  writeFileSync(changed, serialize(p.graph, { opset: p.opset }));
  // the file parsed and written again, without value_info this time (different bytes, same model)
  const q = parseOnnx(readFileSync(opt));
  reserialized = join(dir, 'reserialized.onnx');
  writeFileSync(reserialized, serialize(q.graph, { opset: q.opset, valueInfo: false }));
});

describe('vitx diff', () => {
  it('one weight changed: exit 1, names the initializer and its largest difference', () => {
    const r = vitx(['diff', opt, changed]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('  structure  1 initializers changed\n');
    expect(r.stdout).toContain(`    initializer ${changedWeight} changed: max |Δ| 0.5 (1 of `);
    expect(r.stdout).toMatch(/\n {4}logits: FAIL {2}max\|Δ\| /);
    expect(r.stdout).toMatch(/diff: outputs differ beyond tolerance\n$/);
  });

  it('--bisect: the first diverging node is the one that reads the changed weight', () => {
    const json = join(dir, 'bisect.json');
    const r = vitx(['diff', opt, changed, '--bisect', '--json', json]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`\\n {2}bisect {5}first diverging node: ${changedNode.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(Conv\\), output `));
    expect(r.stdout).toContain(`${changedWeight} (initializer changed)`);
    const rep = JSON.parse(readFileSync(json, 'utf8'));
    expect(rep.pass).toBe(false);
    expect(rep.equivalent).toBe(false);
    expect(rep.structure.initializers.changed.map((c: { name: string }) => c.name)).toEqual([changedWeight]);
    expect(rep.bisect.first.node).toBe(changedNode);
    expect(rep.bisect.first.comparison.pass).toBe(false);
  });

  it('a file and its re-serialized copy: no difference, exit 0', () => {
    expect(readFileSync(opt).equals(readFileSync(reserialized))).toBe(false); // the bytes differ (no value_info)
    const r = vitx(['diff', opt, reserialized, '--strict', '--atol', '0', '--rtol', '0']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('  structure  identical (nodes, attributes, shapes, initializers)\n');
    expect(r.stdout).toMatch(/logits: pass {2}max\|Δ\| 0 /);
    expect(r.stdout).toMatch(/diff: no difference\n$/);
  });

  it('an optimized file and its source: outputs agree (exit 0), structure differs; --strict exits 1', () => {
    const r = vitx(['diff', raw, opt, '--limit', '2']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/ops: .*BatchNormalization \d+→\d+/);
    expect(r.stdout).toMatch(/… and \d+ more \(--limit, or --json for all\)/);
    expect(r.stdout).toMatch(/diff: outputs agree within tolerance; structure differs\n$/);
    const s = vitx(['diff', raw, opt, '--strict']);
    expect(s.code).toBe(1);
    expect(s.stdout).toMatch(/structure differs \(--strict\)\n$/);
  });

  it('runs on another backend with --ep', () => {
    const r = vitx(['diff', opt, reserialized, '--ep', 'wasm']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/numeric {4}wasm, seed 0/);
  });

  describe('bad input: one line, non-zero exit, no stack trace, nothing written', () => {
    const cases: [string, () => string[], number, RegExp][] = [
      ['missing file', () => ['diff', opt, join(dir, 'missing.onnx')], 1, /cannot read model file .*missing\.onnx: no such file/],
      ['malformed ONNX', () => { const f = join(dir, 'bad.onnx'); writeFileSync(f, 'garbage'.repeat(10)); return ['diff', f, opt]; }, 1, /not a valid ONNX file/],
      ['unknown ep', () => ['diff', opt, changed, '--ep', 'tpu'], 2, /--ep: unknown backend 'tpu' \(choose one of cpu, webgpu, wasm, browser-webgpu, browser-wasm\)/],
      ['bad atol', () => ['diff', opt, changed, '--atol', 'x'], 2, /--atol must be a non-negative number/],
      ['missing argument', () => ['diff', opt], 2, /missing required argument 'b'/],
      ['--json into a missing folder', () => ['diff', opt, changed, '--json', join(dir, 'no', 'r.json')], 1, /cannot write .*r\.json/],
    ];
    for (const [what, args, code, pattern] of cases) {
      it(what, () => {
        const a = args();
        const before = new Set(readdirSync(dir));
        const r = vitx(a);
        expect(r.code, r.stderr).toBe(code);
        expect(r.stderr).toMatch(/^vitx: error: [^\n]+\n$/);
        expect(r.stderr).toMatch(pattern);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(readdirSync(dir).filter((f) => !before.has(f))).toEqual([]);
      });
    }
  });

  it('files with different inputs cannot be shown equivalent: exit 1 with the reason', () => {
    const tiny = join(dir, 'tiny.onnx');
    writeFileSync(tiny, tinyVisionOnnx(16, 1));
    const r = vitx(['diff', opt, tiny]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/numeric {4}cpu, seed 0, .*: the files take different inputs \(input:float32\[1,3,96,96\] vs input:float32\[1,3,16,16\]\)/);
    expect(r.stdout).toMatch(/diff: cannot show the files are equivalent\n$/);
  });
});
