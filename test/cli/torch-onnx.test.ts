/**
 * `vitx inspect` and `vitx diff` on files vitx did not write: torch.onnx.export files of three
 * registered models (static and dynamic axes; fixtures/torch-onnx, weights restored from vitx's
 * deterministic init by state_dict key) and an onnxruntime-optimized file (com.microsoft and
 * NCHWc contrib ops). Oracle for the numbers: onnxruntime running PyTorch's own graph.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../../src/onnx/parse.js';
import { serialize } from '../../src/onnx/serialize.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { loadOrt, runOnnx } from '../../src/runtime/ort.js';
import { recipeInput } from '../../src/weights/recipe.js';
import { expectClose } from '../helpers/graphs.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { torchOnnxBytes, writeTorchOnnx } from '../helpers/torch-onnx.js';

const MODELS = ['mobilevit_xxs', 'mobileone_s0', 'fastvit_t8'] as const;
let dir: string;
const ours: Record<string, string> = {};

beforeAll(() => {
  dir = tempDir('vitx-torch-onnx-');
  for (const m of MODELS) {
    ours[m] = join(dir, `${m}.vitx.onnx`);
    expect(vitx(['export', m, '-o', ours[m]!, '-q']).code).toBe(0);
  }
});

describe('torch.onnx.export files', () => {
  for (const m of MODELS) {
    for (const axes of ['static', 'dynamic'] as const) {
      it(`${m} (${axes} axes): inspect reads it, diff against vitx's export passes (exit 0)`, () => {
        const torch = writeTorchOnnx(dir, m, axes);
        const ins = vitx(['inspect', torch]);
        expect(ins.stderr).toBe('');
        expect(ins.code).toBe(0);
        expect(ins.stdout).toContain(axes === 'static' ? 'inputs   input: float32[1, 3, ' : 'inputs   input: float32[batch, 3, height, width]');
        expect(ins.stdout).toMatch(/nodes +\d+: .*Conv \d+/);
        const d = vitx(['diff', torch, ours[m]!]);
        expect(d.stdout).toMatch(/logits: pass/);
        expect(d.code, d.stdout + d.stderr).toBe(0);
      });
    }
  }

  it('MACs counted on PyTorch\'s graph equal those of vitx\'s graph (MobileViT: no reparameterization)', () => {
    const macs = (f: string) => /MACs +(\S+ \S)/.exec(vitx(['inspect', f]).stdout)?.[1];
    expect(macs(writeTorchOnnx(dir, 'mobilevit_xxs', 'static'))).toBe(macs(ours['mobilevit_xxs']!));
  });

  it('a tampered weight in the torch export: diff exits 1, and --bisect says the files share no intermediate names', () => {
    const bad = writeTorchOnnx(dir, 'mobilevit_xxs', 'static', 'head.fc.weight');
    const d = vitx(['diff', bad, ours['mobilevit_xxs']!, '--bisect']);
    expect(d.code).toBe(1);
    expect(d.stdout).toMatch(/logits: FAIL/);
    expect(d.stdout).toContain('diff: outputs differ beyond tolerance');
    expect(d.stdout).toContain('share no intermediate value names');
  });

  it('inputs and outputs with different names are matched by position, and the report says so', () => {
    const p = parseOnnx(readFileSync(ours['mobilevit_xxs']!));
    p.graph.renameValue(p.graph.inputs[0]!, 'pixels');
    p.graph.renameValue(p.graph.outputs[0]!, 'scores');
    const renamed = join(dir, 'renamed.onnx');
    writeFileSync(renamed, serialize(p.graph, { opset: p.opset }));
    const d = vitx(['diff', writeTorchOnnx(dir, 'mobilevit_xxs', 'dynamic'), renamed]);
    expect(d.stdout).toContain('inputs matched by position: input ↔ pixels');
    expect(d.stdout).toContain('outputs matched by position: logits ↔ scores');
    expect(d.code, d.stdout).toBe(0);
  });
});

describe('constant folding on PyTorch\'s graphs', () => {
  for (const axes of ['static', 'dynamic'] as const) {
    it(`mobilevit_xxs (${axes}): Shape chains fold ${axes === 'static' ? 'away' : 'only where static'}, Constant nodes become initializers, logits unchanged`, async () => {
      const bytes = torchOnnxBytes('mobilevit_xxs', axes);
      const p = parseOnnx(bytes);
      foldConstants.run(p.graph);
      const ops = p.graph.opHistogram();
      expect(ops.get('Constant')).toBeUndefined();
      expect(ops.get('Shape')).toBe(axes === 'static' ? undefined : 24);
      expect(ops.get('Unsqueeze')).toBe(axes === 'static' ? undefined : 60);
      const x = { input: { dtype: 'float32' as const, dims: [1, 3, 256, 256], data: recipeInput([1, 3, 256, 256], 'input') } };
      const [want, got] = [await runOnnx(bytes, x), await runOnnx(serialize(p.graph, { opset: p.opset }), x)];
      expectClose(got['logits']!.data as Float32Array, want['logits']!.data as Float32Array, 1e-6, 1e-5);
    });
  }
});

describe('onnxruntime-optimized files', () => {
  it('inspect reads a file with com.microsoft contrib ops; diff runs it against the source (exit 0)', async () => {
    const torch = writeTorchOnnx(dir, 'mobilevit_xxs', 'static');
    const optimized = join(dir, 'mobilevit_xxs.ort.onnx');
    const ort = await loadOrt();
    const s = await ort.InferenceSession.create(torch, { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized, logSeverityLevel: 3 });
    await s.release();
    expect(readFileSync(optimized).includes(Buffer.from('com.microsoft'))).toBe(true);
    const ins = vitx(['inspect', optimized]);
    expect(ins.code, ins.stderr).toBe(0);
    expect(ins.stdout).toMatch(/QuickGelu|FusedMatMul|SkipLayerNormalization/);
    const d = vitx(['diff', ours['mobilevit_xxs']!, optimized, '--bisect']);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(d.stdout).toMatch(/logits: pass/);
  });
});
