/**
 * A file's nodes without a name are named in every message by their position in the file's node
 * list and their op — `node #1 (Neg)` — never by an empty name (`node  reads x`) or by the name the
 * IR gives them internally (`Neg`, `Relu_1`): reader, verifier, passes, lint and diff.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyGraph } from '../../src/graph/verify.js';
import { inspectGraph } from '../../src/inspect/index.js';
import { OnnxParseError, parseOnnx } from '../../src/onnx/parse.js';
import { onnx, type OnnxNs } from '../../src/onnx/proto.js';
import { fail, type Rule, runRules } from '../../src/passes/driver.js';
import { structuralDiff } from '../../src/verify/diff.js';
import { tempDir, vitx } from '../helpers/cli.js';

const FLOAT = 1;
const tensor = (dims: number[]) => ({ tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });

/** x[1,4] → Relu → Neg → y, none of the nodes named (as some exporters write them). */
function file(edit: (nodes: OnnxNs.INodeProto[], g: OnnxNs.IGraphProto) => void = () => {}): Uint8Array {
  const node: OnnxNs.INodeProto[] = [
    { opType: 'Relu', input: ['x'], output: ['r'] },
    { opType: 'Neg', input: ['r'], output: ['y'] },
  ];
  const graph: OnnxNs.IGraphProto = { name: 'g', node, input: [{ name: 'x', type: tensor([1, 4]) }], output: [{ name: 'y', type: tensor([1, 4]) }] };
  edit(node, graph);
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph })).finish();
}

function parseError(bytes: Uint8Array): string {
  try { parseOnnx(bytes); } catch (e) { expect(e).toBeInstanceOf(OnnxParseError); return (e as Error).message; }
  throw new Error('expected a parse error');
}

describe('unnamed nodes are named #index (Op)', () => {
  it('reader: an undefined input, a declared type that disagrees, a bad attribute', () => {
    expect(parseError(file((n) => { n[1]!.input = ['missing']; }))).toBe('node #1 (Neg) reads missing, which is not defined before it');
    expect(parseError(file((_n, g) => { g.valueInfo = [{ name: 'r', type: tensor([1, 5]) }]; })))
      .toBe('node #0 (Relu): the file types output r as float32[1,5] but its inputs give float32[1,4]');
    expect(parseError(file((n) => { n[0]!.attribute = [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR }]; })))
      .toBe('node #0 (Relu) attribute value: TENSOR attribute without a tensor');
  });

  it('reader through the CLI: one line on stderr, exit 1', () => {
    const f = join(tempDir('vitx-unnamed-'), 'bad.onnx');
    writeFileSync(f, file((n) => { n[1]!.input = ['missing']; }));
    const r = vitx(['inspect', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`vitx: error: ${f}: node #1 (Neg) reads missing, which is not defined before it\n`);
  });

  it('verifier', () => {
    const g = parseOnnx(file()).graph;
    const neg = [...g.nodes][1]!;
    expect(neg.name).toBe('Neg'); // the IR's own name; messages do not use it
    neg.output.type = { dtype: 'float32', shape: [1, 5] };
    expect(() => verifyGraph(g)).toThrow('graph g is invalid: #1 (Neg): output y is float32[1, 5] but inference gives float32[1, 4]');
  });

  it('passes: why a rule did not fire (--explain) names the node', () => {
    const g = parseOnnx(file()).graph;
    const never: Rule = { name: 'never', ops: ['Relu', 'Neg'], match: () => fail('no'), rewrite: () => ({ replace: [] }) };
    const explain = new Map<string, string>();
    runRules(g, [never], { explain });
    expect([...explain.keys()]).toEqual(['never: #0 (Relu)', 'never: #1 (Neg)']);
  });

  it('lint: findings name the node', () => {
    // a Shape → Reshape chain: the Reshape's shape operand is computed (TensorRT wants an initializer)
    const bytes = file((n, g) => {
      n.splice(1, 1, { opType: 'Shape', input: ['r'], output: ['s'] }, { opType: 'Reshape', input: ['r', 's'], output: ['y'] });
      g.output = [{ name: 'y', type: tensor([1, 4]) }];
    });
    const p = parseOnnx(bytes);
    const findings = inspectGraph(p.graph, { opset: 17, target: 'tensorrt' }).findings;
    expect(findings.map((f) => f.node)).toContain('#1 (Shape)');
    expect(findings.map((f) => f.node)).not.toContain('Shape');
  });

  it('diff: nodes only in one file, in the structure and in the text', () => {
    const a = parseOnnx(file()).graph;
    const b = parseOnnx(file((n) => { n[1]!.opType = 'Sigmoid'; })).graph;
    const d = structuralDiff(a, b, { a: 17, b: 17 });
    expect(d.nodes.removed).toEqual([{ name: '#1 (Neg)', op: 'Neg', unnamedIndex: 1 }]);
    expect(d.nodes.added).toEqual([{ name: '#1 (Sigmoid)', op: 'Sigmoid', unnamedIndex: 1 }]);
    const dir = tempDir('vitx-unnamed-diff-');
    const [fa, fb] = [join(dir, 'a.onnx'), join(dir, 'b.onnx')];
    writeFileSync(fa, file());
    writeFileSync(fb, file((n) => { n[1]!.opType = 'Sigmoid'; }));
    const r = vitx(['diff', fa, fb]);
    expect(r.stdout).toContain('    node #1 (Neg) only in a\n');
    expect(r.stdout).toContain('    node #1 (Sigmoid) only in b\n');
    expect(r.stdout).not.toMatch(/node {2}|\(Neg\) \(Neg\)/);
  });
});
