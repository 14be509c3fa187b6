/**
 * Fresh node and value names (`base`, `base_1`, `base_2`, …) are chosen in linear time overall —
 * an unnamed 20k-node chain, where the reader names every node after its op, once took 2·10^8
 * probes (`inspect`: 18.9 s for 10k nodes, over 60 s for 20k) — and are exactly the names the plain
 * probe from 1 chooses (the oracle below), under any mix of additions, removals and renames.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph, type Node } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { parseOnnx } from '../../src/onnx/parse.js';
import { onnx } from '../../src/onnx/proto.js';
import { tempDir, vitx } from '../helpers/cli.js';

/** The smallest free `base`, `base_1`, … in `taken`: the rule the names must keep. */
function naive(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 1; ; i++) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
}

/** A chain of `n` Relu nodes none of which has a name (as some exporters write them). */
function unnamedChain(n: number): Uint8Array {
  const node = Array.from({ length: n }, (_, i) => ({ opType: 'Relu', input: [i === 0 ? 'x' : `v${i - 1}`], output: [i === n - 1 ? 'y' : `v${i}`] }));
  const t = { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject({
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'chain', node, input: [{ name: 'x', type: t }], output: [{ name: 'y', type: t }] },
  })).finish();
}

/** Deterministic pseudo-random integers (xorshift32). */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s % n; };
}

describe('fresh names', () => {
  it('an unnamed 20k-node chain reads with a linear number of name probes, named Relu, Relu_1, … Relu_19999', () => {
    const n = 20_000;
    const g = parseOnnx(unnamedChain(n)).graph;
    const names = [...g.nodes].map((x) => x.name);
    expect(names[0]).toBe('Relu');
    expect(names[n - 1]).toBe(`Relu_${n - 1}`);
    expect(new Set(names).size).toBe(n);
    // a few per node: the taken base, the free suffix, the output's name (the probe from 1 did ~n²/2 = 2·10^8)
    expect(g.nameProbes).toBeLessThanOrEqual(5 * n);
    const half = parseOnnx(unnamedChain(n / 2)).graph;
    expect(g.nameProbes / half.nameProbes).toBeLessThan(2.1); // linear: twice the nodes, twice the probes
  });

  it('vitx inspect on the 20k-node unnamed chain finishes (a generous wall-time guard against quadratic naming)', () => {
    const file = join(tempDir('vitx-chain-'), 'chain.onnx');
    writeFileSync(file, unnamedChain(20_000));
    const t0 = performance.now();
    const r = vitx(['inspect', file], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nodes +20000: Relu 20000/);
    expect(performance.now() - t0).toBeLessThan(60_000); // 20k nodes took over 60 s before; now ~1 s
  }, 180_000);

  it('node names: the same names as the probe from 1, under random additions, removals and renames', () => {
    const g = new Graph('t');
    const x = g.addInput('x', { dtype: 'float32', shape: [1] });
    const next = rng(17);
    const bases = ['Relu', 'Relu_1', 'a', 'a_2', 'b_c'];
    const live: Node[] = [];
    for (let step = 0; step < 4000; step++) {
      const op = next(10);
      if (op < 6 || live.length === 0) {
        const base = bases[next(bases.length)]!;
        const want = naive(base, new Set([...g.nodes].map((m) => m.name)));
        const node = g.addNode('Relu', [x], [{ dtype: 'float32', shape: [1] }], { name: base });
        expect(node.name, `step ${step}: add ${base}`).toBe(want);
        live.push(node);
      } else if (op < 9) {
        const node = live.splice(next(live.length), 1)[0]!;
        g.removeNode(node);
      } else {
        const node = live[next(live.length)]!;
        g.renameNode(node, `${bases[next(bases.length)]}_${1 + next(6)}`);
      }
    }
  });

  it('value names: the same names as the probe from 1, under random constants, removals and renames', () => {
    const g = new Graph('t');
    const next = rng(29);
    const bases = ['w', 'w_1', 'w.folded', 'k_3'];
    for (let step = 0; step < 4000; step++) {
      const inits = [...g.initializers.values()];
      const op = next(10);
      if (op < 6 || inits.length === 0) {
        const base = bases[next(bases.length)]!;
        const taken = new Set([...g.initializers.keys()]);
        expect(g.addConstant(base, Tensor.f32([1], [step])).name, `step ${step}: add ${base}`).toBe(naive(base, taken));
      } else if (op < 9) {
        g.removeInitializer(inits[next(inits.length)]!);
      } else {
        // renameValue moves a holder of the name aside to a fresh name: that choice must agree too
        const v = inits[next(inits.length)]!;
        const name = `${bases[next(bases.length)]}_${1 + next(6)}`;
        const holder = g.value(name);
        const taken = new Set([...g.initializers.keys()]);
        const moved = holder && holder !== v ? naive(name, taken) : null;
        g.renameValue(v, name);
        if (moved) expect(holder!.name).toBe(moved);
      }
    }
  });
});
