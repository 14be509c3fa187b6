/**
 * Every timm v1.0.28 architecture of the five timm families (fixtures/zoo/index.json, 57; listed by
 * name in test/helpers/zoo.ts so that a missing builder fails by name):
 *   - the train-time graph with a 1000-class head has timm's state_dict keys and shapes, in order,
 *     and timm's parameter count (`params_1000_classes`); default input size, default head width
 *     and the listed (default-head) parameter count are timm's;
 *   - the optimized export at the default size runs on onnxruntime CPU with finite outputs (no
 *     BatchNormalization, no run-time shape ops): here for models up to 100 M parameters, in
 *     test/models/zoo-heavy.test.ts for the larger ones.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { buildModel, getModel, specParams } from '../../src/builders/registry.js';
import { trainableParams } from '../../src/pipeline.js';
import { parameters } from '../../src/weights/load.js';
import { expectExportRuns, isHeavy, ZOO_ARCHITECTURES, ZOO_INDEX, zooStateDict } from '../helpers/zoo.js';

it('the test lists exactly the architectures of the zoo index, each in its family', () => {
  expect(ZOO_ARCHITECTURES.map((a) => a.name).sort()).toEqual(Object.keys(ZOO_INDEX).sort());
  for (const a of ZOO_ARCHITECTURES) expect(ZOO_INDEX[a.name]!.family, a.name).toBe(a.family);
});

describe('every zoo architecture: keys, shapes and parameter counts', () => {
  for (const { name } of ZOO_ARCHITECTURES) {
    it(name, () => {
      const z = ZOO_INDEX[name]!;
      const spec = getModel(name); // "unknown model" when the builder is missing
      expect(spec.defaultSize).toEqual(z.default_input_size.slice(1));
      expect(spec.numClasses).toBe(z.default_num_classes);
      expect(specParams(spec)).toBe(z.params_default_head);
      const g = buildModel(name, { numClasses: 1000 });
      const ours = parameters(g).map((v) => `${v.name} ${v.staticShape().join('×')}`);
      const theirs = zooStateDict(name).filter(([, , dtype]) => dtype !== 'int64').map(([k, shape]) => `${k} ${shape.join('×')}`);
      expect(ours).toEqual(theirs);
      expect(trainableParams(g)).toBe(z.params_1000_classes);
    });
  }
});

describe('every zoo architecture up to 100 M parameters: optimized export at the default size runs on onnxruntime CPU', () => {
  for (const { name } of ZOO_ARCHITECTURES.filter((a) => !isHeavy(a.name))) it(name, () => expectExportRuns(name));
});
