/**
 * `vitx verify` through the real binary against the PyTorch reference logits, on all five backends
 * (cpu, WebGPU on SwiftShader, WASM in Node, WebGPU and WASM in headless Chromium): nextvit_small
 * and one model of every other registered family, each with its reference checkpoint, the
 * reference input (seed 0) and the reference tolerance (expected.json tolerance_abs, rtol 0).
 *
 * This is the slow tier: SwiftShader runs WebGPU on the CPU (minutes for nextvit_small on 2 cores).
 * Each model runs on each WebGPU backend exactly once.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { listModels } from '../../src/builders/registry.js';
import { BACKEND_NAMES } from '../../src/runtime/backend.js';
import { writeGoldens } from '../../src/verify/goldens.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { needs } from '../helpers/prerequisites.js';
import { hasReference, loadReference, referenceSafetensors } from '../helpers/reference.js';

/** One model per family: the named ones where registered, else the family's smallest with reference data. */
const PREFERRED = ['nextvit_small', 'mobileone_s0', 'fastvit_t8', 'mobilevit_xxs', 'edgevit_xxs', 'maxvit_tiny_tf_224'];
const specs = listModels();
const families = [...new Set(specs.map((s) => s.family))];
const MODELS = families.map((f) => {
  const inFamily = specs.filter((s) => s.family === f && hasReference(s.name)).map((s) => s.name);
  return PREFERRED.find((m) => inFamily.includes(m)) ?? inFamily.sort((a, b) => loadReference(a).expected.params - loadReference(b).expected.params)[0];
}).filter((m): m is string => m !== undefined);

interface Row { model: string; backend: string; maxAbs: number; meanAbs: number; maxRel: number; tolerance: number; seconds: number }
const rows: Row[] = [];
let dir: string;

beforeAll(() => { dir = tempDir('vitx-verify-ref-'); });

afterAll(() => {
  // The observed worst errors per backend (for bench/results.md).
  const lines = rows.map((r) => `${r.model.padEnd(20)} ${r.backend.padEnd(15)} max|Δ| ${r.maxAbs.toExponential(2)}  mean|Δ| ${r.meanAbs.toExponential(2)}  max rel ${r.maxRel.toExponential(2)}  (tol ${r.tolerance.toExponential(2)}, ${r.seconds.toFixed(1)} s)`);
  if (lines.length) console.log(`vitx verify against the PyTorch reference:\n${lines.join('\n')}`);
});

describe('vitx verify <model> against the PyTorch reference logits on all five backends', () => {
  it('covers nextvit_small and one model of every registered family', () => {
    expect(MODELS).toContain('nextvit_small');
    expect(MODELS.length).toBe(families.length);
  });

  for (const model of MODELS) {
    it(model, (ctx) => {
      needs(ctx, 'chromium'); // WebGPU on SwiftShader and the two browser backends
      const { expected } = loadReference(model);
      const weights = join(dir, `${model}.safetensors`);
      const goldens = join(dir, `${model}.logits.json`);
      const report = join(dir, `${model}.report.json`);
      writeFileSync(weights, referenceSafetensors(model));
      const logits = { dtype: 'float32' as const, dims: [1, expected.logits.length], data: Float32Array.from(expected.logits) };
      writeFileSync(goldens, writeGoldens({ meta: { model, source: 'fixtures/reference expected.json' }, inputs: {}, outputs: { logits } }, 'json'));
      const r = vitx(['verify', model, '--weights', weights, '--load-outputs', goldens, '--atol', String(expected.tolerance_abs), '--rtol', '0', '--json', report], { timeoutMs: 1_500_000 });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`verify ${model}: PASS on ${BACKEND_NAMES.join(', ')}\\n$`));
      const json = JSON.parse(readFileSync(report, 'utf8'));
      expect(json.pass).toBe(true);
      const t = json.targets[0];
      expect(t.inputs).toEqual([{ name: 'input', dtype: 'float32', dims: [1, 3, ...expected.resolution] }]);
      expect(t.backends.map((b: { backend: string }) => b.backend)).toEqual([...BACKEND_NAMES]);
      for (const b of t.backends) {
        expect(b.status, `${b.backend}: ${b.error ?? ''}`).toBe('pass');
        const c = b.outputs[0];
        expect(c.name).toBe('logits');
        expect(c.abs.max).toBeLessThanOrEqual(expected.tolerance_abs);
        expect(c.classes).toEqual({ rows: 1, k: 5, argmaxAgree: 1, topkAgree: 1 });
        rows.push({ model, backend: b.backend, maxAbs: c.abs.max, meanAbs: c.abs.mean, maxRel: c.rel.max, tolerance: expected.tolerance_abs, seconds: b.ms / 1000 });
      }
    }, 1_800_000);
  }
});
