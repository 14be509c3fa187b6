/**
 * split-transpose: a rank ≥ 5 Transpose that moves the innermost axis (MobileViT's unfold and fold,
 * [B, d, nh, 2, nw, 2] ↔ [B, 2, 2, nh, nw, d]) is written as two cheap steps, a permutation of whole
 * rows (the last axis stays: contiguous copies) and one axis moved across the rest as a 3-D
 * [A, M, K] → [A, K, M] Transpose. Which step comes first depends on which axis is long:
 *
 *   F (the input's last axis, size K, moves inwards):  rows permuted with it kept last, then it moves
 *   U (an input axis m moves to the end):               m moves to the end, then rows are permuted
 *
 * F is used when the input's last axis is longer than the one that becomes last (fold: d vs 2), U
 * otherwise (unfold). Both are the same permutation of elements as the original, so exact.
 *
 *   Before:  x[1,64,16,2,16,2] ─Transpose(0,3,5,2,4,1)─►
 *   After:   x ─Reshape[1,64,1024]─Transpose(0,2,1)─Reshape[1,16,2,16,2,64]─Transpose(0,2,4,1,3,5)─►
 */
import type { Node } from '../graph/ir.js';
import { fail, type Fail, type Rule } from './driver.js';

interface SplitTranspose { node: Node; shape: number[]; perm: number[]; kind: 'F' | 'U' }

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const isIdentity = (p: readonly number[]) => p.every((x, i) => x === i);

/** Minimum length (elements) of the contiguous rows the permutation copies: MobileViT v2 (rows of nw ≤ 16) measured 1.12× slower split. */
const MIN_ROW = 32;

export const splitTranspose: Rule<SplitTranspose> = {
  name: 'split-transpose',
  ops: ['Transpose'],
  match(node): SplitTranspose | Fail {
    const x = node.input(0);
    if (node.domain || x.shape.length < 5 || !x.shape.every((d) => typeof d === 'number')) return fail('not a static rank ≥ 5 Transpose');
    const shape = x.shape as number[], r = shape.length;
    const perm = [...node.attrInts('perm', [...shape.keys()].reverse())];
    if (perm[r - 1] === r - 1) return fail('the last axis stays');
    const a = r - 1, m = perm[r - 1]!;
    const kind = shape[a]! >= shape[m]! ? 'F' : 'U';
    if (Math.max(shape[a]!, shape[m]!) < MIN_ROW) return fail('rows too short to gain');
    if (kind === 'F' && isIdentity([...perm.filter((i) => i !== a), a])) return fail('already one axis moved');
    if (kind === 'U' && perm.slice(0, -1).every((v, i, s) => i === 0 || v > s[i - 1]!)) return fail('already one axis moved');
    return { node, shape, perm, kind };
  },
  rewrite(mt, b) {
    const { node, shape, perm, kind } = mt;
    const r = shape.length, a = r - 1;
    const out = perm.map((i) => shape[i]!);
    let y = node.input(0);
    if (kind === 'F') {
      const q = [...perm.filter((i) => i !== a), a];
      const s1 = q.map((i) => shape[i]!);
      const j = perm.indexOf(a);
      y = b.transpose(y, q);
      y = b.reshape(b.transpose(b.reshape(y, [prod(s1.slice(0, j)), prod(s1.slice(j, r - 1)), s1[r - 1]!]), [0, 2, 1]), out);
    } else {
      const m = perm[r - 1]!;
      const s1 = [...shape.slice(0, m), ...shape.slice(m + 1), shape[m]!];
      y = b.reshape(b.transpose(b.reshape(y, [prod(shape.slice(0, m)), shape[m]!, prod(shape.slice(m + 1))]), [0, 2, 1]), s1);
      const q2 = [...perm.slice(0, -1).map((i) => (i > m ? i - 1 : i)), r - 1];
      y = b.transpose(y, q2);
    }
    return { replace: [[node.output, y]] };
  },
};
