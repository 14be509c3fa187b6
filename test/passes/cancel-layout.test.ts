import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromTokens, toTokens } from '../../src/builders/layers.js';
import type { Builder } from '../../src/graph/builder.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { evaluate } from '../../src/graph/kernels.js';
import type { Tensor } from '../../src/graph/tensor.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { cancelLayout } from '../../src/passes/cancel-layout.js';
import { runRules } from '../../src/passes/driver.js';
import { expectPreserved, seeded, tinyBuilder } from '../helpers/graphs.js';

const histogram = (g: Graph) => Object.fromEntries(g.opHistogram());
const RULE = 'cancel-layout';

function build(shape: readonly (number | string)[], body: (b: Builder, x: Value) => Value): Graph {
  const { b, x } = tinyBuilder(shape as number[]);
  b.g.outputs.push(b.relu(body(b, x)));
  return b.g;
}

/** Runs a graph of kernel-evaluable ops in JS (exact: layout ops only move elements). */
function interpret(g: Graph, x: Tensor): Float32Array[] {
  const env = new Map<Value, Tensor>([[g.inputs[0]!, x]]);
  for (const n of g.nodes) {
    const out = evaluate(n.op, n.inputs.map((v) => (v ? env.get(v) ?? v.constant : null)), n.attrs)!;
    n.outputs.forEach((o, i) => env.set(o, out[i]!));
  }
  return g.outputs.map((o) => (env.get(o) ?? o.constant)!.data as Float32Array);
}

