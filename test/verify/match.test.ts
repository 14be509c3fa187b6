/** How `vitx diff` pairs the inputs and outputs of two files from different tools (src/verify/match.ts). */
import { describe, expect, it } from 'vitest';
import type { Signature } from '../../src/verify/inputs.js';
import { matchInterfaces } from '../../src/verify/match.js';

const sig = (inputs: [string, (number | string)[], string?][], outputs: string[]): Signature => ({
  inputs: inputs.map(([name, shape, dtype]) => ({ name, shape, dtype: (dtype ?? 'float32') as 'float32' })),
  outputs: outputs.map((name) => ({ name, dtype: 'float32' as const, shape: [1, 10] })),
  opset: 17,
});

describe('matchInterfaces', () => {
  it('same names: paired by name, in any order, nothing to report', () => {
    const m = matchInterfaces(sig([['a', [2]], ['b', [3]]], ['y']), sig([['b', [3]], ['a', [2]]], ['y']), { seed: 0, batch: 1 });
    if (typeof m === 'string') throw new Error(m);
    expect(m.notes).toEqual([]);
    expect(m.feedsB['a']).toBe(m.feedsA['a']);
    expect(m.outputs).toEqual([['y', 'y']]);
  });

  it('different names, same count: paired by position and said so; both files get the same tensor', () => {
    const m = matchInterfaces(sig([['input', ['batch', 3, 'h', 'w']]], ['logits']), sig([['pixels', [1, 3, 8, 8]]], ['scores']), { seed: 0, batch: 4 });
    if (typeof m === 'string') throw new Error(m);
    expect(m.notes).toEqual(['inputs matched by position: input ↔ pixels', 'outputs matched by position: logits ↔ scores']);
    expect(m.feedsA['input']!.dims).toEqual([1, 3, 8, 8]); // static sizes from the other file win over --batch
    expect(m.feedsB['pixels']).toBe(m.feedsA['input']);
  });

  it('a symbolic batch in both files takes --batch', () => {
    const m = matchInterfaces(sig([['x', ['N', 4]]], ['y']), sig([['x', ['batch', 4]]], ['y']), { seed: 0, batch: 3 });
    if (typeof m === 'string') throw new Error(m);
    expect(m.feedsA['x']!.dims).toEqual([3, 4]);
  });

  it('refuses what cannot be paired, in one line', () => {
    expect(matchInterfaces(sig([['x', [1, 4]]], ['y']), sig([['x', [1, 5]]], ['y']), { seed: 0, batch: 1 })).toMatch(/different inputs/);
    expect(matchInterfaces(sig([['x', [1, 4]]], ['y']), sig([['x', [1, 4], 'float16']], ['y']), { seed: 0, batch: 1 })).toMatch(/different inputs/);
    expect(matchInterfaces(sig([['x', [1, 'h']]], ['y']), sig([['x', [1, 'H']]], ['y']), { seed: 0, batch: 1 })).toMatch(/symbolic dimension 'h' at axis 1/);
    expect(matchInterfaces(sig([['x', [1]], ['z', [1]]], ['y']), sig([['q', [1]]], ['y']), { seed: 0, batch: 1 })).toMatch(/different inputs/);
    expect(matchInterfaces(sig([['x', [1]]], ['y', 'z']), sig([['x', [1]]], ['w']), { seed: 0, batch: 1 })).toMatch(/different outputs/);
  });
});
