/**
 * The comparison semantics (Polygraphy's |a − b| ≤ atol + rtol·|b|), the statistics it reports,
 * non-finite handling, class agreement, and saved outputs (goldens) round trips.
 */
import { describe, expect, it } from 'vitest';
import { floatToHalf } from '../../src/graph/tensor.js';
import type { HostTensor } from '../../src/runtime/ort.js';
import { compareOutputs, compareTensors, fmt } from '../../src/verify/compare.js';
import { type Goldens, GoldensError, readGoldens, writeGoldens } from '../../src/verify/goldens.js';

const f32 = (xs: number[], dims = [xs.length]): HostTensor => ({ dtype: 'float32', dims, data: Float32Array.from(xs) });

describe('compareTensors', () => {
  it('applies |a−b| ≤ atol + rtol·|b| elementwise and reports the error statistics', () => {
    const b = f32([1, -2, 4, 0]);
    const a = f32([1.001, -2, 4.1, 0.0005]);
    const c = compareTensors('y', a, b, { atol: 1e-3, rtol: 1e-2 });
    // bounds: 1e-3+1e-2·1 = 0.011, 0.021, 0.041, 0.001 → element 2 (|Δ| 0.1) fails
    expect(c.pass).toBe(false);
    expect(c.failing).toBe(1);
    expect(c.worst!.index).toBe(2);
    expect(c.abs.max).toBeCloseTo(0.1, 5);
    expect(c.abs.mean).toBeCloseTo((0.001 + 0 + 0.1 + 0.0005) / 4, 5);
    expect(c.abs.median).toBeCloseTo((0.0005 + 0.001) / 2, 5);
    // relative error only where b ≠ 0: 0.001, 0, 0.025
    expect(c.rel.max).toBeCloseTo(0.025, 5);
    expect(c.rel.median).toBeCloseTo(0.001, 5);
    // the smallest atol that passes at rtol 1e-2: max(|Δ| − 0.01·|b|) = 0.1 − 0.04 = 0.06
    expect(c.needsAtol).toBeCloseTo(0.06, 5);
    expect(compareTensors('y', a, b, { atol: c.needsAtol * 1.0001, rtol: 1e-2 }).pass).toBe(true);
    expect(compareTensors('y', a, b, { atol: c.needsAtol * 0.999, rtol: 1e-2 }).pass).toBe(false);
    // the smallest rtol at atol 1e-3: max over b≠0 of (|Δ|−1e-3)/|b| = 0.099/4
    expect(c.needsRtol).toBeCloseTo(0.099 / 4, 5);
  });

  it('passes identical tensors with zero tolerance', () => {
    const c = compareTensors('y', f32([1, 2, 3]), f32([1, 2, 3]), { atol: 0, rtol: 0 });
    expect(c.pass).toBe(true);
    expect(c.abs).toEqual({ max: 0, mean: 0, median: 0 });
    expect(c.needsAtol).toBe(0);
  });

  it('detects NaN and Inf: matching non-finite pairs pass, others fail with a reason', () => {
    const ok = compareTensors('y', f32([NaN, Infinity, 1]), f32([NaN, Infinity, 1]), { atol: 0, rtol: 0 });
    expect(ok.pass).toBe(true);
    expect(ok.nonFinite.got).toEqual({ nan: 1, inf: 1 });
    const bad = compareTensors('y', f32([NaN, 1, -Infinity]), f32([0, 1, 2]), { atol: 1, rtol: 1 });
    expect(bad.pass).toBe(false);
    expect(bad.failing).toBe(2);
    expect(bad.needsAtol).toBe(Infinity);
    expect(bad.problem).toMatch(/1 NaN and 1 Inf values where the reference is finite/);
  });

  it('reports argmax and top-5 agreement per row of [rows, classes] outputs', () => {
    const b = f32([0, 1, 2, 3, 4, 5, 6, /* row 2 */ 6, 5, 4, 3, 2, 1, 0], [2, 7]);
    const a = f32([0, 1, 2, 3, 4, 6, 5, /* row 2 */ 6, 5, 4, 3, 0, 1, 2], [2, 7]);
    const c = compareTensors('logits', a, b, { atol: 0, rtol: 0 });
    // row 1: argmax 6 vs 5 (differ), top-5 sets {2..6} equal; row 2: argmax 0 both, top-5 {0..3,6} vs {0..4}
    expect(c.classes).toEqual({ rows: 2, k: 5, argmaxAgree: 1, topkAgree: 1 });
  });

  it('fails on a missing output or a shape mismatch, naming it', () => {
    const r = compareOutputs({ y: f32([1, 2], [1, 2]) }, { y: f32([1, 2], [2, 1]), z: f32([1]) }, { atol: 1, rtol: 0 });
    expect(r.map((c) => [c.name, c.pass, c.problem])).toEqual([
      ['y', false, "shape [1,2] differs from the reference's [2,1]"],
      ['z', false, 'output missing'],
    ]);
  });

  it('compares float16 and int64 outputs by value', () => {
    const h: HostTensor = { dtype: 'float16', dims: [2], data: Uint16Array.of(floatToHalf(1.5), floatToHalf(-2)) };
    expect(compareTensors('h', h, f32([1.5, -2]), { atol: 0, rtol: 0 }).pass).toBe(true);
    const i: HostTensor = { dtype: 'int64', dims: [2], data: BigInt64Array.of(3n, 4n) };
    expect(compareTensors('i', i, { dtype: 'int64', dims: [2], data: BigInt64Array.of(3n, 5n) }, { atol: 0, rtol: 0 }).failing).toBe(1);
  });

  it('formats numbers compactly', () => {
    expect([fmt(0), fmt(1e-4), fmt(0.0123456), fmt(192), fmt(Infinity), fmt(NaN), fmt(123456)]).toEqual(['0', '1e-4', '0.0123', '192', 'inf', 'NaN', '1.23e+5']);
  });
});

