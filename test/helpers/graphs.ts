/** Tiny-graph helpers for pass tests: seeded weights, before/after runs on onnxruntime. */
import { expect } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import type { Graph, InitRule } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { legalize } from '../../src/onnx/legalize.js';
import { serialize } from '../../src/onnx/serialize.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { recipeFill } from '../../src/weights/recipe.js';
import { initDeterministic } from '../../src/weights/load.js';

/** Deterministic pseudo-random values in [-1, 1) (the weight recipe keyed by `seed`). */
export function seeded(shape: readonly number[], seed: string, rule: InitRule = 'other', scale = 2): Tensor {
  const t = new Tensor('float32', shape);
  recipeFill(rule, seed, shape, t.data as Float32Array);
  if (scale !== 1) for (let i = 0; i < t.size; i++) (t.data as Float32Array)[i]! *= scale;
  return t;
}

export function tinyBuilder(shape: readonly number[] = [2, 8, 6, 6]): { b: Builder; x: ReturnType<Builder['input']> } {
  const b = Builder.create('tiny');
  const x = b.input('x', { dtype: 'float32', shape });
  return { b, x };
}

/** Deterministic init, but BN statistics far from (0, 1) so that a wrong fold shows. */
export function initForTest(g: Graph): void {
  initDeterministic(g);
  for (const v of g.initializers.values()) {
    if (v.name.endsWith('running_mean')) g.setConstant(v, seeded(v.staticShape(), v.name, 'other', 4));
    if (v.name.endsWith('running_var')) {
      const t = seeded(v.staticShape(), v.name, 'other', 1);
      const d = t.data as Float32Array;
      for (let i = 0; i < d.length; i++) d[i] = 0.05 + 3 * Math.abs(d[i]!);
      g.setConstant(v, t);
    }
  }
}

export async function runGraph(g: Graph, seed = 'x'): Promise<Float32Array[]> {
  legalize(g, 17);
  const bytes = serialize(g, { opset: 17 });
  const feeds = Object.fromEntries(g.inputs.map((v) => {
    const dims = v.staticShape();
    return [v.name, { dtype: 'float32' as const, dims, data: seeded(dims, `${seed}:${v.name}`).data as Float32Array }];
  }));
  const out = await runOnnx(bytes, feeds);
  return g.outputs.map((o) => out[o.name]!.data as Float32Array);
}

/** Asserts |a−b| ≤ atol + rtol·|b| elementwise. */
export function expectClose(a: Float32Array, b: Float32Array, atol = 1e-5, rtol = 1e-4): void {
  expect(a.length).toBe(b.length);
  let worst = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i]! - b[i]!) - (atol + rtol * Math.abs(b[i]!));
    if (!(excess <= worst)) { worst = excess; at = i; }
  }
  expect(at, at >= 0 ? `element ${at}: ${a[at]} vs ${b[at]}` : '').toBe(-1);
}

/** Runs `transform` and checks the outputs before/after agree and the graph stays valid. */
export async function expectPreserved(g: Graph, transform: (g: Graph) => void, atol = 1e-5, rtol = 1e-4): Promise<void> {
  verifyGraph(g);
  const before = await runGraph(g);
  transform(g);
  verifyGraph(g);
  const after = await runGraph(g);
  before.forEach((b, i) => expectClose(after[i]!, b, atol, rtol));
}
