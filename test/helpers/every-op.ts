/**
 * A small graph that uses every op vitx emits, each in the IR forms the builders may use
 * (attribute or input axes, Pad with an axes input, AveragePool with explicit dilations …), with
 * seeded weights. Opset, fp16 and target tests run it.
 */
import { avgPool2d, batchNorm, conv2d, convTranspose2d, layerNorm, linear } from '../../src/builders/layers.js';
import { Builder } from '../../src/graph/builder.js';
import { attr, type Graph } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { initForTest } from './graphs.js';

export function everyOpGraph(batch: number | 'N' = 2): Graph {
  const b = Builder.create('every_op');
  const x = b.input('input', { dtype: 'float32', shape: [batch, 4, 8, 8] });
  // convolutions, BatchNorm, pools, ConvTranspose, Resize
  let c = b.relu(batchNorm(b.child('bn'), conv2d(b.child('conv'), x, { out: 8, k: 3 })));
  const pooled = b.op('AveragePool', [c], {
    kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), pads: attr.ints([0, 0, 0, 0]),
    dilations: attr.ints([1, 1]), ceil_mode: attr.int(0), count_include_pad: attr.int(0),
  });
  const up = convTranspose2d(b.child('up'), pooled, { out: 8, k: 2, stride: 2, groups: 8, bias: true });
  const resized = b.op('Resize', [avgPool2d(b, c, { k: 2, stride: 2 }), null, b.constant('scales', Tensor.f32([4], [1, 1, 2, 2]))], {
    mode: attr.string('linear'), coordinate_transformation_mode: attr.string('half_pixel'),
  });
  const maxp = b.op('MaxPool', [c], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([1, 1]), pads: attr.ints([1, 1, 1, 1]), dilations: attr.ints([1, 1]) });
  c = b.add(b.add(up, maxp), resized);
  // Pad with an axes input (opset-18 form), then a strided Slice back
  const padded = b.op('Pad', [c, b.ints([1, 2, 1, 2], 'pads'), b.scalar(0.25, 'pad_value'), b.ints([2, 3], 'pad_axes')], { mode: attr.string('constant') });
  c = b.slice(padded, [1, 2], [9, 10], [2, 3]);
  // elementwise and activations
  const g1 = b.gelu(c, 'none'), g2 = b.gelu(c, 'tanh');
  const act = b.add(b.mul(g1, b.sigmoid(c)), b.sub(b.tanh(g2), b.op('Erf', [c])));
  const sq = b.op('Sqrt', [b.add(b.op('Abs', [act]), b.scalar(1, 'one'))]);
  c = b.div(act, sq);
  // tokens: LayerNorm, attention with Softmax, Split, Squeeze / Unsqueeze in both forms
  const n = batch;
  const tok = b.transpose(b.reshape(c, [n, 8, 64]), [0, 2, 1]);
  const t = layerNorm(b.child('ln'), tok, 1e-5);
  const qkv = linear(b.child('qkv'), t, 24);
  const [q, k, v] = b.split(qkv, [8, 8, 8], 2);
  const scores = b.softmax(b.mul(b.matmul(q!, b.transpose(k!, [0, 2, 1])), b.scalar(0.35, 'scale')));
  let a = b.matmul(scores, v!);
  a = b.op('Unsqueeze', [a], { axes: attr.ints([1]) });
  a = b.op('Squeeze', [a, b.ints([1], 'sq_axes')]);
  a = b.op('Unsqueeze', [a, b.ints([3], 'unsq_axes')]);
  a = b.op('Squeeze', [a], { axes: attr.ints([3]) });
  // reductions in attribute form, Concat, Gather, Expand, Cast, GlobalAveragePool, Flatten + Gemm
  const mean = b.reduceMean(a, [1], true);
  const sum = b.op('ReduceSum', [a], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const max = b.op('ReduceMax', [a], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const stats = b.concat([mean, b.mul(sum, b.scalar(1 / 64, 'inv')), max], 1);
  const picked = b.op('Gather', [stats, b.constant('idx', Tensor.i64([2, 0]))], { axis: attr.int(1) });
  const half = b.op('Cast', [b.op('Cast', [picked], { to: attr.int(10) })], { to: attr.int(1) });
  const row = b.constant('row', Tensor.f32([1, 1, 8], [0, 1, 2, 3, 4, 5, 6, 7].map((i) => i / 8)));
  const spread = b.op('Expand', [row, b.ints([1, 2, 8], 'expand')]);
  const feat = b.add(half, spread);
  const gap = b.globalAvgPool(b.reshape(b.transpose(a, [0, 2, 1]), [n, 8, 8, 8]));
  const head = linear(b.child('head'), b.flatten(gap), 5);
  b.g.outputs.push(head, feat);
  b.g.renameValue(head, 'logits');
  b.g.renameValue(feat, 'stats');
  initForTest(b.g);
  return b.g;
}
