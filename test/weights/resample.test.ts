/**
 * Relative-position table resampling (src/weights/resample.ts) against timm's own
 * resize_rel_pos_bias_table: fixtures/resample/cases.json was written by fixtures/resample/gen.py
 * with timm v1.0.28 (square and non-square targets, growing and shrinking, TF [heads, h, w] and
 * flat [h·w, heads] tables). Both compute in float32 step by step, so the results must agree bit
 * for bit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/graph/tensor.js';
import { resampleRelPosTables, resizeRelPosBiasTable } from '../../src/weights/resample.js';
import { FIXTURES } from '../helpers/reference.js';

interface Case { name: string; shape: number[]; window: [number, number]; new_shape: number[]; table: number[]; expected: number[] }
const { cases } = JSON.parse(readFileSync(join(FIXTURES, 'resample', 'cases.json'), 'utf8')) as { cases: Case[] };

describe("resizeRelPosBiasTable equals timm's resize_rel_pos_bias_table", () => {
  it('covers the fixture cases', () => expect(cases.length).toBeGreaterThanOrEqual(7));
  for (const c of cases) {
    it(`${c.name}: [${c.shape}] → [${c.new_shape}] bit for bit`, () => {
      const r = resizeRelPosBiasTable(Tensor.f32(c.shape, c.table), c.window, c.new_shape)!;
      expect(r.shape).toEqual(c.new_shape);
      const got = Array.from(r.data as Float32Array);
      const bad = got.map((v, i) => [i, v, c.expected[i]!] as const).filter(([, v, e]) => v !== e);
      expect(bad.slice(0, 5), `${bad.length} of ${got.length} differ`).toEqual([]);
    });
  }
});

describe('resampleRelPosTables', () => {
  it('resamples only relative_position_bias_table keys whose shape differs; refuses a head-count change', () => {
    const c = cases[0]!;
    const src = Tensor.f32(c.shape, c.table);
    const other = Tensor.f32([2, 13, 13], c.table);
    const ckpt = new Map([['a.relative_position_bias_table', src], ['b.relative_position_bias_table', src], ['c.weight', other], ['d.relative_position_bias_table', src]]);
    const shapes = new Map<string, readonly number[]>([['a.relative_position_bias_table', c.new_shape], ['b.relative_position_bias_table', c.shape], ['c.weight', [2, 23, 23]], ['d.relative_position_bias_table', [3, 23, 23]]]);
    const out = resampleRelPosTables(ckpt, shapes, c.window);
    expect(out.get('a.relative_position_bias_table')!.shape).toEqual(c.new_shape);
    expect(out.get('b.relative_position_bias_table')).toBe(src);
    expect(out.get('c.weight')).toBe(other);
    expect(out.get('d.relative_position_bias_table')).toBe(src); // left for the key check to report
  });

  it('refuses tables that are not (2w−1)-sided offset grids', () => {
    expect(resizeRelPosBiasTable(Tensor.f32([2, 14, 14]), [12, 12], [2, 23, 23])).toBeNull();
    expect(resizeRelPosBiasTable(Tensor.f32([196, 2]), [12, 12], [529, 2])).toBeNull();
    expect(resizeRelPosBiasTable(Tensor.f32([200, 2]), [12, 12], [529, 2])).toBeNull();
    expect(resizeRelPosBiasTable(Tensor.f32([2, 13, 13]), [12, 12], [529, 2])).toBeNull();
  });
});
