/**
 * rank-reduction: rewrites a Transpose of rank > `maxRank` (MaxViT's 6-D window and grid
 * partitions) as ≤ 4-D Reshape/Transpose steps. Pure data movement, so results are bit-identical.
 *
 *   1. Axes of size 1 are dropped, and input axes that stay adjacent and in order in the output
 *      are merged: a window partition (B, H/w, w, W/w, w, C) with perm (0,1,3,2,4,5) becomes the
 *      4-D view (B·H/w, w, W/w, w·C) with perm (0,2,1,3).
 *   2. If more than `maxRank` groups remain (a grid partition (B, g, H/g, g, W/g, C) with perm
 *      (0,2,4,1,3,5) has six), the permutation is built left to right: the next wanted run of
 *      groups is moved in front of the groups not yet placed. Each move is one Transpose of the
 *      view [placed, skipped, moved, rest] with perm (0,2,1,3), so at most 4-D:
 *        B g1 a g2 b C  →  B a | g1 g2 b C  →  B a b | g1 g2 C        (two 4-D transposes)
 *   3. A final Reshape restores the original output shape; `simplify`'s reshape-chain rule then
 *      merges the high-rank Reshapes before and after into their neighbours.
 *
 * Symbolic dimensions are allowed in one group (the batch); a view needing two is not rewritten.
 */
import type { Builder } from '../graph/builder.js';
import type { Dim, Node, Value } from '../graph/ir.js';
import { dimMul } from '../graph/shapes.js';
import { fail, type Fail, type Rule } from './driver.js';

interface Plan { groups: Dim[][]; perm: number[] }

/** Groups of input axes (size-1 axes dropped, in-order runs merged) and the group permutation. */
export function groupAxes(shape: readonly Dim[], perm: readonly number[]): Plan {
  const keep = perm.filter((a) => shape[a] !== 1);
  const runs: number[][] = [];
  for (const a of keep) {
    const last = runs[runs.length - 1];
    // adjacent in the input once size-1 axes are ignored
    const prev = last?.[last.length - 1];
    const between = prev === undefined ? null : shape.slice(prev + 1, a);
    if (last && prev! < a && between!.every((d) => d === 1)) last.push(a); else runs.push([a]);
  }
  const order = [...runs].sort((x, y) => x[0]! - y[0]!);
  return { groups: order.map((r) => r.map((a) => shape[a]!)), perm: runs.map((r) => order.indexOf(r)) };
}

const product = (dims: readonly Dim[]): Dim => dims.reduce<Dim>((acc, d) => dimMul(acc, d), 1);

/** Steps (view shape, 4-D-at-most perm) that realize `perm` over groups of sizes `sizes`. */
export function moveSteps(sizes: readonly Dim[], perm: readonly number[]): { view: Dim[]; perm: number[] }[] {
  const cur = sizes.map((_, i) => i);
  const steps: { view: Dim[]; perm: number[] }[] = [];
  for (let k = 0; k < perm.length; k++) {
    if (cur[k] === perm[k]) continue;
    const j = cur.indexOf(perm[k]!);
    let len = 1;
    while (j + len < cur.length && cur[j + len] === perm[k + len]) len++;
    const parts = [cur.slice(0, k), cur.slice(k, j), cur.slice(j, j + len), cur.slice(j + len)];
    // the view holds the non-empty parts; its transpose swaps parts 1 and 2
    const present = [0, 1, 2, 3].filter((q) => parts[q]!.length > 0);
    const view = present.map((q) => product(parts[q]!.map((g) => sizes[g]!)));
    steps.push({ view, perm: [0, 2, 1, 3].filter((q) => present.includes(q)).map((q) => present.indexOf(q)) });
    cur.splice(0, cur.length, ...parts[0]!, ...parts[2]!, ...parts[1]!, ...parts[3]!);
  }
  return steps;
}

function staticOrOneSymbol(dims: readonly Dim[]): boolean {
  return dims.filter((d) => typeof d !== 'number').length <= 1;
}

export function reduceTransposeRank(maxRank = 5): Rule<{ node: Node; plan: Plan }> {
  return {
    name: 'rank-reduction',
    ops: ['Transpose'],
    match(node): { node: Node; plan: Plan } | Fail {
      const x = node.input(0);
      if (x.shape.length <= maxRank && node.output.shape.length <= maxRank) return fail(`rank ${x.shape.length} ≤ ${maxRank}`);
      const perm = node.attrInts('perm', [...x.shape.keys()].reverse());
      const plan = groupAxes(x.shape, perm);
      if (plan.groups.length === 0) return fail('every axis has size 1');
      const sizes = plan.groups.map(product);
      if (!staticOrOneSymbol(sizes)) return fail('more than one symbolic group');
      return { node, plan };
    },
    rewrite({ node, plan }, b: Builder) {
      const sizes = plan.groups.map(product);
      let y: Value = node.input(0);
      if (plan.groups.length <= maxRank) {
        y = b.reshape(y, sizes);
        if (plan.perm.some((p, i) => p !== i)) y = b.transpose(y, plan.perm);
      } else {
        for (const s of moveSteps(sizes, plan.perm)) y = b.transpose(b.reshape(y, s.view), s.perm);
      }
      return { replace: [[node.output, b.reshape(y, node.output.shape)]] };
    },
  };
}
