/**
 * channels-last-tokens (`--target ort`): the NCHW map ↔ token conversions written with the 4-D
 * Transpose to / from channels-last, so that onnxruntime's NCHWc layout transformer absorbs them
 * into its ReorderOutput / ReorderInput (which read and write NHWC directly) instead of running a
 * separate Transpose — and, when the tokens have several readers (EdgeViT's residual and its
 * sampled-token Slice), instead of transposing the same map once per reader.
 *
 *   to tokens:    x[N,C,H,W] ─Reshape[N,C,H·W]─Transpose(0,2,1)─►   ⇒   x ─Transpose(0,2,3,1)─Reshape[N,H·W,C]─►
 *   from tokens:  t[N,H·W,C] ─Transpose(0,2,1)─Reshape[N,C,H,W]─►   ⇒   t ─Reshape[N,H,W,C]─Transpose(0,3,1,2)─►
 *
 * Both sides move element (n, c, h, w) ↔ token (n, h·W + w), channel c: the same permutation, exact.
 * Not matched: symbolic dims, a Reshape that is not exactly the H·W merge / split, values with other
 * readers in between.
 */
import type { Node, Value } from '../graph/ir.js';
import { fail, type Fail, type Rule } from './driver.js';

interface ChannelsLast { node: Node; into: 'tokens' | 'map'; x: Value; n: number; c: number; h: number; w: number }

const isStatic = (v: Value) => v.shape.every((d) => typeof d === 'number');
const dims = (v: Value) => v.shape as number[];
const isSwap = (t: Node) => t.op === 'Transpose' && !t.domain && t.input(0).shape.length === 3 && t.attrInts('perm', [2, 1, 0]).join() === '0,2,1';

export const channelsLastTokens: Rule<ChannelsLast> = {
  name: 'channels-last-tokens',
  ops: ['Transpose', 'Reshape'],
  match(node): ChannelsLast | Fail {
    if (node.domain || !isStatic(node.output)) return fail('not a static standard op');
    if (node.op === 'Transpose') { // to tokens: the Reshape [N,C,H,W] → [N,C,H·W] before it
      if (!isSwap(node)) return fail('not a 3-D Transpose(0,2,1)');
      const r = node.input(0).producer;
      if (!r || r.op !== 'Reshape' || r.domain || !r.output.hasSingleUse()) return fail('not after a Reshape read only here');
      const x = r.input(0);
      if (!isStatic(x) || x.shape.length !== 4) return fail('the Reshape does not read a static NCHW map');
      const [n, c, h, w] = dims(x);
      if (dims(r.output).join() !== [n, c, h! * w!].join()) return fail('the Reshape is not [N, C, H·W]');
      return { node, into: 'tokens', x, n: n!, c: c!, h: h!, w: w! };
    }
    // from tokens: Reshape [N,H·W,C] → [N,C,H,W] after the Transpose
    const t = node.input(0).producer;
    if (!t || !isSwap(t) || !t.output.hasSingleUse()) return fail('not after a Transpose(0,2,1) read only here');
    if (node.output.shape.length !== 4) return fail('not a Reshape to a 4-D map');
    const [n, c, h, w] = dims(node.output);
    const x = t.input(0);
    if (!isStatic(x) || dims(x).join() !== [n, h! * w!, c].join()) return fail('the tokens are not [N, H·W, C]');
    return { node, into: 'map', x, n: n!, c: c!, h: h!, w: w! };
  },
  rewrite(m, b) {
    const { n, c, h, w } = m;
    const y = m.into === 'tokens'
      ? b.reshape(b.transpose(m.x, [0, 2, 3, 1]), [n, h * w, c])
      : b.transpose(b.reshape(m.x, [n, h, w, c]), [0, 3, 1, 2]);
    return { replace: [[m.node.output, y]] };
  },
};
