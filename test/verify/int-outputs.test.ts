/**
 * `vitx verify` and `vitx diff` on files with several outputs, one of them int64 (a TopK's indices,
 * as `--postprocess topk` writes): a hand-built ONNX graph, independent of vitx's builders.
 * Integer outputs must be equal whatever the tolerance.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { onnx, type OnnxNs } from '../../src/onnx/proto.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { tempDir, vitx } from '../helpers/cli.js';

const F32 = onnx.TensorProto.DataType.FLOAT, I64 = onnx.TensorProto.DataType.INT64;

function vi(name: string, elemType: number, dims: (number | string)[]): OnnxNs.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

/** x [N, 10] → probabilities = Softmax(x·s), (scores, indices) = TopK(x·s, 3, largest). */
function model(o: { scale: number; largest: number }): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8, producerName: 'test', opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'topk',
      input: [vi('x', F32, ['N', 10])],
      output: [vi('probabilities', F32, ['N', 10]), vi('scores', F32, ['N', 3]), vi('indices', I64, ['N', 3])],
      valueInfo: [vi('xs', F32, ['N', 10])],
      initializer: [
        { name: 's', dataType: F32, dims: [], floatData: [o.scale] },
        { name: 'k', dataType: I64, dims: [1], int64Data: [3] },
      ],
      node: [
        { opType: 'Mul', name: 'scale', input: ['x', 's'], output: ['xs'] },
        { opType: 'Softmax', name: 'softmax', input: ['xs'], output: ['probabilities'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
        { opType: 'TopK', name: 'topk', input: ['xs', 'k'], output: ['scores', 'indices'], attribute: [{ name: 'largest', type: onnx.AttributeProto.AttributeType.INT, i: o.largest }] },
      ],
    },
  });
  return onnx.ModelProto.encode(m).finish();
}

let dir: string, a: string, b: string, c: string;

beforeAll(() => {
  dir = tempDir('vitx-int-');
  [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir, `${n}.onnx`)) as [string, string, string];
  writeFileSync(a, model({ scale: 1, largest: 1 }));
  writeFileSync(b, model({ scale: 1 + 2 ** -20, largest: 1 })); // same indices, values within 1e-6
  writeFileSync(c, model({ scale: 1, largest: 0 })); // the 3 smallest: other indices
});

describe('several outputs, one int64', () => {
  it('the hand-built file runs and has an int64 output (oracle: onnxruntime)', async () => {
    const x = Float32Array.from({ length: 10 }, (_, i) => (i * 7) % 10);
    const out = await runOnnx(model({ scale: 1, largest: 1 }), { x: { dtype: 'float32', dims: [1, 10], data: x } });
    expect(out['indices']!.dtype).toBe('int64');
    expect(Array.from(out['indices']!.data as BigInt64Array, Number)).toEqual([7, 4, 1]); // values 9, 8, 7
  });

  it('verify: a file on cpu and wasm, every output compared', () => {
    const r = vitx(['verify', a, '--ep', 'cpu,wasm', '--batch', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const ep of ['cpu', 'wasm']) for (const o of ['probabilities', 'scores', 'indices']) expect(r.stdout).toMatch(new RegExp(`${ep}/${o}\\s+pass`));
  });

  it('verify --reference: equal indices pass, different indices fail', () => {
    const ok = vitx(['verify', b, '--reference', a, '--ep', 'cpu']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const bad = vitx(['verify', c, '--reference', a, '--ep', 'cpu', '--atol', '100']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/cpu\/indices\s+FAIL/);
    expect(bad.stdout).toMatch(/cpu\/scores\s+pass/); // within atol 100; integers ignore it
  });

  it('verify --save-outputs / --load-outputs round-trip int64 (json and safetensors)', () => {
    for (const ext of ['json', 'safetensors']) {
      const g = join(dir, `golden.${ext}`);
      expect(vitx(['verify', a, '--ep', 'cpu', '--save-outputs', g]).code).toBe(0);
      const again = vitx(['verify', b, '--load-outputs', g, '--ep', 'cpu']);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      const other = vitx(['verify', c, '--load-outputs', g, '--ep', 'cpu']);
      expect(other.code).toBe(1);
      expect(other.stdout).toMatch(/cpu\/indices\s+FAIL/);
    }
  });

  it('diff: outputs compared by name, int64 exactly', () => {
    const same = vitx(['diff', a, b]);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/indices: pass/);
    const differ = vitx(['diff', a, c, '--atol', '100', '--json', join(dir, 'diff.json')]);
    expect(differ.code).toBe(1);
    expect(differ.stdout).toMatch(/indices: FAIL/);
    expect(differ.stdout).toMatch(/scores: pass/);
    expect(differ.stderr).toBe('');
    const bisect = vitx(['diff', a, c, '--bisect']);
    expect(bisect.code).toBe(1);
    expect(bisect.stdout).toMatch(/first diverging node: topk \(TopK\)/);
  });
});
