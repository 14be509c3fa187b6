/**
 * `vitx list` is instant: it builds no graph (parameter counts come from the variant tables and
 * timm's zoo facts), and those counts equal the built graphs' trainable parameters, model by model.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { buildModel, graphsBuiltCount, listModels } from '../../src/builders/registry.js';
import { listModels as listRows } from '../../src/library.js';
import { trainableParams } from '../../src/pipeline.js';
import { vitx } from '../helpers/cli.js';

describe('vitx list', () => {
  it('lists every registered model without building a graph', () => {
    const before = graphsBuiltCount();
    const rows = listRows();
    expect(graphsBuiltCount()).toBe(before);
    expect(rows.map((r) => r.name)).toEqual(listModels().map((s) => s.name));
    buildModel('mobilevit_xxs');
    expect(graphsBuiltCount()).toBe(before + 1); // the counter does count builds
  });

  it('the listed parameter count of every model equals its built graph\'s (default head)', () => {
    for (const r of listRows()) {
      const g = buildModel(r.name, { numClasses: r.classes });
      expect(trainableParams(g), r.name).toBe(r.params);
      expect(g.outputs[0]!.shape, r.name).toEqual([1, r.classes]);
    }
  });

  it('the binary prints the same rows (JSON) and a table with accepted sizes', () => {
    const json = vitx(['list', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(listRows());
    const table = vitx(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/fastvit_mci0\s+fastvit\s+11,406,976\s+512\s+256x256\s+multiples of 32/);
    expect(table.stdout).toMatch(/fastvit_mci3\s+fastvit\s+125,235,648\s+768\s+256x256\s+multiples of 64/);
    expect(table.stdout).toMatch(/mobilevitv2_050\s+mobilevit\s+1,370,593\s+1000\s+256x256\s+multiples of 32/);
    expect(table.stdout).toMatch(/maxvit_xlarge_tf_224\s+maxvit\s+506,987,643\s+21843\s+224x224/); // timm's default tag is in21k
    expect(table.stdout).toMatch(/edgevit_s\s+edgevit\s+13,108,168\s+1000\s+224x224\s+224x224/);
  });
});
