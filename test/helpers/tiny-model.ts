/**
 * A small synthetic vision model (conv stem, depthwise conv + BN + SiLU, attention over tokens with
 * LayerNorm / Softmax / GELU, pooled classifier) with seeded weights: the ops the model families
 * use, cheap enough for SwiftShader WebGPU.
 */
import { avgPool2d, batchNorm, conv2d, layerNorm, linear, toTokens } from '../../src/builders/layers.js';
import { Builder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import { toOnnx } from '../../src/pipeline.js';
import { initForTest } from './graphs.js';

export function tinyVisionGraph(size = 16, batch: number | 'N' = 1): Graph {
  const b = Builder.create('tiny_vit');
  const x = b.input('input', { dtype: 'float32', shape: [batch, 3, size, size] });
  let y = conv2d(b.child('stem', 'conv'), x, { out: 16, k: 3, stride: 2, pad: 1 });
  y = b.relu(batchNorm(b.child('stem', 'bn'), y));
  const dw = conv2d(b.child('block', 'dw'), y, { out: 16, k: 3, groups: 16, dilation: 1 });
  y = b.add(y, b.silu(batchNorm(b.child('block', 'bn'), dw)));
  y = avgPool2d(b, y, { k: 2, stride: 2 });
  const s = size / 4;
  let t = layerNorm(b.child('attn', 'norm'), toTokens(b, y), 1e-5); // [B, s², 16]
  const q = linear(b.child('attn', 'q'), t, 16), k = linear(b.child('attn', 'k'), t, 16), v = linear(b.child('attn', 'v'), t, 16);
  const att = b.softmax(b.mul(b.matmul(q, b.transpose(k, [0, 2, 1])), b.scalar(0.25, 'scale')));
  t = b.add(t, linear(b.child('attn', 'proj'), b.matmul(att, v), 16));
  t = b.add(t, linear(b.child('mlp', 'fc2'), b.gelu(linear(b.child('mlp', 'fc1'), t, 32)), 16));
  const pooled = b.reduceMean(t, [1], false); // [B, 16]
  const logits = linear(b.child('head'), pooled, 10);
  b.g.outputs.push(logits);
  b.g.renameValue(logits, 'logits');
  initForTest(b.g);
  void s;
  return b.g;
}

export function tinyVisionOnnx(size = 16, batch: number | 'N' = 1): Uint8Array {
  return toOnnx(tinyVisionGraph(size, batch), { opset: 17 });
}
