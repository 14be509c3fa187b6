/**
 * `vitx bench --profile` on every backend, through the real binary. Oracle: onnxruntime's own
 * optimized model for the same execution provider and optimization level (optimizedModelFilePath
 * of onnxruntime-node): every profiled node must be a node of that file, with its op type. The
 * WebAssembly build has no NCHWc layout transformer, so its graph is onnxruntime's 'extended'
 * level; the WebGPU provider is the same C++ code in onnxruntime-node and onnxruntime-web.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { summarizeProfile, type ProfileEvent } from '../../src/bench/profile.js';
import { onnx } from '../../src/onnx/proto.js';
import { loadOrt } from '../../src/runtime/ort.js';
import { webGpuEnvProbed } from '../../src/runtime/node.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { needs } from '../helpers/prerequisites.js';
import { tinyVisionOnnx } from '../helpers/tiny-model.js';

const EPS = ['cpu', 'wasm', 'webgpu', 'browser-wasm', 'browser-webgpu'] as const;
/** Which optimized graph each backend runs: [execution provider, graph optimization level]. */
const GRAPH_OF: Record<(typeof EPS)[number], ['cpu' | 'webgpu', 'all' | 'extended']> = {
  cpu: ['cpu', 'all'], wasm: ['cpu', 'extended'], webgpu: ['webgpu', 'all'], 'browser-wasm': ['cpu', 'extended'], 'browser-webgpu': ['webgpu', 'all'],
};

let dir: string, model: string;

const optimized = new Map<string, Map<string, string>>();

/** node name → op type of onnxruntime's optimized model for `ep` at `level`. */
async function optimizedNodes(ep: 'cpu' | 'webgpu', level: 'all' | 'extended'): Promise<Map<string, string>> {
  const known = optimized.get(`${ep} ${level}`);
  if (known) return known;
  if (ep === 'webgpu') webGpuEnvProbed();
  const ort = await loadOrt();
  const out = join(dir, `optimized-${ep}-${level}.onnx`);
  const s = await ort.InferenceSession.create(model, { executionProviders: [ep], graphOptimizationLevel: level, optimizedModelFilePath: out, logSeverityLevel: 3 });
  await s.release();
  const nodes = new Map(onnx.ModelProto.decode(readFileSync(out)).graph!.node!.map((n) => [n.name!, n.opType!]));
  optimized.set(`${ep} ${level}`, nodes);
  return nodes;
}

beforeAll(() => {
  dir = tempDir();
  model = join(dir, 'tiny.onnx');
  writeFileSync(model, tinyVisionOnnx(32));
});

