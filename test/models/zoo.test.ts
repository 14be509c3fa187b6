/**
 * Every timm v1.0.28 architecture of the five timm families (fixtures/zoo/index.json, 57 of them),
 * listed here by name so that a missing builder fails by name:
 *   - the train-time graph with a 1000-class head has timm's state_dict keys and shapes, in order,
 *     and timm's parameter count (`params_1000_classes`); default input size, default head width and
 *     the listed default-head parameter count are timm's;
 *   - the optimized export (default pipeline, deterministic weights) at the default size has no
 *     BatchNormalization and no run-time shape ops, and runs on onnxruntime CPU with finite outputs.
 * The export runs are sequential in this one file (one worker): the largest (MaxViT-XL at 512,
 * FastViT MCi4) need a few GB each, released before the next.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { buildModel, getModel, specParams } from '../../src/builders/registry.js';
import { exportModel, trainableParams } from '../../src/pipeline.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { recipeInput } from '../../src/weights/recipe.js';
import { parameters } from '../../src/weights/load.js';
import { expectStatic } from '../helpers/models.js';
import { FIXTURES } from '../helpers/reference.js';

const ARCHITECTURES: Record<string, readonly string[]> = {
  nextvit: ['nextvit_small', 'nextvit_base', 'nextvit_large'],
  mobilevit: [
    'mobilevit_xxs', 'mobilevit_xs', 'mobilevit_s',
    'mobilevitv2_050', 'mobilevitv2_075', 'mobilevitv2_100', 'mobilevitv2_125', 'mobilevitv2_150', 'mobilevitv2_175', 'mobilevitv2_200',
  ],
  fastvit: [
    'fastvit_t8', 'fastvit_t12', 'fastvit_s12', 'fastvit_sa12', 'fastvit_sa24', 'fastvit_sa36', 'fastvit_ma36',
    'fastvit_mci0', 'fastvit_mci1', 'fastvit_mci2', 'fastvit_mci3', 'fastvit_mci4',
  ],
  mobileone: ['mobileone_s0', 'mobileone_s1', 'mobileone_s2', 'mobileone_s3', 'mobileone_s4'],
  maxvit: [
    'maxvit_tiny_tf_224', 'maxvit_tiny_tf_384', 'maxvit_tiny_tf_512',
    'maxvit_small_tf_224', 'maxvit_small_tf_384', 'maxvit_small_tf_512',
    'maxvit_base_tf_224', 'maxvit_base_tf_384', 'maxvit_base_tf_512',
    'maxvit_large_tf_224', 'maxvit_large_tf_384', 'maxvit_large_tf_512',
    'maxvit_xlarge_tf_224', 'maxvit_xlarge_tf_384', 'maxvit_xlarge_tf_512',
    'maxvit_pico_rw_256', 'maxvit_nano_rw_256', 'maxvit_tiny_rw_224', 'maxvit_tiny_rw_256',
    'maxvit_rmlp_pico_rw_256', 'maxvit_rmlp_nano_rw_256', 'maxvit_rmlp_tiny_rw_256',
    'maxvit_rmlp_small_rw_224', 'maxvit_rmlp_small_rw_256', 'maxvit_rmlp_base_rw_224', 'maxvit_rmlp_base_rw_384',
    'maxvit_tiny_pm_256',
  ],
};

interface ZooIndexEntry { family: string; params_1000_classes: number; params_default_head: number; default_num_classes: number; default_input_size: [number, number, number] }
interface ZooArch { state_dict: [string, number[], string, string][] }

const ZOO = join(FIXTURES, 'zoo');
const INDEX = JSON.parse(readFileSync(join(ZOO, 'index.json'), 'utf8')) as Record<string, ZooIndexEntry>;
const zooArch = (name: string): ZooArch => JSON.parse(readFileSync(join(ZOO, `${name}.json`), 'utf8')) as ZooArch;

const ALL = Object.entries(ARCHITECTURES).flatMap(([family, names]) => names.map((name) => ({ family, name })));

it('the test lists exactly the architectures of the zoo index, each in its family', () => {
  expect(ALL.map((a) => a.name).sort()).toEqual(Object.keys(INDEX).sort());
  for (const a of ALL) expect(INDEX[a.name]!.family, a.name).toBe(a.family);
});

describe('every zoo architecture: keys, shapes and parameter counts', () => {
  for (const { name } of ALL) {
    it(name, () => {
      const z = INDEX[name]!;
      const spec = getModel(name); // fails with "unknown model" when the builder is missing
      expect(spec.defaultSize).toEqual(z.default_input_size.slice(1));
      expect(spec.numClasses).toBe(z.default_num_classes);
      expect(specParams(spec)).toBe(z.params_default_head);
      const g = buildModel(name, { numClasses: 1000 });
      const ours = parameters(g).map((v) => `${v.name} ${v.staticShape().join('×')}`);
      const theirs = zooArch(name).state_dict.filter(([, , dtype]) => dtype !== 'int64').map(([k, shape]) => `${k} ${shape.join('×')}`);
      expect(ours).toEqual(theirs);
      expect(trainableParams(g)).toBe(z.params_1000_classes);
    });
  }
});

describe('every zoo architecture: optimized export at the default size runs on onnxruntime CPU', () => {
  for (const { name } of ALL) {
    it(name, async () => {
      const z = INDEX[name]!;
      const [, h, w] = z.default_input_size;
      let r: ReturnType<typeof exportModel> | null = exportModel(name);
      expect(r.nodesAfter.has('BatchNormalization'), 'BatchNormalization left').toBe(false);
      expectStatic(r.graph);
      const bytes = r.bytes;
      r = null; // let the graph's tensors go before onnxruntime copies the model
      const dims = [1, 3, h, w];
      const out = await runOnnx(bytes, { input: { dtype: 'float32', dims, data: recipeInput(dims) } });
      const logits = out['logits']!;
      expect(logits.dims).toEqual([1, z.default_num_classes]);
      expect((logits.data as Float32Array).every(Number.isFinite)).toBe(true);
    });
  }
});
