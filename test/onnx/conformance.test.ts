/**
 * Conformance against the ONNX project's own backend test data (Debian's libonnx-testdata, ONNX
 * 1.12: ~930 node tests and ~140 small models, each with inputs and expected outputs):
 *
 *  1. every model parses, or is refused with one line (no JS TypeError / RangeError);
 *  2. parse → serialize → onnxruntime CPU reproduces the expected outputs for every model that
 *     onnxruntime itself runs to those outputs from the original file;
 *  3. every op the folding kernels claim reproduces its node tests' expected outputs, evaluated by
 *     fold-constants on the node-test graph with its inputs turned into initializers.
 *
 * What is refused, and why, is printed as one summary line per reason.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Graph, type Value } from '../../src/graph/ir.js';
import { getOp } from '../../src/graph/ops/index.js';
import { Tensor } from '../../src/graph/tensor.js';
import { parseOnnx, type ParsedModel } from '../../src/onnx/parse.js';
import { serialize } from '../../src/onnx/serialize.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { createSession, type HostTensor, runSession } from '../../src/runtime/ort.js';
import { dataSets, listCases, type TestCase, TESTDATA } from '../helpers/onnx-testdata.js';
import { needs } from '../helpers/prerequisites.js';

const cases = listCases();

/** Groups items by reason; prints one line per reason (count, reason, first examples). */
class Tally {
  readonly by = new Map<string, string[]>();
  add(reason: string, name: string): void {
    const key = reason.replace(/\d+/g, 'N').slice(0, 120);
    (this.by.get(key) ?? this.by.set(key, []).get(key)!).push(name);
  }
  get count(): number { return [...this.by.values()].reduce((s, v) => s + v.length, 0); }
  print(title: string): void {
    console.log(`${title}: ${this.count}`);
    for (const [k, v] of [...this.by].sort((a, b) => b[1].length - a[1].length)) console.log(`  ${String(v.length).padStart(4)} × ${k}  (${v.slice(0, 3).join(', ')}${v.length > 3 ? ', …' : ''})`);
  }
}

const parsed = new Map<TestCase, ParsedModel>();
const JS_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError];

function host(t: Tensor): HostTensor {
  return { dtype: t.dtype, dims: [...t.shape], data: t.data as HostTensor['data'] };
}

/** |got − want| ≤ atol + rtol·|want| elementwise (NaN matches NaN), same dtype and dims. */
function close(got: HostTensor | undefined, want: Tensor, atol = 1e-5, rtol = 1e-3): string | null {
  if (!got) return 'missing output';
  if (got.dtype !== want.dtype || got.dims.join() !== want.shape.join()) return `got ${got.dtype}[${got.dims}] want ${want.dtype}[${want.shape}]`;
  const a = numbers(new Tensor(got.dtype, got.dims, got.data)), b = numbers(want);
  for (let i = 0; i < b.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return `element ${i}: ${x} vs ${y}`;
  }
  return null;
}

async function runAll(model: Uint8Array, c: TestCase): Promise<string | null> {
  const session = await createSession(model);
  try {
    for (const ds of dataSets(c)) {
      const feeds = Object.fromEntries(ds.inputs.map((x, i) => [session.inputNames[i]!, host(x.tensor)]));
      const out = await runSession(session, feeds);
      for (const [i, o] of ds.outputs.entries()) {
        const p = close(out[session.outputNames[i]!], o.tensor);
        if (p) return `output ${i}: ${p}`;
      }
    }
    return null;
  } finally {
    await session.release();
  }
}

