/**
 * External data: the writer's layout (alignment, determinism), onnxruntime loading the pair from
 * the file path with the same results as the inline file, the reader's round trip, and the reader
 * refusing locations that leave the model's folder (absolute, `..`, a symlink out) or point past
 * the end of the data, each with a one-line message.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { printGraph } from '../../src/graph/print.js';
import { dataLocationFor, ExternalDataError, readOnnxFile, serializeExternal } from '../../src/onnx/external.js';
import { legalize } from '../../src/onnx/legalize.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { onnx, toNum } from '../../src/onnx/proto.js';
import { serialize } from '../../src/onnx/serialize.js';
import '../../src/builders/index.js';
import { exportModel } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { tempDir } from '../helpers/cli.js';
import { everyOpGraph } from '../helpers/every-op.js';
import { seeded } from '../helpers/graphs.js';

const X = seeded([2, 4, 8, 8], 'external-input');
const feeds = { input: { dtype: 'float32' as const, dims: [2, 4, 8, 8], data: X.data as Float32Array } };

function graph(): Graph {
  const g = everyOpGraph();
  legalize(g, 17);
  return g;
}

let dir: string;
let model: string;

beforeAll(() => {
  dir = tempDir('vitx-external-');
  model = join(dir, 'm.onnx');
  const e = serializeExternal(graph(), { opset: 17, location: dataLocationFor(model), threshold: 64 });
  writeFileSync(`${model}.data`, Buffer.concat(e.data));
  writeFileSync(model, e.model);
});

/** The model with one tensor's external location replaced (and optionally its offset). */
function crafted(name: string, location: string, offset?: number): string {
  const m = onnx.ModelProto.decode(readFileSync(model));
  const t = m.graph!.initializer!.find((x) => x.externalData?.length)!;
  for (const kv of t.externalData!) {
    if (kv.key === 'location') kv.value = location;
    if (kv.key === 'offset' && offset !== undefined) kv.value = String(offset);
  }
  const path = join(dir, name);
  writeFileSync(path, onnx.ModelProto.encode(m).finish());
  return path;
}

