/**
 * Done-when: --batch dynamic runs at batch 1 and 3 with each item equal to its batch-1 result
 * (after the passes, fp32; within 1e-5 · max|logit|), a static batch 3 does the same, and
 * --target coreml MaxViT (and MobileViT, whose unfold is 6-D too) has no tensor of rank > 5
 * (dynamic batch, so MaxViT's grid partition needs the two-step rewrite), passes its lint and
 * still equals the PyTorch reference.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import type { Graph } from '../../src/graph/ir.js';
import { exportModel } from '../../src/pipeline.js';
import { allValues } from '../../src/targets/lint.js';
import { countErrors } from '../../src/targets/index.js';
import { createSession, runSession, type Session } from '../../src/runtime/ort.js';
import { seeded } from '../helpers/graphs.js';
import { checkLogits, referenceCheckpoint, referenceInput } from '../helpers/reference.js';

/** The reference input followed by two seeded images. */
function images(model: string): Float32Array[] {
  const x = referenceInput(model);
  return [x.data, seeded(x.dims, `${model}:b1`).data as Float32Array, seeded(x.dims, `${model}:b2`).data as Float32Array];
}

async function logits(s: Session, items: Float32Array[], dims: readonly number[]): Promise<Float32Array> {
  const data = new Float32Array(items.length * items[0]!.length);
  items.forEach((x, i) => data.set(x, i * x.length));
  const out = await runSession(s, { input: { dtype: 'float32', dims: [items.length, ...dims.slice(1)], data } });
  return out['logits']!.data as Float32Array;
}

function expectItemsEqual(batch: Float32Array, single: Float32Array[]): void {
  const n = single[0]!.length;
  const scale = Math.max(...single.flatMap((s) => Array.from(s, Math.abs)));
  single.forEach((s, i) => {
    let worst = 0;
    for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(batch[i * n + j]! - s[j]!));
    expect(worst, `item ${i}`).toBeLessThanOrEqual(1e-5 * scale);
  });
}

const maxRank = (g: Graph) => Math.max(...allValues(g).map((v) => v.shape.length));

describe.each(['mobilevit_xxs', 'maxvit_tiny_tf_224'])('%s with a dynamic batch', (model) => {
  let session: Session;
  const xs = images(model);
  const dims = referenceInput(model).dims;
  beforeAll(async () => {
    const r = exportModel(model, { checkpoint: referenceCheckpoint(model), batch: 'dynamic' });
    expect(r.graph.inputs[0]!.shape[0]).toBe('N');
    session = await createSession(r.bytes);
  });

  it('batch 1 gives the reference; batch 3 gives each item\'s batch-1 result', async () => {
    const single = await Promise.all(xs.map((x) => logits(session, [x], dims)));
    expect(checkLogits(model, single[0]!).pass).toBe(true);
    expectItemsEqual(await logits(session, xs, dims), single);
    await session.release();
  });
});

describe('static batch 3', () => {
  it('mobilevit_xxs --batch 3: each item equals the batch-1 export', async () => {
    const model = 'mobilevit_xxs';
    const checkpoint = referenceCheckpoint(model);
    const dims = referenceInput(model).dims;
    const xs = images(model);
    const one = await createSession(exportModel(model, { checkpoint }).bytes);
    const three = await createSession(exportModel(model, { checkpoint, batch: 3 }).bytes);
    const single = await Promise.all(xs.map((x) => logits(one, [x], dims)));
    expectItemsEqual(await logits(three, xs, dims), single);
    await one.release();
    await three.release();
  });
});

// MaxViT: the 6-D partition Transposes of stages 0–2; stage 3's (one 7×7 window = the whole map)
// are pure reshapes after cancel-layout and need no rewrite
describe.each([['maxvit_tiny_tf_224', 36], ['mobilevit_xxs', 6]] as const)('--target coreml %s', (model, rewrites) => {
  it('has no tensor above rank 5, passes the coreml lint and equals the reference at batch 1 and 3', async () => {
    const checkpoint = referenceCheckpoint(model);
    const plain = exportModel(model, { checkpoint, batch: 'dynamic' });
    expect(maxRank(plain.graph)).toBe(6);
    const r = exportModel(model, { checkpoint, batch: 'dynamic', target: 'coreml' });
    expect(maxRank(r.graph)).toBeLessThanOrEqual(5);
    expect(countErrors(r.findings)).toBe(0);
    expect(r.passes.find((p) => p.name === 'rank-reduction')!.stats.counts['rank-reduction']).toBe(rewrites);
    const s = await createSession(r.bytes);
    const xs = images(model);
    const dims = referenceInput(model).dims;
    const batch = await logits(s, xs, dims);
    const c = checkLogits(model, batch.subarray(0, 1000));
    expect(c.maxAbsDiff).toBeLessThanOrEqual(c.tolerance);
    expect(c.argmax).toBe(c.expectedArgmax);
    const p = await createSession(plain.bytes);
    expectItemsEqual(batch, await Promise.all(xs.map((x) => logits(p, [x], dims))));
    await s.release();
    await p.release();
  });
});