describe('saved outputs (goldens)', () => {
  const g: Goldens = {
    meta: { target: 'tiny', seed: '0' },
    inputs: { input: f32([0.1, -0.25, 3e-8, 1e30], [1, 4]) },
    outputs: {
      logits: f32([Math.fround(0.1), NaN, -Infinity, 7], [1, 4]),
      idx: { dtype: 'int64', dims: [2], data: BigInt64Array.of(-3n, 9007199254740993n) },
    },
  };

  for (const format of ['json', 'safetensors'] as const) {
    it(`round-trips inputs and outputs bit-exactly (${format})`, () => {
      const back = readGoldens(writeGoldens(g, format), format, 'f');
      expect(back.meta['target']).toBe('tiny');
      expect(Array.from(back.inputs['input']!.data as Float32Array)).toEqual(Array.from(g.inputs['input']!.data as Float32Array));
      expect(back.inputs['input']!.dims).toEqual([1, 4]);
      const l = back.outputs['logits']!;
      expect(l.dtype).toBe('float32');
      expect(Array.from(l.data as Float32Array)).toEqual([Math.fround(0.1), NaN, -Infinity, 7]);
      expect(Array.from(back.outputs['idx']!.data as BigInt64Array)).toEqual([-3n, 9007199254740993n]);
    });
  }

  it('rejects malformed files with one-line reasons', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(() => readGoldens(enc('{'), 'json', 'g.json')).toThrow(/^g\.json: not valid JSON/);
    expect(() => readGoldens(enc('{"inputs":{}}'), 'json', 'g.json')).toThrow(GoldensError);
    expect(() => readGoldens(enc('{"outputs":{"y":{"dims":[3],"data":[1,2]}}}'), 'json', 'g.json')).toThrow(/dims \[3\] need 3 values, "data" has 2/);
    expect(() => readGoldens(enc('{"outputs":{"y":{"data":[1,"x"]}}}'), 'json', 'g.json')).toThrow(/"x" is not a number/);
    expect(() => readGoldens(enc('{"outputs":{}}'), 'json', 'g.json')).toThrow(/holds no outputs/);
  });
});