describe('external data', () => {
  it('lays tensors out aligned (64 B, 4096 B from 64 KiB) and deterministically', () => {
    const a = serializeExternal(graph(), { opset: 17, location: 'm.onnx.data', threshold: 64 });
    const b = serializeExternal(graph(), { opset: 17, location: 'm.onnx.data', threshold: 64 });
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
    expect(Buffer.concat(a.data).equals(Buffer.concat(b.data))).toBe(true);
    const m = onnx.ModelProto.decode(a.model);
    const ext = m.graph!.initializer!.filter((t) => t.externalData?.length);
    expect(ext.length).toBe(a.tensors);
    expect(a.tensors).toBe(5);
    for (const t of ext) {
      const kv = Object.fromEntries(t.externalData!.map((e) => [e.key, e.value]));
      expect(kv['location']).toBe('m.onnx.data');
      expect(Number(kv['offset']) % (Number(kv['length']) >= 65536 ? 4096 : 64)).toBe(0);
      expect(t.rawData?.length ?? 0).toBe(0);
    }
    // small tensors (below the threshold) stay inline
    expect(m.graph!.initializer!.some((t) => !t.externalData?.length && toNum(t.dims?.[0] ?? 1) <= 4)).toBe(true);
  });

  it('puts a tensor of 64 KiB or more at the next 4096-byte boundary, smaller ones at 64', () => {
    const b = Builder.create('big');
    const x = b.input('x', { dtype: 'float32', shape: [1, 20000] });
    const y = b.input('y', { dtype: 'float32', shape: [1, 300] });
    b.g.outputs.push(b.mul(y, b.constant('small', Tensor.f32([1, 300]))), b.mul(x, b.constant('a', Tensor.f32([1, 20000]))), b.mul(x, b.constant('s', Tensor.f32([1, 20000]))));
    const e = serializeExternal(b.g, { opset: 17, location: 'big.onnx.data' });
    const offsets = onnx.ModelProto.decode(e.model).graph!.initializer!.map((t) => Number(t.externalData!.find((kv) => kv.key === 'offset')!.value));
    expect(offsets).toEqual([0, 4096, 86016]); // 1200 B at 0; 80000 B at 4096; the next page after 84096
    expect(e.dataBytes).toBe(86016 + 80000);
  });

  it('onnxruntime loads the pair from the file path with the inline file\'s results', async () => {
    const inline = await runOnnx(serialize(graph(), { opset: 17 }), feeds);
    const ext = await runOnnx(model, feeds);
    for (const k of ['logits', 'stats']) expect(Buffer.from((ext[k]!.data as Float32Array).buffer).equals(Buffer.from((inline[k]!.data as Float32Array).buffer))).toBe(true);
  });

  it('reads back into the graph the inline file gives', () => {
    const parsed = readOnnxFile(model);
    const g = parseOnnx(serialize(graph(), { opset: 17 })).graph;
    expect(printGraph(parsed.graph)).toBe(printGraph(g));
    for (const [name, v] of g.initializers) expect(Buffer.from(parsed.graph.initializers.get(name)!.constant!.bytes()).equals(Buffer.from(v.constant!.bytes()))).toBe(true);
  });

  it('refuses locations outside the model\'s folder, with one-line messages', () => {
    const outside = join(dir, '..', `vitx-outside-${process.pid}.bin`);
    writeFileSync(outside, readFileSync(`${model}.data`));
    mkdirSync(join(dir, 'sub'), { recursive: true });
    symlinkSync(outside, join(dir, 'link.data'));
    const cases: [string, RegExp][] = [
      [crafted('abs.onnx', outside), /external data location '.*' is an absolute path; vitx reads external data only from the model's folder$/],
      [crafted('dotdot.onnx', `../vitx-outside-${process.pid}.bin`), /leaves the model's folder \(\.\.\)/],
      [crafted('sub-dotdot.onnx', 'sub/../../x.bin'), /leaves the model's folder \(\.\.\)/],
      [crafted('link.onnx', 'link.data'), /is a link to .*outside the model's folder/],
      [crafted('missing.onnx', 'nothing.data'), /external data file .*nothing\.data does not exist/],
      [crafted('past-end.onnx', 'm.onnx.data', 1 << 30), /lies beyond the end of m\.onnx\.data/],
    ];
    for (const [path, msg] of cases) {
      let err: unknown = null;
      try { readOnnxFile(path); } catch (e) { err = e; }
      expect(err, path).toBeInstanceOf(ExternalDataError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('a symlink inside the folder is fine', () => {
    symlinkSync(join(dir, 'm.onnx.data'), join(dir, 'alias.data'));
    // as many as the inline file holds (the writer leaves out the two that legalizing Pad left unread)
    expect(readOnnxFile(crafted('alias.onnx', 'alias.data')).graph.initializers.size).toBe(parseOnnx(serialize(graph(), { opset: 17 })).graph.initializers.size);
  });

  it('exportModel switches to external data on its own above the limit (2 GB by default)', () => {
    const auto = exportModel('mobilevit_xxs', { externalAbove: 1_000_000 });
    expect(auto.external?.location).toBe('mobilevit_xxs.onnx.data');
    expect(auto.external!.dataBytes).toBeGreaterThan(5_000_000);
    expect(auto.bytes.byteLength).toBeLessThan(200_000);
    expect(exportModel('mobilevit_xxs').external).toBeNull();
    expect(exportModel('mobilevit_xxs', { externalAbove: 1_000_000, externalData: false }).external).toBeNull();
  });

  it('the location must be a plain file name', () => {
    expect(() => serializeExternal(graph(), { opset: 17, location: '../x.data' })).toThrow(/must be a plain file name/);
  });
});
