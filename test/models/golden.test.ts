/**
 * Golden structure: the optimized graph of one model per family, printed without weights
 * (ops, names, shapes, attributes), must equal fixtures/golden/<model>.txt. A refactor that changes
 * the exported structure shows up as a reviewable text diff. After an intended change, regenerate
 * with `VITX_UPDATE_GOLDEN=1 npx vitest run test/models/golden.test.ts` and review the diff.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { listModels } from '../../src/builders/registry.js';
import { printGraph } from '../../src/graph/print.js';
import { exportModel } from '../../src/pipeline.js';
import { FIXTURES } from '../helpers/reference.js';

const GOLDEN = ['nextvit_small', 'mobileone_s0', 'fastvit_t8', 'mobilevit_xxs', 'maxvit_tiny_tf_224', 'edgevit_xxs'];
const registered = new Set(listModels().map((s) => s.name));

describe('golden structure of optimized exports', () => {
  for (const model of GOLDEN.filter((m) => registered.has(m))) {
    it(model, () => {
      const text = printGraph(exportModel(model).graph);
      const file = join(FIXTURES, 'golden', `${model}.txt`);
      if (process.env['VITX_UPDATE_GOLDEN'] === '1') writeFileSync(file, text);
      expect(existsSync(file), `missing ${file}: generate it with VITX_UPDATE_GOLDEN=1`).toBe(true);
      expect(text).toBe(readFileSync(file, 'utf8'));
    });
  }
});
