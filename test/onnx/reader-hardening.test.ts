/**
 * Named regression tests for the readers (issue 12): each crafted file once crashed a reader with
 * raw JS text, lost data, or made it read or allocate far beyond the file. Now each either reads
 * exactly, or fails with the reader's own one-line error naming the file and the tensor/node/key.
 */
import { closeSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, type RegisterCommand } from '../../src/cli/commands.js';
import { internalMessage, isInternal, main } from '../../src/cli/main.js';
import { Builder } from '../../src/graph/builder.js';
import { inspectGraph } from '../../src/inspect/index.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { ExternalDataError, readOnnxFile } from '../../src/onnx/external.js';
import { OnnxParseError, parseOnnx } from '../../src/onnx/parse.js';
import { onnx, type OnnxNs } from '../../src/onnx/proto.js';
import { serialize } from '../../src/onnx/serialize.js';
import { GoldensError, readGoldens } from '../../src/verify/goldens.js';
import { readSafetensors, SafetensorsError } from '../../src/weights/safetensors.js';
import { tempDir } from '../helpers/cli.js';

let dir: string;
beforeAll(() => { dir = tempDir('vitx-reader-'); });

/** y = Relu(x) with x: float32[1, 4] and one float32[4,3,3,3] initializer w (added to nothing). */
function base(): OnnxNs.ModelProto {
  const b = Builder.create('m');
  const x = b.input('x', { dtype: 'float32', shape: [1, 4] });
  const y = b.relu(x);
  b.g.outputs.push(y);
  b.g.renameValue(y, 'y');
  const m = onnx.ModelProto.decode(serialize(b.g, { opset: 17 }));
  m.graph!.initializer = [{ name: 'w', dataType: 1, dims: [4, 3, 3, 3], rawData: new Uint8Array(432) }];
  return m;
}

const bytesOf = (m: OnnxNs.ModelProto) => onnx.ModelProto.encode(m).finish();

function parseError(bytes: Uint8Array): Error {
  try { parseOnnx(bytes); } catch (e) { return e as Error; }
  throw new Error('parsed');
}

