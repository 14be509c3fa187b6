/**
 * Opt-in pre- and postprocessing inside the exported graph (`--preprocess`, `--postprocess`).
 *
 * Preprocessing replaces the float input `input` [N,3,H,W] with `image`, uint8 RGB 0…255 of the
 * export size in NHWC ([N,H,W,3], the layout decoders and canvases produce) or NCHW:
 *
 *   image ─(Transpose 0,3,1,2)─► ─Cast(float)─► x ─Sub(255·mean)─► ─Mul(1/(255·std))─► (model)
 *         = (x/255 − mean)/std, timm's ToTensor + Normalize
 *
 * then `normalize-into-conv` folds the scale into the first conv's weights (exact with zero
 * padding) and the shift into its bias only when that conv pads nothing (see that pass for why).
 * What could not be folded stays as ops; the metadata says which (`vitx.preprocess`).
 *
 * Postprocessing replaces the output `logits` [N,C] with `probabilities` = Softmax(logits) or with
 * `scores`, `indices` (int64) = TopK(Softmax(logits), K): the K largest probabilities, sorted
 * descending (ties: the lower class index first, as onnxruntime's TopK does).
 */
import { Builder } from '../graph/builder.js';
import { attr, type Graph } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { parseOnnx } from '../onnx/parse.js';
import { serialize } from '../onnx/serialize.js';
import { deadCode } from '../passes/dce.js';
import { rulePass } from '../passes/driver.js';
import { scaleIntoConv, shiftIntoConv } from '../passes/normalize-into-conv.js';

export interface Preprocess {
  layout: 'nhwc' | 'nchw';
  /** Default: what the graph records (`vitx.mean` / `vitx.std`: the pretrained tag's, set by prepareModel). */
  mean?: readonly number[];
  std?: readonly number[];
}

function recorded(g: Graph, key: string): number[] {
  const v = (g.metadata.get(key) ?? '').split(',').map(Number);
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) throw new WrapError(`--preprocess needs the model's ${key} (three numbers), the graph has '${g.metadata.get(key) ?? ''}'`);
  return v;
}

export type Postprocess = { kind: 'softmax' } | { kind: 'topk'; k: number };

/** A request the graph cannot satisfy (postprocessing without logits, K above the class count). */
export class WrapError extends Error {}

const fmt = (xs: readonly number[]) => xs.join(',');

/** Adds the preprocessing ops; `fold` (default true; false for `--no-optimize`) folds them into the first conv. */
export function addPreprocess(g: Graph, p: Preprocess, fold = true): void {
  const x = g.inputs[0];
  if (!x || g.inputs.length !== 1 || x.dtype !== 'float32' || x.shape.length !== 4 || x.shape[1] !== 3) {
    throw new WrapError('--preprocess needs a graph with one float32 [N,3,H,W] image input');
  }
  const [n, , h, w] = x.shape;
  const image = g.addInput('image', { dtype: 'uint8', shape: p.layout === 'nhwc' ? [n!, h!, w!, 3] : [n!, 3, h!, w!] });
  const mean = p.mean ?? recorded(g, 'vitx.mean'), std = p.std ?? recorded(g, 'vitx.std');
  const b = new Builder(g, 'preprocess');
  let y = p.layout === 'nhwc' ? b.transpose(image, [0, 3, 1, 2]) : image;
  y = b.op('Cast', [y], { to: attr.int(1) }, 'to_float');
  if (mean.some((m) => m !== 0)) y = b.sub(y, b.constant('mean_255', Tensor.f32([1, 3, 1, 1], mean.map((m) => 255 * m))), 'sub_mean');
  y = b.mul(y, b.constant('inv_std_255', Tensor.f32([1, 3, 1, 1], std.map((s) => 1 / (255 * s)))), 'scale');
  x.replaceAllUsesWith(y);
  g.inputs.splice(g.inputs.indexOf(x), 1);
  g.inputs.splice(g.inputs.indexOf(image), 1);
  g.inputs.unshift(image);
  const stats = fold ? rulePass('fold-preprocess', [scaleIntoConv, shiftIntoConv]).run(g, {}) : { counts: {} as Record<string, number> };
  if (fold) deadCode.run(g, {});
  const left = [...g.nodes].filter((nd) => nd.name.startsWith('preprocess/') && (nd.op === 'Sub' || nd.op === 'Mul')).map((nd) => nd.op);
  const folded = [stats.counts['scale-into-conv'] ? 'scale' : '', stats.counts['shift-into-conv'] ? 'mean' : ''].filter(Boolean);
  g.metadata.set('vitx.preprocess', `uint8 RGB ${p.layout.toUpperCase()} 0-255, (x/255 - mean)/std; ${folded.length ? `${folded.join(' and ')} folded into the first conv` : 'nothing folded'}${left.length ? `, ${left.join(' and ')} kept as ops` : ''}`);
  g.metadata.set('vitx.mean', fmt(mean));
  g.metadata.set('vitx.std', fmt(std));
  g.metadata.set('vitx.layout', `${p.layout.toUpperCase()}, RGB, uint8`);
}

export function addPostprocess(g: Graph, p: Postprocess): void {
  const logits = g.outputs.find((v) => v.name === 'logits');
  if (!logits || g.outputs.length !== 1 || logits.shape.length !== 2) throw new WrapError('--postprocess needs a classifier output (logits [N, classes])');
  const classes = logits.shape[1] as number;
  const b = new Builder(g, 'postprocess');
  const probs = b.softmax(logits, -1);
  g.outputs.length = 0;
  if (p.kind === 'softmax') {
    g.outputs.push(probs);
    g.renameValue(probs, 'probabilities');
    g.metadata.set('vitx.postprocess', 'softmax');
    return;
  }
  if (p.k > classes) throw new WrapError(`--postprocess topk=${p.k}: the model has ${classes} classes`);
  const top = b.node('TopK', [probs, b.ints([p.k], 'k')], { axis: attr.int(-1), largest: attr.int(1), sorted: attr.int(1) }, { name: 'TopK' });
  const [scores, indices] = top.outputs as [typeof probs, typeof probs];
  g.outputs.push(scores, indices);
  g.renameValue(scores, 'scores');
  g.renameValue(indices, 'indices');
  g.metadata.set('vitx.postprocess', `topk=${p.k} of softmax`);
}

/**
 * The wraps applied to a written file (`--dtype int8`: after quantization, so that calibration and
 * the fidelity report see the float input and logits the quantizer works on). The normalization is
 * not folded: the first conv's weights are int8 behind a DequantizeLinear, and the input's
 * QuantizeLinear sits between; Sub and Mul stay float ops before it, so the quantized graph gets
 * exactly the tensor it was calibrated on.
 */
export function wrapOnnx(bytes: Uint8Array, o: { preprocess?: Preprocess; postprocess?: Postprocess }): { bytes: Uint8Array; graph: Graph } {
  const { graph: g, opset } = parseOnnx(bytes);
  if (o.preprocess) addPreprocess(g, o.preprocess, false);
  if (o.postprocess) addPostprocess(g, o.postprocess);
  return { bytes: serialize(g, { opset }), graph: g };
}
