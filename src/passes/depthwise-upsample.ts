/**
 * depthwise-upsample: a depthwise ConvTranspose whose kernel equals its stride (no overlap, no
 * padding) is a per-channel broadcast product, written channels-last so that the layout ops around
 * it cancel against the token layout it sits in (EdgeViT's LocalProp, between attention on
 * [B, h·w, C] tokens and a LayerNorm on [B, H·W, C] tokens).
 *
 *   y[n, c, k₁i + a, k₂j + b] = x[n, c, i, j] · W[c, 0, a, b] + bias[c]      (k = stride, group = C)
 *
 * so with x channels-last, x′[n, i, 1, j, 1, c] and W′[1, 1, a, 1, b, c] = W[c, 0, a, b]:
 *
 *   y′ = x′ · W′ + bias   [n, h, k₁, w, k₂, C]  = [n, H, W, C] channels-last, row-major.
 *
 *   Before:  x[N,C,h,w] ─ConvTranspose(W, k = s, group = C)─► y[N,C,H,W]
 *   After:   x ─Transpose(0,2,3,1)─Reshape[N,h,1,w,1,C]─Mul(W′)─Add(bias)─Reshape[N,H,W,C]─Transpose(0,3,1,2)─► y
 *
 * cancel-layout then merges the Transposes with the token ↔ map chains before and after. One
 * product and one sum per element, as in the ConvTranspose (whose K = 1 GEMM adds nothing else).
 * Not matched: overlapping or padded kernels, dilation, output padding / shape, auto_pad, a
 * non-depthwise group, a weight that is not a constant, symbolic shapes.
 */
import type { Node } from '../graph/ir.js';
import { fail, type Fail, type Rule } from './driver.js';

interface DepthwiseUpsample { node: Node; k: [number, number] }

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export const depthwiseUpsample: Rule<DepthwiseUpsample> = {
  name: 'depthwise-upsample',
  ops: ['ConvTranspose'],
  match(node): DepthwiseUpsample | Fail {
    if (node.domain || node.output.dtype !== 'float32') return fail('not a float32 ConvTranspose');
    const x = node.input(0), w = node.input(1), bias = node.inputs[2] ?? null;
    if (x.shape.length !== 4 || !x.shape.every((d) => typeof d === 'number')) return fail('input is not a static [N, C, h, w]');
    const c = x.shape[1] as number;
    if (!w.isConstant || !same(w.shape as number[], [c, 1, w.shape[2] as number, w.shape[3] as number])) return fail('weight is not a constant [C, 1, k, k]');
    if (bias && (!bias.isConstant || bias.shape.length !== 1)) return fail('bias is not a constant [C]');
    if (node.attrInt('group', 1) !== c) return fail('not depthwise');
    const k: [number, number] = [w.shape[2] as number, w.shape[3] as number];
    if (!same(node.attrInts('kernel_shape', k), k) || !same(node.attrInts('strides', [1, 1]), k)) return fail('kernel ≠ stride');
    if (!node.attrInts('pads', [0, 0, 0, 0]).every((p) => p === 0) || !node.attrInts('dilations', [1, 1]).every((d) => d === 1)) return fail('padded or dilated');
    if (!node.attrInts('output_padding', [0, 0]).every((p) => p === 0) || node.attrs['output_shape']) return fail('output padding or shape');
    if (node.attrs['auto_pad'] && node.attrString('auto_pad', 'NOTSET') !== 'NOTSET') return fail('auto_pad');
    return { node, k };
  },
  rewrite(m, b) {
    const x = m.node.input(0), w = m.node.input(1), bias = m.node.inputs[2] ?? null;
    const [n, c, h, wd] = x.shape as number[];
    const [k1, k2] = m.k;
    const x6 = b.reshape(b.transpose(x, [0, 2, 3, 1]), [n!, h!, 1, wd!, 1, c!]);
    const w6 = b.reshape(b.transpose(w, [1, 2, 3, 0]), [1, 1, k1, 1, k2, c!]);
    let y = b.mul(x6, w6, 'scale');
    if (bias) y = b.add(y, bias, 'bias');
    const out = b.transpose(b.reshape(y, [n!, h! * k1, wd! * k2, c!]), [0, 3, 1, 2]);
    return { replace: [[m.node.output, out]], names: [[w6, w.name]] };
  },
};
