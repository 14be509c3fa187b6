/**
 * int8 exports of one model per family with the reference weights (recipe + bn_stats): calibrated on
 * fixtures/images/calibration, evaluated on the held-out fixtures/images/evaluation photos. Oracles:
 * the float32 file's logits on onnxruntime (Pearson correlation ≥ 0.99 for every image, on CPU with
 * onnxruntime's optimizations, as deployed, and on WASM), and onnxruntime's own optimized graph
 * (optimizedModelFilePath), which must contain its fused integer kernels.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { openTimed } from '../../src/bench/latency.js';
import { onnx } from '../../src/onnx/proto.js';
import { exportModel } from '../../src/pipeline.js';
import { feedFor } from '../../src/quant/calibrate.js';
import { loadSamples } from '../../src/quant/data.js';
import { compareRow } from '../../src/quant/fidelity.js';
import { INT8_SOURCE, quantizeOnnx } from '../../src/quant/index.js';
import { preprocessCfg } from '../../src/quant/pretrained-cfg.js';
import { ROOT } from '../helpers/cli.js';
import { referenceCheckpoint } from '../helpers/reference.js';

// one model per family, and all eight of issue 13's latency models (fastvit_sa12, mobileone_s1 complete them)
const MODELS = ['mobileone_s0', 'mobilevit_xxs', 'fastvit_t8', 'edgevit_xxs', 'nextvit_small', 'maxvit_tiny_tf_224', 'fastvit_sa12', 'mobileone_s1', 'mobilevitv2_050'];
const dir = mkdtempSync(join(tmpdir(), 'vitx-int8-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function opTypes(path: string): Map<string, number> {
  const m = onnx.ModelProto.decode(readFileSync(path));
  const h = new Map<string, number>();
  for (const n of m.graph!.node!) h.set(n.opType!, (h.get(n.opType!) ?? 0) + 1);
  return h;
}

// models whose int8 source has the score path as com.microsoft.MultiHeadAttention (contrib-mha)
const ATTENTION = new Set(['mobilevit_xxs', 'edgevit_xxs', 'nextvit_small', 'maxvit_tiny_tf_224', 'fastvit_sa12']);
const INTEGER_KERNELS = new Set(['QLinearMatMul', 'QGemm', 'MatMulInteger']);

/** MultiHeadAttention nodes of an optimized model, and how many read q, k and v from an integer kernel (through Split, Reshape, the bias Add, DequantizeLinear). */
function attentionFeeds(path: string): { mha: number; quantized: number } {
  const nodes = onnx.ModelProto.decode(readFileSync(path)).graph!.node!;
  const producer = new Map<string, (typeof nodes)[number]>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const fromInteger = (v: string): boolean => {
    for (let p = producer.get(v); p; p = producer.get(p.input![0]!)) {
      if (INTEGER_KERNELS.has(p.opType!)) return true;
      if (!['Split', 'Reshape', 'Add', 'DequantizeLinear'].includes(p.opType!)) return false;
    }
    return false;
  };
  const mha = nodes.filter((n) => n.opType === 'MultiHeadAttention');
  return { mha: mha.length, quantized: mha.filter((n) => n.input!.slice(0, 3).every(fromInteger)).length };
}

describe.each(MODELS)('int8 %s', (model) => {
  it('meets Pearson ≥ 0.99 on every held-out photo on cpu and wasm; onnxruntime fuses integer kernels', async () => {
    const r = exportModel(model, { checkpoint: referenceCheckpoint(model), target: 'ort', ...INT8_SOURCE }); // as `vitx export --dtype int8` does
    const x = r.graph.inputs[0]!;
    const chw = x.shape.slice(1) as [number, number, number];
    const cfg = preprocessCfg(model, [chw[1], chw[2]]);
    const cal = loadSamples(join(ROOT, 'fixtures/images/calibration'), chw, cfg, 'calibration');
    const ev = loadSamples(join(ROOT, 'fixtures/images/evaluation'), chw, cfg, 'evaluation');
    expect(cal.names.some((n) => ev.names.includes(n))).toBe(false);
    const q = await quantizeOnnx(r.bytes, cal);
    expect(q.stats.weights).toBeGreaterThan(0);
    // sessions as deployed (onnxruntime's optimizations on: the fused integer kernels run)
    const opt = join(dir, `${model}.ort-optimized.onnx`);
    const [ref, cpu, web] = [await openTimed(r.bytes, 'cpu', { noOptimizations: true }), await openTimed(q.bytes, 'cpu', { optimizedModelFilePath: opt }), await openTimed(q.bytes, 'wasm')];
    try {
      for (let i = 0; i < ev.data.length; i++) {
        const feeds = feedFor(r.graph, ev, i);
        const a = (await ref.infer(feeds))['logits']!.data as Float32Array;
        const b = (await cpu.infer(feeds))['logits']!.data as Float32Array;
        const c = (await web.infer(feeds))['logits']!.data as Float32Array;
        expect(compareRow(ev.names[i]!, a, b, true).pearson, `${model} ${ev.names[i]} cpu`).toBeGreaterThanOrEqual(0.99);
        expect(compareRow(ev.names[i]!, a, c, true).pearson, `${model} ${ev.names[i]} wasm`).toBeGreaterThanOrEqual(0.99);
      }
    } finally {
      for (const s of [ref, cpu, web]) await s.release();
    }
    const ops = opTypes(opt);
    const fused = (ops.get('QLinearConv') ?? 0) + (ops.get('QLinearMatMul') ?? 0) + (ops.get('MatMulInteger') ?? 0) + (ops.get('ConvInteger') ?? 0);
    expect(fused, JSON.stringify([...ops])).toBeGreaterThan(0);
    // the attention's q/k/v projections are still integer kernels in front of the float score path
    const att = attentionFeeds(opt);
    expect(att.mha > 0).toBe(ATTENTION.has(model));
    expect(att.quantized).toBe(att.mha);
  }, 120_000);
});
