/**
 * A planted wrong pass — a test-only rule that nudges one constant — is caught by verify() against
 * the unoptimized graph, and `diffModels --bisect` points at the node that reads the constant.
 * The same verification passes with the real default pipeline.
 */
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import type { Node, Value } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { DEFAULT_PIPELINE, fail, type Rule, rulePass } from '../../src/passes/index.js';
import { exportModel } from '../../src/pipeline.js';
import { BackendPool } from '../../src/runtime/backend.js';
import { diffModels } from '../../src/verify/diff.js';
import { verify } from '../../src/verify/verify.js';
import { referenceCheckpoint } from '../helpers/reference.js';

const MODEL = 'mobileone_s0';
const SIZE = [64, 64] as const;

/** Adds 0.01 to the first element of the first constant Conv/Gemm bias it meets, once. */
function plantedPass(perturbed: { node?: string; constant?: string }) {
  const rule: Rule<{ node: Node; bias: Value }> = {
    name: 'test-perturb-constant',
    ops: ['Conv', 'Gemm'],
    match(n) {
      if (perturbed.node) return fail('already perturbed one constant');
      const bias = n.inputs[2];
      if (!bias?.constant) return fail('no constant bias');
      return { node: n, bias };
    },
    rewrite(m, b) {
      const d = Float32Array.from(m.bias.constant!.data as Float32Array);
      d[0]! += 0.01;
      perturbed.node = m.node.name;
      perturbed.constant = m.bias.name;
      const c = b.g.addConstant(`${m.bias.name}.perturbed`, new Tensor('float32', m.bias.constant!.shape, d));
      return { replace: [[m.bias, c]] };
    },
  };
  return rulePass('test-planted', [rule]);
}

describe('a planted wrong pass', () => {
  const checkpoint = referenceCheckpoint(MODEL);
  const tolerance = { atol: 1e-4, rtol: 1e-3 };

  it('the default pipeline verifies against the unoptimized graph', async () => {
    const r = await verify({ kind: 'model', model: MODEL }, { backends: ['cpu'], tolerance, size: SIZE, checkpoint, checkpointName: 'reference' });
    expect(r.pass).toBe(true);
    expect(r.reference).toBe(`${MODEL} train-time graph (no passes) on cpu`);
  });

  it('is caught by verify, and diff --bisect names the node that reads the nudged constant', async () => {
    const perturbed: { node?: string; constant?: string } = {};
    const passes = [...DEFAULT_PIPELINE, plantedPass(perturbed)];
    const r = await verify({ kind: 'model', model: MODEL }, { backends: ['cpu', 'wasm'], tolerance, size: SIZE, checkpoint, checkpointName: 'reference', passes });
    expect(perturbed.node).toBeDefined();
    expect(r.pass).toBe(false);
    expect(r.candidate).toMatch(/passes .*test-planted/);
    for (const b of r.backends) {
      expect(b.status).toBe('fail');
      expect(b.outputs[0]!.failing).toBeGreaterThan(0);
      expect(b.outputs[0]!.needsAtol).toBeGreaterThan(tolerance.atol);
    }
    // the CI story: diff the two files and bisect to the culprit
    const before = exportModel(MODEL, { size: SIZE, checkpoint, optimize: false }).bytes;
    const after = exportModel(MODEL, { size: SIZE, checkpoint, passes: [...DEFAULT_PIPELINE, plantedPass({})] }).bytes;
    const pool = new BackendPool();
    try {
      const d = await diffModels({ path: 'before.onnx', bytes: before }, { path: 'after.onnx', bytes: after }, { backend: await pool.get('cpu'), tolerance, bisect: true });
      expect(d.equivalent).toBe(false);
      expect(d.structure.initializers.added.map((i) => i.name)).toContain(`${perturbed.constant}.perturbed`);
      expect(d.bisect!.first!.node).toBe(perturbed.node);
      expect(d.bisect!.first!.inputs.find((i) => i.name === `${perturbed.constant}.perturbed`)!.status).toBe('only in b');
    } finally {
      await pool.close();
    }
  });
});
