/**
 * The zoo architectures above 100 M parameters (MaxViT Base/Large/XLarge and RMLP-Base, FastViT
 * MCi3/MCi4): the optimized export at the default size runs on onnxruntime CPU with finite outputs
 * (test/helpers/zoo.ts). A file of its own so that these runs (up to ~1.9 GB of weights each) are
 * sequential in one worker, one model's memory released before the next, while the other worker
 * runs the rest of the suite. Keys and parameter counts of these models: test/models/zoo.test.ts.
 */
import { describe, it } from 'vitest';
import '../../src/builders/index.js';
import { expectExportRuns, isHeavy, ZOO_ARCHITECTURES } from '../helpers/zoo.js';

describe('every zoo architecture above 100 M parameters: optimized export at the default size runs on onnxruntime CPU', () => {
  for (const { name } of ZOO_ARCHITECTURES.filter((a) => isHeavy(a.name))) it(name, { timeout: 900_000 }, () => expectExportRuns(name));
});
