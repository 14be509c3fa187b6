/**
 * Every file vitx writes is free of dead initializers (tensors no node reads: onnxruntime warns about
 * each on load): every target × dtype on one model per family, the int8 files of quantizeOnnx, the
 * io-wrap of an int8 file, and the files the CLI writes (export, quantize). The written bytes are
 * checked by the ONNX project's own reader (python3-onnx), not by vitx's.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { wrapOnnx } from '../../src/io-wrap/index.js';
import { exportModel, prepareModel } from '../../src/pipeline.js';
import { depthwiseUpsample } from '../../src/passes/depthwise-upsample.js';
import { rulePass } from '../../src/passes/driver.js';
import { optimize } from '../../src/passes/index.js';
import { INT8_SOURCE, quantizeOnnx, type QuantProfile } from '../../src/quant/index.js';
import type { TargetName } from '../../src/targets/index.js';
import { recipeInput } from '../../src/weights/recipe.js';
import { ROOT, tempDir, vitx } from '../helpers/cli.js';
import { needs } from '../helpers/prerequisites.js';

/** One model per family (small sizes where the family allows: EdgeViT is 224 only). */
const MODELS: [string, number][] = [
  ['nextvit_small', 64], ['mobilevit_xxs', 64], ['mobilevitv2_050', 64], ['maxvit_pico_rw_256', 64],
  ['edgevit_xxs', 224], ['fastvit_sa12', 64], ['mobileone_s0', 64],
];
const TARGETS: TargetName[] = ['ort', 'web', 'tensorrt', 'coreml'];
const INT8_TARGETS: QuantProfile[] = ['ort', 'web', 'tensorrt'];

/** Initializers of each .onnx file in `dir` that no node reads and no graph output is, by python3-onnx. */
function deadInitializers(dir: string): Record<string, string[]> {
  const script = [
    'import json, os, sys, onnx',
    'out = {}',
    'for f in sorted(os.listdir(sys.argv[1])):',
    "    if not f.endswith('.onnx'): continue",
    '    g = onnx.load(os.path.join(sys.argv[1], f), load_external_data=False).graph',
    '    read = {i for n in g.node for i in n.input} | {o.name for o in g.output}',
    '    out[f] = [t.name for t in g.initializer if t.name not in read]',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Record<string, string[]>;
}

function samples(size: number) {
  const data = [0, 1].map((i) => recipeInput([3, size, size], `calibration#${i}`));
  return { description: 'seeded', names: ['a', 'b'], shape: [3, size, size] as [number, number, number], data };
}

let root: string;
beforeAll(() => { root = tempDir('vitx-dead-init-'); });

describe('no written file has dead initializers', () => {
  for (const [model, size] of MODELS) it(`${model} (size ${size}): every target × fp32 / fp16 / int8, and int8 with io wraps`, async (ctx) => {
    needs(ctx, 'python3-onnx'); // the oracle reads the written bytes
    const dir = join(root, model);
    mkdirSync(dir);
    const sz = [size, size] as const;
    for (const target of TARGETS) {
      for (const dtype of ['fp32', 'fp16'] as const) {
        writeFileSync(join(dir, `${target}.${dtype}.onnx`), exportModel(model, { size: sz, target, dtype }).bytes);
      }
    }
    for (const profile of INT8_TARGETS) {
      const float = exportModel(model, { size: sz, target: profile, ...(profile === 'ort' ? INT8_SOURCE : {}) }).bytes;
      const q = await quantizeOnnx(float, samples(size), { profile });
      writeFileSync(join(dir, `${profile}.int8.onnx`), q.bytes);
      if (profile === 'ort') {
        const wrapped = wrapOnnx(q.bytes, { preprocess: { layout: 'nhwc', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, postprocess: { kind: 'topk', k: 3 } });
        writeFileSync(join(dir, 'ort.int8.wrapped.onnx'), wrapped.bytes);
      }
    }
    const dead = deadInitializers(dir);
    expect(Object.keys(dead)).toHaveLength(TARGETS.length * 2 + INT8_TARGETS.length + 1);
    expect(Object.entries(dead).filter(([, names]) => names.length > 0)).toEqual([]);
  }, 600_000);

  it('the files the CLI writes: export --target ort, int8 export with --preprocess/--postprocess, quantize', (ctx) => {
    needs(ctx, 'python3-onnx');
    const dir = join(root, 'cli');
    mkdirSync(dir);
    const env = { VITX_TEST_LATENCY_MS: 'float32=10,int8=5' }; // no latency measurement: not what is tested here
    const calibration = join(ROOT, 'fixtures', 'images', 'calibration');
    const run = (args: string[]) => { const r = vitx(args, { env }); expect(r.code, r.stderr).toBe(0); };
    run(['export', 'edgevit_xxs', '--target', 'ort', '-o', join(dir, 'export-ort.onnx'), '-q']);
    run(['export', 'edgevit_xxs', '--dtype', 'int8', '--calibration', calibration, '--preprocess', '--postprocess', 'topk=5', '-o', join(dir, 'export-int8-wrapped.onnx'), '-q']);
    run(['export', 'edgevit_xxs', '-o', join(dir, 'float.onnx'), '-q']);
    run(['quantize', join(dir, 'float.onnx'), '--calibration', calibration, '--model', 'edgevit_xxs', '-o', join(dir, 'quantized.onnx'), '-q']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort()).toEqual(['export-int8-wrapped.onnx', 'export-ort.onnx', 'float.onnx', 'quantized.onnx']);
    expect(deadInitializers(dir)).toEqual({ 'export-int8-wrapped.onnx': [], 'export-ort.onnx': [], 'float.onnx': [], 'quantized.onnx': [] });
  }, 600_000);
});

describe('the rewrite driver removes what a rewrite left unread', () => {
  it('depthwise-upsample folds W → Transpose → Reshape: the intermediate folded tensor is removed too', () => {
    const g = prepareModel('edgevit_xxs');
    optimize(g);
    const stats = rulePass('depthwise-upsample', [depthwiseUpsample]).run(g);
    expect(stats.counts['depthwise-upsample']).toBe(5); // LocalProp in blocks1.0, 2.0, 3.0, 3.1, 3.2
    const unread = [...g.initializers.values()].filter((v) => v.uses.size === 0 && !v.isGraphOutput).map((v) => v.name);
    expect(unread).toEqual([]);
  });
});