describe('cancel-layout', () => {
  const cases: [string, readonly (number | string)[], (b: Builder, x: Value) => Value, Record<string, number>][] = [
    ['NCHW → tokens → NCHW (identity)', [2, 8, 3, 5], (b, x) => fromTokens(b, toTokens(b, x), 3, 5), { Relu: 1 }],
    ['tokens → NCHW → tokens (identity)', [2, 15, 8], (b, x) => toTokens(b, fromTokens(b, x, 3, 5)), { Relu: 1 }],
    ['Transpose → Reshape → Transpose that only splits an axis (one Reshape)', [2, 12, 5],
      (b, x) => b.transpose(b.reshape(b.transpose(x, [0, 2, 1]), [2, 5, 3, 4]), [0, 2, 3, 1]), { Relu: 1, Reshape: 1 }],
    ['Reshape → Transpose → Reshape that is a permutation (one Transpose)', [2, 6, 4],
      (b, x) => b.reshape(b.transpose(b.reshape(x, [2, 6, 2, 2]), [0, 2, 3, 1]), [2, 4, 6]), { Relu: 1, Transpose: 1 }],
    ['EdgeViT context → merged heads → NCHW (Transpose → Reshape)', [1, 4, 9, 6],
      (b, x) => b.reshape(b.transpose(b.reshape(b.transpose(x, [0, 2, 1, 3]), [1, 9, 24]), [0, 2, 1]), [1, 24, 3, 3]), { Relu: 1, Reshape: 1, Transpose: 1 }],
    ['two Transposes around a split that undo each other (one Reshape)', [2, 6, 5],
      (b, x) => b.transpose(b.reshape(b.transpose(b.reshape(x, [2, 6, 5]), [0, 2, 1]), [2, 5, 3, 2]), [0, 2, 3, 1]), { Relu: 1, Reshape: 1 }],
    ['a split axis whose parts are moved apart (Reshape → Transpose)', [2, 6, 5],
      (b, x) => b.transpose(b.reshape(b.transpose(x, [0, 2, 1]), [2, 5, 3, 2]), [0, 3, 1, 2]), { Relu: 1, Reshape: 1, Transpose: 1 }],
    ['a Flatten in the chain', [2, 6, 1, 4],
      (b, x) => b.flatten(b.transpose(b.reshape(x, [2, 6, 4]), [0, 2, 1]), 2), { Relu: 1, Reshape: 1, Transpose: 1 }],
  ];
  for (const [what, shape, body, hist] of cases) {
    it(`collapses ${what}`, async () => {
      const g = build(shape, body);
      await expectPreserved(g, (g) => { expect(runRules(g, [cancelLayout], { onRewrite: (_, g) => verifyGraph(g) }).counts[RULE]).toBe(1); }, 0, 0);
      expect(histogram(g)).toEqual(hist);
      expect(runRules(g, [cancelLayout]).counts[RULE]).toBe(0);
    });
  }

  it('removes a round trip with a symbolic batch', () => {
    const g = build(['N', 8, 4, 4], (b, x) => fromTokens(b, toTokens(b, x), 4, 4));
    expect(runRules(g, [cancelLayout]).counts[RULE]).toBe(1);
    verifyGraph(g);
    expect(histogram(g)).toEqual({ Relu: 1 });
  });

  it('collapses MaxViT block-partition → grid-unpartition with a symbolic batch into Reshape → Transpose → Reshape', () => {
    const g = build(['N', 4, 4, 3], (b, x) => {
      const part = b.reshape(b.transpose(b.reshape(x, ['N', 2, 2, 2, 2, 3]), [0, 1, 3, 2, 4, 5]), ['N*4', 4, 3]);
      return b.reshape(b.transpose(b.reshape(part, ['N', 2, 2, 2, 2, 3]), [0, 3, 1, 4, 2, 5]), ['N', 4, 4, 3]);
    });
    expect(runRules(g, [cancelLayout]).counts[RULE]).toBe(1);
    verifyGraph(g);
    expect(histogram(g)).toEqual({ Relu: 1, Reshape: 2, Transpose: 1 });
    expect(g.outputs[0]!.shape).toEqual(['N', 4, 4, 3]);
  });

  const negative: [string, readonly number[], (b: Builder, x: Value) => Value, RegExp][] = [
    ['NCHW → tokens (already minimal)', [2, 8, 3, 5], (b, x) => toTokens(b, x), /already minimal/],
    ['MobileViT unfold (Reshape → Transpose → Reshape is minimal)', [1, 4, 4, 6],
      (b, x) => b.reshape(b.transpose(b.reshape(x, [1, 4, 2, 2, 3, 2]), [0, 3, 5, 2, 4, 1]), [4, 6, 4]), /already minimal/],
    ['the tokens are also read by something else', [2, 8, 3, 5],
      (b, x) => { const t = toTokens(b, x); return b.add(b.reshape(b.transpose(t, [0, 2, 1]), [2, 8, 3, 5]), b.reshape(b.transpose(t, [0, 2, 1]), [2, 8, 3, 5])); }, /a single layout op|already minimal/],
    ['a reshape that mixes axes across a permutation', [2, 6, 4],
      (b, x) => b.reshape(b.transpose(x, [0, 2, 1]), [2, 3, 8]), /cuts a factor|cannot regroup/],
  ];
  for (const [what, shape, body, reason] of negative) {
    it(`leaves ${what}`, () => {
      const g = build(shape, body);
      const before = histogram(g);
      const explain = new Map<string, string>();
      expect(runRules(g, [cancelLayout], { explain }).counts[RULE]).toBe(0);
      expect([...explain.values()].join(' | ')).toMatch(reason);
      expect(histogram(g)).toEqual(before);
    });
  }

  it('does not connect a graph input to a graph output', () => {
    const { b, x } = tinyBuilder([2, 8, 3, 5]);
    b.g.outputs.push(fromTokens(b, toTokens(b, x), 3, 5));
    const explain = new Map<string, string>();
    expect(runRules(b.g, [cancelLayout], { explain }).counts[RULE]).toBe(0);
    expect([...explain.values()].join(' | ')).toMatch(/graph input to an output/);
  });

  /** A random reshape of `shape`: its prime factors in order, cut into groups, with some unit axes. */
  const factors = (n: number): number[] => { const f: number[] = []; for (let p = 2; n > 1; p++) while (n % p === 0) { f.push(p); n /= p; } return f; };
  const step = fc.record({ transpose: fc.boolean(), seed: fc.array(fc.nat(1000), { minLength: 8, maxLength: 8 }) });
  function apply(b: Builder, x: Value, s: { transpose: boolean; seed: number[] }): Value {
    const shape = x.shape as number[];
    const r = (i: number, n: number) => s.seed[i % s.seed.length]! % n;
    if (s.transpose) {
      const perm = [...shape.keys()];
      for (let i = perm.length - 1; i > 0; i--) { const j = r(i, i + 1); [perm[i], perm[j]] = [perm[j]!, perm[i]!]; }
      return b.transpose(x, perm);
    }
    const f = factors(shape.reduce((a, d) => a * d, 1));
    const out: number[] = [];
    f.forEach((p, i) => { if (i === 0 || r(i, 3) === 0 || out.length >= 5) out.push(p); else out[out.length - 1]! *= p; });
    if (r(7, 2) === 0 && out.length < 6) out.splice(r(6, out.length + 1), 0, 1);
    return b.reshape(x, out);
  }

  it('property: a random chain keeps its values and never grows, only-Reshape or only-Transpose chains become one op, a chain followed by its inverse vanishes', () => {
    fc.assert(fc.property(fc.constantFrom([2, 6, 4], [3, 4, 5], [2, 2, 3, 6], [12, 10]), fc.array(step, { minLength: 2, maxLength: 6 }), (shape, steps) => {
      const { b, x } = tinyBuilder(shape);
      const chain = (from: Value) => { let y = from; for (const s of steps) y = apply(b, y, s); return y; };
      const y = chain(x);
      const chainLen = b.g.nodeCount;
      // a second copy of the chain followed by its inverse (each step undone in reverse order)
      const copy = chain(x);
      const forward = [...b.g.nodes].slice(chainLen);
      let z = copy;
      for (const n of forward.reverse()) {
        const perm = n.attrs['perm'] ? n.attrInts('perm') : null;
        z = perm ? b.transpose(z, perm.map((_, i) => perm.indexOf(i))) : b.reshape(z, n.input(0).shape);
      }
      b.g.outputs.push(b.relu(y), b.relu(z));
      const input = seeded(shape, 'x');
      const before = interpret(b.g, input);
      runRules(b.g, [cancelLayout], { onRewrite: (_, g) => verifyGraph(g) });
      verifyGraph(b.g);
      expect(interpret(b.g, input)).toEqual(before);
      // y's chain never grows (at most 3 ops unless a reshape mixes permuted factors); z = x, so its chain is gone
      const ops = b.g.opHistogram();
      const left = (ops.get('Reshape') ?? 0) + (ops.get('Transpose') ?? 0);
      expect(left).toBeLessThanOrEqual(chainLen);
      if (steps.every((s) => s.transpose) || steps.every((s) => !s.transpose)) expect(left).toBeLessThanOrEqual(1);
      expect(b.g.outputs[1]!.producer!.input(0)).toBe(x);
    }), { numRuns: 150, seed: 7 });
  });
});