describe('ONNX reader', () => {
  it('a TENSOR attribute without a tensor (was: Cannot read properties of null (reading \'dataType\'))', () => {
    const m = base();
    m.graph!.node![0]!.attribute = [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR }];
    const e = parseError(bytesOf(m));
    expect(e).toBeInstanceOf(OnnxParseError);
    expect(e.message).toMatch(/^node .*Relu.* attribute value: TENSOR attribute without a tensor$/);
  });

  it('INT64_MAX in int64_data stays INT64_MAX (was: wrapped to INT64_MIN, so "slice to the end" became empty)', () => {
    const m = base();
    m.graph!.initializer = [{ name: 'ends', dataType: 7, dims: [2], int64Data: ['9223372036854775807', '-9223372036854775808'] as never }];
    const t = parseOnnx(bytesOf(m)).graph.initializers.get('ends')!.constant!;
    expect(Array.from(t.data as BigInt64Array)).toEqual([2n ** 63n - 1n, -(2n ** 63n)]);
  });

  it('negative dimensions are refused, naming the tensor or value (was: accepted)', () => {
    const m = base();
    m.graph!.initializer![0]!.dims = [-4, 3, 3, 3];
    expect(parseError(bytesOf(m)).message).toBe('initializer w: dimension -4 is not a size (must be 0…2^53)');
    const n = base();
    n.graph!.input![0]!.type!.tensorType!.shape!.dim![1] = { dimValue: -1 };
    expect(parseError(bytesOf(n)).message).toBe('value x: dimension -1 is not a size (must be 0…2^53)');
  });

  it('value_info that contradicts shape inference is refused (was: never cross-checked)', () => {
    const m = base();
    m.graph!.output![0]!.type!.tensorType!.shape!.dim![1] = { dimValue: 5 };
    const e = parseError(bytesOf(m));
    expect(e).toBeInstanceOf(OnnxParseError);
    expect(e.message).toBe('node Relu (Relu): the file types output y as float32[1,5] but its inputs give float32[1,4]');
    // a symbolic dimension in the file is compatible, and inference fills in the static size
    const s = base();
    s.graph!.output![0]!.type!.tensorType!.shape!.dim![1] = { dimParam: 'C' };
    const g = parseOnnx(bytesOf(s)).graph;
    expect(g.outputs[0]!.shape).toEqual([1, 4]);
    verifyGraph(g);
  });

  it('tensor data of the wrong size names the tensor (was: "expected 432 bytes for float32[4,3,3,3], got 100")', () => {
    const m = base();
    m.graph!.initializer![0]!.rawData = new Uint8Array(100);
    expect(parseError(bytesOf(m)).message).toBe('initializer w: float32[4,3,3,3] needs 432 bytes (108 values), got 100');
    m.graph!.initializer![0] = { name: 'w', dataType: 1, dims: [4, 3, 3, 3], floatData: [1, 2, 3] };
    expect(parseError(bytesOf(m)).message).toBe('initializer w: float32[4,3,3,3] needs 432 bytes (108 values), the file holds 3 values');
    // an enormous shape over a few bytes is refused before anything is allocated
    m.graph!.initializer![0] = { name: 'w', dataType: 1, dims: [2 ** 20, 2 ** 20, 2 ** 20], rawData: new Uint8Array(4) };
    expect(parseError(bytesOf(m)).message).toMatch(/^initializer w: shape \[1048576,1048576,1048576\] has too many elements$/);
  });

  it('op types named like Object.prototype members are unknown ops, not shape rules (toString, __proto__, constructor)', () => {
    for (const op of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      const m = base();
      m.graph!.node![0]!.opType = op;
      const g = parseOnnx(bytesOf(m)).graph; // the output's type is declared: an op without a rule is kept as it is
      verifyGraph(g);
      expect([...g.nodes][0]!.op).toBe(op);
      for (const target of ['ort', 'tensorrt', 'coreml', 'web'] as const) expect(inspectGraph(g, { opset: 17, target }).ops[op]).toBe(1);
      m.graph!.output![0]!.type = null;
      expect(parseError(bytesOf(m)).message).toBe(`node Relu: no type for its outputs and no shape rule for ${op}`);
    }
  });

  it('a file path is named in readOnnxFile\'s errors', () => {
    const m = base();
    m.graph!.initializer![0]!.rawData = new Uint8Array(100);
    const f = join(dir, 'short.onnx');
    writeFileSync(f, bytesOf(m));
    expect(() => readOnnxFile(f)).toThrow(new RegExp(`^${f}: initializer w: float32\\[4,3,3,3\\] needs 432 bytes`));
  });
});

