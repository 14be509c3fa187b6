import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fnv1a32, recipeInput } from '../../src/weights/recipe.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { loadReference, referenceCheckpoint } from '../helpers/reference.js';

describe('weight recipe vitx-fnv1a-golden-v1', () => {
  it('hashes names with FNV-1a 32', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
  });

  it('rebuilds the reference input exactly (first values and float64 sum)', () => {
    const { expected } = loadReference('mobilevit_xxs');
    const x = recipeInput([1, 3, ...expected.resolution]);
    expect(Array.from(x.slice(0, 8))).toEqual(expected.input.first8);
    expect(x.reduce((a, b) => a + b, 0)).toBe(expected.input.sum);
  });

  for (const model of ['mobilevit_xxs', 'nextvit_small', 'edgevit_xxs']) {
    it(`rebuilds the complete ${model} weight file bit for bit (sha256)`, () => {
      const { keys, expected } = loadReference(model);
      const file = writeSafetensors(referenceCheckpoint(model), keys.weights_file_metadata);
      expect(file.byteLength).toBe((expected as unknown as { weights_bytes: number }).weights_bytes);
      expect(createHash('sha256').update(file).digest('hex')).toBe(expected.weights_sha256);
    });
  }
});