describe('vitx bench --profile', () => {
  it('every backend: node types and nodes of onnxruntime\'s optimized graph, positive times within the runs\' wall time; --json', async (ctx) => {
    needs(ctx, 'chromium'); // webgpu on SwiftShader, browser-wasm, browser-webgpu
    const json = join(dir, 'p.json');
    const r = vitx(['bench', model, '--ep', EPS.join(','), '--runs', '3', '--warmup', '1', '--profile', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(j.results.map((x: { ep: string }) => x.ep)).toEqual([...EPS]);
    for (const x of j.results as { ep: (typeof EPS)[number]; latency: { runs: number; mean: number }; profile: { source: string; runs: number; totalMs: number; byType: { op: string; ms: number; share: number }[]; byNode: { node: string; op: string; ms: number }[] } }[]) {
      const p = x.profile;
      expect(p, x.ep).toBeDefined();
      expect(p.source, x.ep).toBe(x.ep.endsWith('webgpu') ? 'gpu' : 'kernel');
      expect(p.runs).toBe(3);
      const nodes = await optimizedNodes(...GRAPH_OF[x.ep]);
      const types = new Set(nodes.values());
      expect(p.byType.length, x.ep).toBeGreaterThan(3);
      for (const t of p.byType) expect(types.has(t.op), `${x.ep}: ${t.op} is not an op type of onnxruntime's optimized graph`).toBe(true);
      for (const n of p.byNode) expect(nodes.get(n.node), `${x.ep}: node ${n.node}`).toBe(n.op);
      // times: non-negative, sorted, the first positive (Chromium's clock ticks in 0.1 ms, so a
      // short kernel can read 0); the sum is at most the wall time of the 3 timed runs (the
      // warm-up run is excluded: its first-run costs would exceed it on WebGPU)
      expect(p.byType[0]!.ms, x.ep).toBeGreaterThan(0);
      for (const [i, t] of p.byType.entries()) {
        expect(t.ms).toBeGreaterThanOrEqual(0);
        if (i > 0) expect(t.ms).toBeLessThanOrEqual(p.byType[i - 1]!.ms);
        expect(t.share).toBeCloseTo(t.ms / p.totalMs, 3);
      }
      expect(p.byType.reduce((a, t) => a + t.ms, 0)).toBeLessThanOrEqual(p.totalMs + 1e-6);
      expect(p.totalMs, `${x.ep}: profiled ${p.totalMs} ms, wall ${x.latency.mean * 3} ms`).toBeLessThanOrEqual(x.latency.mean * x.latency.runs + 0.2);
      // the text report shows the same numbers
      expect(r.stdout).toContain(`  profile ${x.ep}, top node types (${p.source === 'gpu' ? 'GPU time from WebGPU timestamp queries' : 'kernel time'}, ${p.totalMs.toFixed(2)} ms over 3 timed runs):\n`);
      expect(r.stdout).toContain(`  profile ${x.ep}, top nodes:\n    ${p.byNode[0]!.node} (${p.byNode[0]!.op}) ${p.byNode[0]!.ms.toFixed(2)} ms\n`);
      expect(r.stdout).toContain(`    ${p.byType[0]!.op.padEnd(24)} ${p.byType[0]!.ms.toFixed(2).padStart(9)} ms ${(100 * p.byType[0]!.share).toFixed(1).padStart(5)} %\n`);
    }
  }, 120_000);

  it('--threads above 1 with a browser backend is a usage error: one line, exit 2', () => {
    const r = vitx(['bench', model, '--ep', 'cpu,browser-wasm', '--threads', '2', '--profile']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^vitx: error: --threads 2 does not apply to browser-wasm: onnxruntime-web runs one thread in the page/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('summarizeProfile', () => {
  const run = (ts: number, dur: number): ProfileEvent => ({ cat: 'Session', name: 'model_run', ts, dur });
  const kernel = (node: string, op: string, ts: number, dur: number, provider = 'CPUExecutionProvider'): ProfileEvent =>
    ({ cat: 'Node', name: `${node}_kernel_time`, ts, dur, args: { op_name: op, provider } });

  it('counts only the last `runs` runs (the warm-up is excluded) and sums per type and per node', () => {
    const events = [run(0, 100), kernel('a', 'Conv', 10, 80), run(200, 50), kernel('a', 'Conv', 210, 20), kernel('b', 'Relu', 232, 5),
      run(300, 50), kernel('a', 'Conv', 310, 30), kernel('b', 'Relu', 341, 6)];
    const s = summarizeProfile(events, { runs: 2 });
    expect(s).toEqual({
      source: 'kernel', runs: 2, totalMs: 0.061,
      byType: [{ op: 'Conv', ms: 0.05, share: 50 / 61 }, { op: 'Relu', ms: 0.011, share: 11 / 61 }],
      byNode: [{ node: 'a', op: 'Conv', ms: 0.05 }, { node: 'b', op: 'Relu', ms: 0.011 }],
    });
  });

  it('WebGPU: GPU program times per node ("node&op&program"), not dispatch times; on another clock, the last runs by count', () => {
    const gpu = (name: string, ts: number, dur: number): ProfileEvent => ({ cat: 'Api', name, ts, dur });
    const dispatch = [kernel('c', 'Conv', 1010, 1, 'WebGpuExecutionProvider'), kernel('c', 'Conv', 2010, 1, 'WebGpuExecutionProvider')];
    const programs = [gpu('c&Conv&Conv2dMM', 5, 400), gpu('c&Conv&Transpose', 410, 30), gpu('c&Conv&Conv2dMM', 900, 300), gpu('c&Conv&Transpose', 1210, 20)];
    const s = summarizeProfile([run(1000, 900), run(2000, 900), ...dispatch, ...programs], { runs: 1 });
    expect(s).toMatchObject({ source: 'gpu', totalMs: 0.32, byType: [{ op: 'Conv', ms: 0.32, share: 1 }], byNode: [{ node: 'c', op: 'Conv', ms: 0.32 }] });
  });

  it('says in one line why there are no per-node times', () => {
    const dispatch = [kernel('c', 'Conv', 10, 1, 'WebGpuExecutionProvider')];
    expect(summarizeProfile([run(0, 50), ...dispatch], { runs: 1 })).toEqual({ unavailable: expect.stringMatching(/^no per-node GPU times: the WebGPU device lacks the timestamp-query feature/) });
    expect(summarizeProfile([run(0, 50)], { runs: 2 })).toEqual({ unavailable: 'the profiler recorded 1 runs, expected at least 2' });
  });
});