describe('external data reads', () => {
  function external(name: string, kv: Record<string, string>): string {
    const m = base();
    m.graph!.initializer = [{ name: 'w', dataType: 1, dims: [4, 3, 3, 3], dataLocation: 1, externalData: Object.entries(kv).map(([key, value]) => ({ key, value })) }];
    const f = join(dir, name);
    writeFileSync(f, bytesOf(m));
    return f;
  }

  it('a 432-byte tensor with no length next to a 1.9 GB file reads its 432 bytes only (was: read the whole file)', () => {
    const big = join(dir, 'big.data');
    const fd = openSync(big, 'w');
    writeSync(fd, Buffer.from(Float32Array.from({ length: 108 }, (_, i) => i).buffer), 0, 432, 64);
    writeSync(fd, Buffer.of(1), 0, 1, 1_900_000_000 - 1); // sparse: no disk space used
    closeSync(fd);
    const f = external('big.onnx', { location: 'big.data', offset: '64' });
    const before = process.memoryUsage().arrayBuffers;
    const t = readOnnxFile(f).graph.initializers.get('w')!.constant!;
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
    expect(Array.from(t.data as Float32Array).slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect((t.data as Float32Array)[107]).toBe(107);
    rmSync(big);
  });

  it('a length that disagrees with dtype × shape, or data past the end, is refused naming the tensor', () => {
    writeFileSync(join(dir, 'small.data'), new Uint8Array(500));
    expect(() => readOnnxFile(external('len.onnx', { location: 'small.data', length: '400' }))).toThrow(/len\.onnx: initializer w: float32\[4,3,3,3\] needs 432 bytes \(108 values\), the external data has length 400$/);
    expect(() => readOnnxFile(external('end.onnx', { location: 'small.data', offset: '100' }))).toThrow(ExternalDataError);
    expect(() => readOnnxFile(external('end.onnx', { location: 'small.data', offset: '100' }))).toThrow(/tensor w: external data \[100, 532\) lies beyond the end of small\.data \(500 bytes\)/);
    expect(() => readOnnxFile(external('neg.onnx', { location: 'small.data', offset: '-8' }))).toThrow(/initializer w: bad external data offset\/length \('-8', ''\)/);
  });
});

describe('safetensors and goldens readers', () => {
  function st(header: unknown, data = 0): Uint8Array {
    const h = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + h.length + data);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    return out;
  }

  it('a header entry {"a": null} (was: TypeError reading \'dtype\')', () => {
    expect(() => readSafetensors(st({ a: null }), 'ckpt.safetensors')).toThrow(SafetensorsError);
    expect(() => readSafetensors(st({ a: null }), 'ckpt.safetensors')).toThrow(/^ckpt\.safetensors: tensor a: header entry is not an object/);
    expect(() => readSafetensors(st({ __metadata__: null }), 'c')).toThrow(/__metadata__ must be an object of strings/);
    expect(() => readSafetensors(st({ a: { dtype: 'constructor', shape: [1], data_offsets: [0, 4] } }, 4), 'c')).toThrow(/tensor a has unsupported dtype constructor/);
    expect(() => readSafetensors(st({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, 4), 'c')).toThrow(/too large for any file/);
  });

  it('goldens: a null tensor entry and a non-integer int64 are GoldensErrors naming the output', () => {
    const j = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    expect(() => readGoldens(j({ outputs: { y: null } }), 'json', 'g.json')).toThrow(new GoldensError('g.json: output y: expected an object {dtype, dims, data}'));
    expect(() => readGoldens(j({ outputs: { y: { dtype: 'int64', dims: [1], data: [1.5] } } }), 'json', 'g.json')).toThrow(/^g\.json: output y: 1\.5 is not an int64$/);
  });

  it('names with control characters are escaped: a message stays one line', () => {
    const m = base();
    m.graph!.node![0]!.input = ['x\nat evil'];
    expect(parseError(bytesOf(m)).message).toBe('node Relu reads x\\x0aat evil, which is not defined before it');
  });
});

describe('last-resort CLI handler', () => {
  it('JavaScript runtime errors are internal; vitx\'s own errors are not', () => {
    expect(isInternal(new TypeError('x'))).toBe(true);
    expect(isInternal(new RangeError('Invalid array length'))).toBe(true);
    expect(isInternal('thrown string')).toBe(true);
    expect(isInternal(new OnnxParseError('x'))).toBe(false);
    expect(isInternal(new Error('plain'))).toBe(false);
    expect(internalMessage('inspect', ['m.onnx'], new RangeError('Invalid array length\n  at f')))
      .toBe('internal error in inspect on m.onnx: Invalid array length; rerun with VITX_DEBUG=1 and report it');
  });

  it('a command that hits a JS runtime error prints one line naming the command and its file, exit 1', async () => {
    const boom: RegisterCommand = (program) => {
      program.command('boom').argument('<file>').option('--n <n>').action(() => { (null as unknown as { dataType: number }).dataType; });
    };
    COMMANDS.push(boom);
    try {
      let err = '';
      const code = await main(['node', 'vitx', 'boom', 'm.onnx', '--n', '3'], { out: () => undefined, err: (s) => { err += s; }, isTTY: false });
      expect(code).toBe(1);
      expect(err).toBe("vitx: error: internal error in boom on m.onnx: Cannot read properties of null (reading 'dataType'); rerun with VITX_DEBUG=1 and report it\n");
    } finally {
      COMMANDS.pop();
    }
  });
});

