/**
 * channels-last-tokens (`--target ort`): NCHW ↔ token conversions as 4-D channels-last Transposes.
 * Before/after on onnxruntime (a pure permutation: bit-identical outputs), onnxruntime's own optimized
 * graph (the NCHWc reorders absorb the Transposes), and where the rule must not fire.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { conv2d, fromTokens, layerNorm, toTokens } from '../../src/builders/layers.js';
import type { Builder } from '../../src/graph/builder.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { legalize } from '../../src/onnx/legalize.js';
import { onnx } from '../../src/onnx/proto.js';
import { serialize } from '../../src/onnx/serialize.js';
import { channelsLastTokens } from '../../src/passes/channels-last-tokens.js';
import { runRules } from '../../src/passes/driver.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { reshapeChain } from '../../src/passes/simplify.js';
import { exportModel } from '../../src/pipeline.js';
import { loadOrt } from '../../src/runtime/ort.js';
import { tempDir } from '../helpers/cli.js';
import { expectPreserved, initForTest, runGraph, tinyBuilder } from '../helpers/graphs.js';

const C = 16;

function build(shape: number[], body: (b: Builder, x: Value) => Value): Graph {
  const { b, x } = tinyBuilder(shape);
  b.g.outputs.push(body(b, x));
  initForTest(b.g);
  foldConstants.run(b.g);
  return b.g;
}

/** conv → tokens → LN (read twice: norm and residual) → map → conv: EdgeViT's block boundary. */
const block = (b: Builder, x: Value) => {
  const y = conv2d(b.child('conv1'), x, { out: C, k: 3, bias: true });
  const t = toTokens(b, y);
  const u = b.add(t, layerNorm(b.child('norm'), t, 1e-5), 'residual');
  return conv2d(b.child('conv2'), fromTokens(b, u, 6, 5), { out: C, k: 1, bias: true });
};

const rewrite = (g: Graph) => runRules(g, [channelsLastTokens, reshapeChain]).counts['channels-last-tokens'];

/** Transposes in onnxruntime's optimized CPU graph (optimizations 'all', NCHWc layout). */
async function ortTransposes(g: Graph): Promise<number> {
  legalize(g, 17);
  const ort = await loadOrt();
  const out = join(tempDir(), 'optimized.onnx');
  const s = await ort.InferenceSession.create(serialize(g, { opset: 17 }), { executionProviders: ['cpu'], graphOptimizationLevel: 'all', optimizedModelFilePath: out, logSeverityLevel: 3 });
  await s.release();
  return onnx.ModelProto.decode(readFileSync(out)).graph!.node!.filter((n) => n.opType === 'Transpose').length;
}

describe('channels-last-tokens', () => {
  it('NCHW → tokens and back as channels-last Transposes: the same elements, bit for bit', async () => {
    const g = build([2, C, 6, 5], block);
    const before = (await runGraph(build([2, C, 6, 5], block)))[0]!;
    await expectPreserved(g, (g) => { expect(rewrite(g)).toBe(2); });
    const perms = [...g.nodes].filter((n) => n.op === 'Transpose').map((n) => n.attrInts('perm').join());
    expect(perms.sort()).toEqual(['0,2,3,1', '0,3,1,2']);
    expect([...(await runGraph(g))[0]!]).toEqual([...before]);
  });

  it('onnxruntime\'s NCHWc reorders absorb the rewritten Transposes (none left in its optimized graph)', async () => {
    const g = build([1, C, 6, 5], block);
    expect(await ortTransposes(g)).toBeGreaterThan(0);
    rewrite(g);
    expect(await ortTransposes(g)).toBe(0);
  });

  it('does not fire for another Reshape, another perm, or a map read elsewhere', () => {
    const rejects = (g: Graph, reason: RegExp) => {
      const explain = new Map<string, string>();
      expect(runRules(g, [channelsLastTokens], { explain }).counts['channels-last-tokens']).toBe(0);
      expect([...explain.values()].join(' | ')).toMatch(reason);
      verifyGraph(g);
    };
    // [N, C·H, W] is not the H·W merge
    rejects(build([1, C, 6, 5], (b, x) => b.transpose(b.reshape(x, [1, C * 6, 5]), [0, 2, 1])), /not \[N, C, H·W\]/);
    rejects(build([1, 30, C], (b, x) => b.transpose(x, [1, 0, 2])), /not a 3-D Transpose\(0,2,1\)/);
    // the [N, C, H·W] view has a second reader
    rejects(build([1, C, 6, 5], (b, x) => {
      const f = b.reshape(x, [1, C, 30]);
      return b.add(b.transpose(f, [0, 2, 1]), b.transpose(b.relu(f), [0, 2, 1]));
    }), /read only here/);
  });

  it('edgevit_xxs --target ort: every map ↔ token boundary rewritten, byte-identical run to run; not without --target ort', () => {
    const r = exportModel('edgevit_xxs', { target: 'ort' });
    expect(Buffer.compare(Buffer.from(exportModel('edgevit_xxs', { target: 'ort' }).bytes), Buffer.from(r.bytes))).toBe(0);
    for (const o of [{}, { target: 'web' as const }, { target: 'ort' as const, contribAttention: false }]) {
      expect(exportModel('edgevit_xxs', o).passes.some((p) => p.stats.counts['channels-last-tokens'])).toBe(false);
    }
    expect(r.passes.reduce((n, p) => n + (p.stats.counts['channels-last-tokens'] ?? 0), 0)).toBe(22); // 11 SelfAttn + patch embeds, both ways
    for (const n of r.graph.nodes) if (n.op === 'Transpose' && n.input(0).shape.length === 3) expect.fail(`3-D Transpose ${n.name} left`);
  }, 60_000);
});
