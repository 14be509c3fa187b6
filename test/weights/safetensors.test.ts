import { describe, expect, it } from 'vitest';
import { batchNorm, conv2d } from '../../src/builders/layers.js';
import { Builder } from '../../src/graph/builder.js';
import { floatToBf16, floatToHalf, Tensor } from '../../src/graph/tensor.js';
import { applyCheckpoint, CheckpointError, initDeterministic } from '../../src/weights/load.js';
import { readSafetensors, SafetensorsError, writeSafetensors } from '../../src/weights/safetensors.js';

function withHeader(header: object, data: Uint8Array, declaredLength?: number): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips F32, F16, BF16 and I64 tensors with metadata', () => {
    const f16 = new Tensor('float16', [2], Uint16Array.from([floatToHalf(1.5), floatToHalf(-2)]));
    const bf16 = new Tensor('bfloat16', [2], Uint16Array.from([floatToBf16(3), floatToBf16(0.5)]));
    const file = writeSafetensors([['a', Tensor.f32([2, 2], [1, 2, 3, 4])], ['h', f16], ['b', bf16], ['n', Tensor.i64([7], [])]], { format: 'pt' });
    expect(new DataView(file.buffer).getBigUint64(0, true) % 8n).toBe(0n);
    const r = readSafetensors(file);
    expect(r.metadata).toEqual({ format: 'pt' });
    expect(r.tensors.get('a')!.toNumbers()).toEqual([1, 2, 3, 4]);
    expect(r.tensors.get('h')!.toNumbers()).toEqual([1.5, -2]);
    expect(r.tensors.get('b')!.toNumbers()).toEqual([3, 0.5]);
    expect(r.tensors.get('n')!.toNumbers()).toEqual([7]);
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['a file shorter than the length prefix', new Uint8Array(4), /not a safetensors file/],
    ['a header length beyond the file', withHeader({}, new Uint8Array(0), 1000), /runs past the end/],
    ['offsets out of range', withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /out of range/],
    ['overlapping tensors', withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)), /overlap/],
    ['a byte count that disagrees with dtype × shape', withHeader({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /has 8 bytes but F32\[3\] needs 12/],
    ['an unknown dtype', withHeader({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /unsupported dtype C64/],
    ['a header that is not JSON', (() => { const f = withHeader({}, new Uint8Array(0)); f[8] = 0x7b; f[9] = 0x7b; return f; })(), /not valid UTF-8 JSON|not a JSON object/],
  ];
  for (const [what, bytes, msg] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => readSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => readSafetensors(bytes)).toThrow(msg);
    });
  }
});

describe('checkpoint validation', () => {
  function graph() {
    const b = Builder.create('c');
    const x = b.input('x', { dtype: 'float32', shape: [1, 3, 4, 4] });
    b.g.outputs.push(batchNorm(b.child('bn'), conv2d(b.child('conv'), x, { out: 2, k: 1 })));
    return b.g;
  }
  function fullCheckpoint() {
    const g = graph();
    initDeterministic(g);
    return new Map([...g.initializers.values()].map((v) => [v.name, v.constant!]));
  }

  it('loads a complete checkpoint and ignores num_batches_tracked', () => {
    const ck = fullCheckpoint();
    ck.set('bn.num_batches_tracked', Tensor.i64([100], []));
    const half = new Tensor('float16', [2], Uint16Array.from([floatToHalf(0.5), floatToHalf(2)]));
    ck.set('bn.weight', half);
    const g = graph();
    applyCheckpoint(g, ck);
    expect(g.initializers.get('bn.weight')!.constant!.toNumbers()).toEqual([0.5, 2]);
    expect(g.initializers.get('bn.weight')!.dtype).toBe('float32');
  });

  it('lists every missing, unexpected and mis-shaped key in one error', () => {
    const ck = fullCheckpoint();
    ck.delete('conv.weight');
    ck.delete('bn.bias');
    ck.set('head.fc.weight', Tensor.f32([1]));
    ck.set('bn.running_var', Tensor.f32([3]));
    let err: Error | null = null;
    try { applyCheckpoint(graph(), ck, 'weights file w.safetensors'); } catch (e) { err = e as Error; }
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err!.message).toBe('weights file w.safetensors does not match the model: 2 missing: conv.weight, bn.bias; 1 unexpected: head.fc.weight; 1 mis-shaped: bn.running_var [3] (model expects [2])');
  });
});