/** Elements as numbers (float16 decoded; int64 beyond 2^53 approximated, fine for comparing). */
function numbers(t: Tensor): number[] {
  return t.data instanceof BigInt64Array ? Array.from(t.data, Number) : t.toNumbers();
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n').find((l) => l.trim()) ?? '';

describe(`ONNX backend test data (${TESTDATA})`, () => {
  it('every model parses or is refused in one line', (ctx) => {
    needs(ctx, 'libonnx-testdata');
    expect(cases.length, 'libonnx-testdata is installed (scripts/setup.sh)').toBeGreaterThan(900);
    const refused = new Tally();
    const crashes: string[] = [];
    for (const c of cases) {
      if (!c.model) { refused.add('no model.onnx (the package ships a download stub)', c.name); continue; }
      try {
        parsed.set(c, parseOnnx(readFileSync(c.model)));
      } catch (e) {
        const msg = (e as Error).message ?? '';
        if (JS_ERRORS.some((k) => e instanceof k) || !(e instanceof Error) || msg.includes('\n') || !msg) crashes.push(`${c.category}/${c.name}: ${String(e)}`);
        else refused.add(msg, c.name);
      }
    }
    console.log(`parsed ${parsed.size} of ${cases.length} test models`);
    refused.print('refused by the reader');
    expect(crashes).toEqual([]);
  });

  it('parse → serialize → onnxruntime reproduces the expected outputs wherever onnxruntime runs the original', async (ctx) => {
    needs(ctx, 'libonnx-testdata');
    const skipped = new Tally();
    const failures: string[] = [];
    let passed = 0;
    for (const [c, p] of parsed) {
      let original: string | null;
      try {
        dataSets(c);
      } catch (e) {
        skipped.add(`test data not readable: ${firstLine(e)}`, c.name);
        continue;
      }
      try {
        original = await runAll(readFileSync(c.model!), c);
      } catch (e) {
        skipped.add(`onnxruntime cannot run it: ${firstLine(e)}`, c.name);
        continue;
      }
      if (original) { skipped.add('onnxruntime does not reproduce the expected outputs from the original file', c.name); continue; }
      try {
        const bytes = serialize(p.graph, { opset: p.opset });
        const ours = await runAll(bytes, c);
        if (ours) failures.push(`${c.category}/${c.name}: ${ours}`); else passed++;
      } catch (e) {
        failures.push(`${c.category}/${c.name}: ${firstLine(e)}`);
      }
    }
    console.log(`round trip reproduces the expected outputs: ${passed} models`);
    skipped.print('not compared');
    expect(failures).toEqual([]);
    expect(passed).toBeGreaterThan(600);
  });

  it('the folding kernels reproduce the node tests of every op they claim', (ctx) => {
    needs(ctx, 'libonnx-testdata');
    const declined = new Tally();
    const failures: string[] = [];
    let folded = 0;
    for (const [c, p] of parsed) {
      if (c.category !== 'node') continue;
      const g = p.graph;
      const nodes = [...g.nodes];
      if (nodes.length !== 1 || nodes[0]!.domain || !getOp(nodes[0]!.op)?.fold || getOp(nodes[0]!.op)?.noFold) continue;
      const n = nodes[0]!;
      let sets: ReturnType<typeof dataSets>;
      try { sets = dataSets(c); } catch (e) { declined.add(`test data not readable: ${firstLine(e)}`, c.name); continue; }
      for (const [di, ds] of sets.entries()) {
        // the node-test graph with its inputs as initializers and each output behind an Identity
        const h = new Graph(c.name);
        const ins = g.inputs.map((v, i) => h.addInitializer(v.name, ds.inputs[i]!.tensor));
        const byName = new Map<Value, Value>(g.inputs.map((v, i) => [v, ins[i]!]));
        for (const v of g.initializers.values()) byName.set(v, h.addInitializer(v.name, v.constant!));
        const m = h.addNode(n.op, n.inputs.map((v) => (v ? byName.get(v)! : null)), n.outputs.map((o, i) => ({ dtype: o.dtype, shape: ds.outputs[i]?.tensor.shape ?? o.shape })), { name: n.name, attrs: n.attrs, outputNames: n.outputs.map((o) => o.name) });
        const outs = m.outputs.map((o) => h.addNode('Identity', [o], [o.type], { name: `out_${o.name}`, outputNames: [`${o.name}__out`] }).output);
        h.outputs.push(...outs);
        try {
          foldConstants.run(h);
        } catch (e) {
          failures.push(`${c.name} set ${di}: ${firstLine(e)}`);
          continue;
        }
        if (h.nodes.has(m)) { declined.add(`${n.op} declined`, c.name); continue; }
        folded++;
        outs.forEach((o, i) => {
          const t = (o.producer!.inputs[0] as Value).constant!;
          const want = ds.outputs[i]!.tensor;
          const problem = close(host(t), want, 1e-6, 1e-5);
          if (problem) failures.push(`${c.name} set ${di} output ${i}: ${problem}`);
        });
      }
    }
    console.log(`folding kernels reproduce ${folded} node-test data sets`);
    declined.print('declined (left for the runtime)');
    expect(failures).toEqual([]);
    expect(folded).toBeGreaterThan(100);
  });
});

