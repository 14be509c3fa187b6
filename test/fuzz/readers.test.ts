/**
 * Mutation fuzzing of the three readers of untrusted files: ONNX (with external data), safetensors
 * and saved outputs ("goldens", .json and .safetensors). Seeds are files vitx writes; each case
 * applies byte, protobuf-wire (mutate.ts) or structural mutations (on the decoded ModelProto,
 * safetensors header or goldens JSON).
 *
 * The property: the reader either returns a result — for ONNX an IR graph that passes the
 * verifier — or throws its own error type with one line of text that is not a raw JavaScript
 * error ("Cannot read properties…", "Invalid array length"…). Never a TypeError / RangeError.
 *
 * CI runs VITX_FUZZ_RUNS cases per reader (default 1000; `npm run fuzz` runs 50000), seeded by
 * VITX_FUZZ_SEED (default fixed, so CI is reproducible; fast-check prints the seed and path of a
 * failure to replay it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { ExternalDataError, ModelFileError, readOnnxFile, serializeExternal } from '../../src/onnx/external.js';
import { legalize } from '../../src/onnx/legalize.js';
import { OnnxParseError } from '../../src/onnx/parse.js';
import { onnx, type OnnxNs } from '../../src/onnx/proto.js';
import { serialize } from '../../src/onnx/serialize.js';
import { GoldensError, readGoldens, writeGoldens } from '../../src/verify/goldens.js';
import { SafetensorsError, readSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';
import { Tensor } from '../../src/graph/tensor.js';
import { tempDir } from '../helpers/cli.js';
import { everyOpGraph } from '../helpers/every-op.js';
import { tinyVisionGraph } from '../helpers/tiny-model.js';
import { expectReaderError, params, RUNS, TIMEOUT, withRng } from './harness.js';
import { mutateBytes, mutateWire, type Rng } from './mutate.js';

// ---------------------------------------------------------------- ONNX

const EDGE_NUMS = [-1, 0, 1, 3, 2 ** 31, 2 ** 40, 2 ** 53, Number.MAX_SAFE_INTEGER];
const OPS = ['Conv', 'Relu', 'Add', 'MatMul', 'Reshape', 'Transpose', 'Gemm', 'Softmax', 'Concat', 'Slice', 'Gather', 'BatchNormalization',
  'GlobalAveragePool', 'AveragePool', 'ConvTranspose', 'Resize', 'Pad', 'Split', 'LayerNormalization', 'Cast', 'Constant', 'Shape', 'NoSuchOp',
  'toString', '__proto__', 'constructor', 'hasOwnProperty'];

function mutateTensor(t: OnnxNs.ITensorProto, r: Rng): void {
  switch (r.int(0, 6)) {
    case 0: if (t.dims?.length) t.dims[r.int(0, t.dims.length - 1)] = r.pick(EDGE_NUMS); else t.dims = [r.pick(EDGE_NUMS)]; break;
    case 1: t.dataType = r.int(0, 20); break;
    case 2: t.rawData = r.chance(0.5) ? new Uint8Array() : t.rawData?.subarray(0, r.int(0, t.rawData.length)) ?? null; break;
    case 3: t.floatData = Array.from({ length: r.int(0, 8) }, () => r.int(-5, 5)); t.rawData = new Uint8Array(); break;
    case 4: t.int64Data = [r.pick(['9223372036854775807', '-9223372036854775808', '0', '5'])] as never; t.rawData = new Uint8Array(); t.dataType = 7; break;
    case 5: case 6: {
      t.dataLocation = 1;
      const kv = [{ key: 'location', value: r.pick(['w.data', 'w.data', '../w.data', '/etc/hostname', 'missing.data', '', 'sub/../w.data']) }];
      if (r.chance(0.7)) kv.push({ key: 'offset', value: r.pick(['0', '64', '-1', '1e3', '99999999999', 'x', String(2 ** 60)]) });
      if (r.chance(0.5)) kv.push({ key: 'length', value: r.pick(['0', '4', '432', '-4', '18446744073709551615', String(t.rawData?.length ?? 0)]) });
      t.externalData = kv;
      break;
    }
  }
}

function mutateModel(m: OnnxNs.ModelProto, r: Rng): void {
  const g = m.graph!;
  const nodes = g.node ?? [];
  const n = r.int(1, 3);
  for (let k = 0; k < n; k++) {
    switch (r.int(0, 12)) {
      case 0: if (g.initializer?.length) mutateTensor(r.pick(g.initializer), r); break;
      case 1: if (nodes.length) { const x = r.pick(nodes); x.opType = r.pick(OPS); } break;
      case 2: if (nodes.length) { const x = r.pick(nodes); if (x.input?.length) x.input[r.int(0, x.input.length - 1)] = r.pick(['', 'nowhere', x.output?.[0] ?? '', g.input?.[0]?.name ?? '']); } break;
      case 3: if (nodes.length) { const x = r.pick(nodes); x.attribute = [...(x.attribute ?? []), { name: r.pick(['t', 'value', 'axes', 'perm', 'kernel_shape']), type: r.int(0, 14), ...(r.chance(0.3) ? { ints: [r.pick(EDGE_NUMS), -5] } : {}) }]; } break;
      case 4: if (nodes.length) { const x = r.pick(nodes); const a = x.attribute?.find((y) => y.t) ?? null; if (a && a.t) mutateTensor(a.t, r); else x.attribute = [...(x.attribute ?? []), { name: 'value', type: 4, t: null }]; } break;
      case 5: if (nodes.length > 1) { const i = r.int(0, nodes.length - 1), j = r.int(0, nodes.length - 1); [nodes[i], nodes[j]] = [nodes[j]!, nodes[i]!]; } break;
      case 6: if (nodes.length > 1) { const x = r.pick(nodes), y = r.pick(nodes); if (x.output?.length && y.output?.length) x.output[0] = y.output[0]!; } break;
      case 7: { const vis = [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]; if (vis.length) { const vi = r.pick(vis); const tt = vi.type?.tensorType; if (tt) { if (r.chance(0.4)) tt.elemType = r.int(0, 20); else if (tt.shape?.dim?.length) tt.shape.dim[r.int(0, tt.shape.dim.length - 1)] = r.chance(0.7) ? { dimValue: r.pick(EDGE_NUMS) } : { dimParam: 'N' }; else tt.shape = null; } else vi.type = null; } } break;
      case 8: m.metadataProps = [...(m.metadataProps ?? []), { key: 'vitx.external_data', value: r.pick(['{', '{"location":"w.data","bytes":1,"sha256":"00"}', 'null', '[]']) }]; break;
      case 9: if (nodes.length) nodes.splice(r.int(0, nodes.length - 1), 1); break;
      case 10: if (g.output?.length) g.output[0]!.name = r.pick(['nowhere', g.input?.[0]?.name ?? '', '']); break;
      case 12: { const vi = g.input?.[0]; const dims = vi?.type?.tensorType?.shape?.dim; if (dims) { if (r.chance(0.5) && dims.length) dims.splice(r.int(0, dims.length - 1), r.int(1, dims.length)); else dims.push({ dimValue: r.int(1, 3) }); } } break;
      case 11: m.opsetImport = r.pick([[], [{ domain: '', version: 0 }], [{ domain: '', version: 1 }], [{ domain: 'x', version: 17 }], [{ domain: '', version: 99 }]]); break;
    }
  }
}

describe('fuzz: ONNX reader', () => {
  let dir: string;
  const seeds: Uint8Array[] = [];
  beforeAll(() => {
    dir = tempDir('vitx-fuzz-onnx-');
    mkdirSync(join(dir, 'sub'));
    const tiny = tinyVisionGraph(16, 1);
    legalize(tiny, 17);
    const every = everyOpGraph(2);
    legalize(every, 17);
    const e = serializeExternal(tiny, { opset: 17, location: 'w.data', threshold: 64 });
    writeFileSync(join(dir, 'w.data'), Buffer.concat(e.data));
    seeds.push(serialize(tiny, { opset: 17 }), serialize(every, { opset: 17 }), e.model);
  });

  function check(bytes: Uint8Array): void {
    const path = join(dir, 'case.onnx');
    writeFileSync(path, bytes);
    let g: Graph;
    try {
      g = readOnnxFile(path).graph;
    } catch (e) {
      expectReaderError(e, [OnnxParseError, ExternalDataError, ModelFileError]);
      return;
    }
    verifyGraph(g); // what the reader returns is a valid IR
  }

  it('the seeds parse and verify', () => { for (const s of seeds) check(s); });

  it('byte mutations', () => { fc.assert(withRng((r) => check(mutateBytes(r.pick(seeds), r))), { ...params, numRuns: Math.ceil(RUNS / 4) }); }, TIMEOUT);
  it('protobuf-wire mutations', () => { fc.assert(withRng((r) => check(mutateWire(r.pick(seeds), r))), { ...params, numRuns: Math.ceil(RUNS / 2) }); }, TIMEOUT);
  it('structural mutations (ModelProto)', () => {
    fc.assert(withRng((r) => {
      const m = onnx.ModelProto.decode(r.pick(seeds));
      mutateModel(m, r);
      let bytes: Uint8Array;
      try { bytes = onnx.ModelProto.encode(m).finish(); } catch { return; } // not encodable: not a file anyone can write
      check(bytes);
    }), params);
  }, TIMEOUT);
});

// ---------------------------------------------------------------- safetensors

function safetensorsSeed(): Uint8Array {
  return writeSafetensors([
    ['a.weight', Tensor.f32([2, 3], [1, 2, 3, 4, 5, 6])],
    ['b.index', Tensor.i64([7, -1, 2 ** 40])],
    ['c.scalar', Tensor.scalarF32(0.5)],
    ['d.empty', new Tensor('float32', [0, 3])],
    ['e.half', new Tensor('float16', [4], Uint16Array.of(0x3c00, 0, 0x7c00, 0xfc00))],
    ['f.mask', new Tensor('bool', [3], Uint8Array.of(1, 0, 1))],
  ], { format: 'pt', note: 'seed' });
}

function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void, skew = 0): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  edit(h);
  const hb = new TextEncoder().encode(JSON.stringify(h));
  const out = new Uint8Array(8 + hb.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, hb.length + skew)), true);
  out.set(hb, 8);
  out.set(bytes.subarray(8 + n), 8 + hb.length);
  return out;
}

const JUNK: unknown[] = [null, 0, -1, 1.5, 'x', [], {}, [1, 2, 3], { dtype: 'F32' }, true, 2 ** 53, -(2 ** 60)];

function mutateHeader(h: Record<string, unknown>, r: Rng): void {
  const keys = Object.keys(h);
  const k = r.pick(keys);
  const e = h[k] as Record<string, unknown> | null;
  switch (r.int(0, 6)) {
    case 0: h[r.chance(0.5) ? k : r.pick(['__proto__', 'constructor', 'toString', 'new'])] = r.pick(JUNK); break;
    case 1: if (e && typeof e === 'object') e['dtype'] = r.pick(['F32', 'I64', 'BF16', 'F8', 'constructor', '__proto__', 1, null]); break;
    case 2: if (e && typeof e === 'object') e['shape'] = r.pick([[-1], [2 ** 53, 2], [1e6, 1e6, 1e6], [1.5], ['2'], null, [], [0]]); break;
    case 3: if (e && typeof e === 'object') e['data_offsets'] = r.pick([[0, 0], [8, 0], [-8, 0], [0, 2 ** 60], [0], null, [0, 1.5], [0, 24]]); break;
    case 4: h['__metadata__'] = r.pick([null, 5, [], { a: 1 }, { a: 'b' }, 'x']); break;
    case 5: delete h[k]; break;
    case 6: if (e && typeof e === 'object') delete e[r.pick(['dtype', 'shape', 'data_offsets'])]; break;
  }
}

describe('fuzz: safetensors reader', () => {
  const seed = safetensorsSeed();
  function check(bytes: Uint8Array): void {
    try {
      const f = readSafetensors(bytes, 'fuzz.safetensors');
      for (const t of f.tensors.values()) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
    } catch (e) {
      expectReaderError(e, [SafetensorsError]);
    }
  }
  it('the seed reads back', () => { expect(readSafetensors(seed).tensors.size).toBe(6); });
  it('byte mutations', () => { fc.assert(withRng((r) => check(mutateBytes(seed, r))), { ...params, numRuns: Math.ceil(RUNS / 2) }); }, TIMEOUT);
  it('structural mutations (header JSON, header length)', () => {
    fc.assert(withRng((r) => check(withHeader(seed, (h) => { for (let i = r.int(1, 3); i > 0; i--) mutateHeader(h, r); }, r.chance(0.2) ? r.pick([-1, 1, 1 << 30]) : 0))), params);
  }, TIMEOUT);
});

// ---------------------------------------------------------------- goldens

function mutateJson(v: unknown, r: Rng, depth = 0): unknown {
  if (depth > 0 && r.chance(0.3)) return r.pick([...JUNK, 'NaN', 'Infinity', '9223372036854775808', '-0', { dtype: 'int64', dims: [1], data: [1.5] }]);
  if (Array.isArray(v)) {
    const a = [...v];
    if (a.length && r.chance(0.5)) a[r.int(0, a.length - 1)] = mutateJson(a[r.int(0, a.length - 1)], r, depth + 1);
    else if (r.chance(0.5)) a.pop(); else a.push(r.pick(JUNK));
    return a;
  }
  if (v && typeof v === 'object') {
    const o = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    if (keys.length && r.chance(0.8)) { const k = r.pick(keys); o[k] = mutateJson(o[k], r, depth + 1); } else o[r.pick(['dtype', 'dims', 'data', 'outputs', 'inputs', 'meta', '__proto__'])] = r.pick(JUNK);
    return o;
  }
  return r.pick(JUNK);
}

describe('fuzz: goldens reader', () => {
  const goldens = {
    meta: { target: 'x.onnx', seed: '0' },
    inputs: { input: { dtype: 'float32' as const, dims: [1, 3], data: Float32Array.of(1, NaN, -Infinity) } },
    outputs: {
      logits: { dtype: 'float32' as const, dims: [1, 2], data: Float32Array.of(0.5, 2) },
      idx: { dtype: 'int64' as const, dims: [2], data: BigInt64Array.of(2n ** 62n, -1n) },
      half: { dtype: 'float16' as const, dims: [1], data: Uint16Array.of(0x3c00) },
    },
  };
  const json = writeGoldens(goldens, 'json'), st = writeGoldens(goldens, 'safetensors');
  function check(bytes: Uint8Array, format: 'json' | 'safetensors'): void {
    try {
      const g = readGoldens(bytes, format, 'fuzz goldens');
      for (const t of [...Object.values(g.inputs), ...Object.values(g.outputs)]) expect(t.data.length).toBe(t.dims.reduce((a, b) => a * b, 1));
    } catch (e) {
      expectReaderError(e, [GoldensError, SafetensorsError]);
    }
  }
  it('the seeds read back', () => { expect(Object.keys(readGoldens(json, 'json', 'j').outputs)).toEqual(['logits', 'idx', 'half']); expect(Object.keys(readGoldens(st, 'safetensors', 's').outputs).sort()).toEqual(['half', 'idx', 'logits']); });
  it('byte mutations (.json and .safetensors)', () => {
    fc.assert(withRng((r) => { const f = r.pick(['json', 'safetensors'] as const); check(mutateBytes(f === 'json' ? json : st, r), f); }), { ...params, numRuns: Math.ceil(RUNS / 2) });
  }, TIMEOUT);
  it('structural mutations (JSON tree)', () => {
    const tree = JSON.parse(new TextDecoder().decode(json)) as unknown;
    fc.assert(withRng((r) => check(new TextEncoder().encode(JSON.stringify(mutateJson(tree, r))), 'json')), params);
  }, TIMEOUT);
});
