/**
 * The .npy header against numpy itself: fixtures/npy/cases.json (scripts/gen-npy-cases.py) holds
 * hand-made files and what numpy 1.24's `np.load` made of each. vitx must read what numpy reads,
 * the same way (shape, C order), and refuse what numpy refuses; a key given twice — numpy takes
 * the last value — is refused in one line naming the file and the key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NpyError, readNpy } from '../../src/quant/npy.js';
import { FIXTURES } from '../helpers/reference.js';

interface Case { name: string; hex: string; numpy: { ok: true; shape: number[]; fortran: boolean; dtype: string } | { ok: false; error: string } }
const { cases } = JSON.parse(readFileSync(join(FIXTURES, 'npy', 'cases.json'), 'utf8')) as { cases: Case[] };

/** Cases numpy reads that vitx refuses on purpose, with the reason it gives. */
const REFUSED: Record<string, RegExp> = {
  'duplicate fortran_order (False, then True)': /^dup\.npy: header key "fortran_order" appears twice \(numpy would use the last value\)$/,
  'duplicate shape': /^dup\.npy: header key "shape" appears twice/,
  'duplicate descr': /^dup\.npy: header key "descr" appears twice/,
};

describe('.npy headers as numpy reads them', () => {
  it('covers accepted and refused files', () => {
    expect(cases.filter((c) => c.numpy.ok).length).toBeGreaterThan(5);
    expect(cases.filter((c) => !c.numpy.ok).length).toBeGreaterThan(5);
  });
  for (const c of cases) {
    it(c.name, () => {
      const bytes = new Uint8Array(Buffer.from(c.hex, 'hex'));
      const name = c.name.startsWith('duplicate') ? 'dup.npy' : 'case.npy';
      let got: ReturnType<typeof readNpy> | null = null, err: unknown = null;
      try { got = readNpy(bytes, name); } catch (e) { err = e; }
      if (err !== null) {
        expect(err).toBeInstanceOf(NpyError);
        expect((err as Error).message).not.toContain('\n');
        expect((err as Error).message.startsWith(`${name}: `)).toBe(true);
      }
      const refusal = REFUSED[c.name];
      if (refusal) { expect((err as Error | null)?.message).toMatch(refusal); return; }
      if (!c.numpy.ok) { expect(err, `numpy refuses it (${c.numpy.error}); vitx read it`).not.toBe(null); return; }
      expect(err, `numpy reads it as ${JSON.stringify(c.numpy)}`).toBe(null);
      expect(c.numpy.fortran).toBe(false);
      expect(got!.shape).toEqual(c.numpy.shape);
      expect(Array.from(got!.data)).toEqual([0, 1, 2, 3, 4, 5].slice(0, got!.data.length));
    });
  }
});
