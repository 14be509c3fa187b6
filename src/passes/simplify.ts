/**
 * Layout clean-up rules, each exact:
 *
 *   identity:        Identity(x), Dropout(x) (inference), Reshape(x) to x's own shape,
 *                    Transpose(x) with the identity permutation            → x
 *   reshape-chain:   Reshape(Reshape(x, s1), s2)                           → Reshape(x, s2)
 *   transpose-chain: Transpose(Transpose(x, p1), p2)                       → Transpose(x, p1∘p2)
 *
 * A chain rule fires only when the inner result has no other use.
 */
import type { Node, Value } from '../graph/ir.js';
import { attr } from '../graph/ir.js';
import { producedBy } from '../graph/query.js';
import { sameDim } from '../graph/shapes.js';
import { fail, type Fail, type Rule } from './driver.js';

function sameShape(a: Value, b: Value): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => sameDim(d, b.shape[i]!));
}

export const removeIdentity: Rule<{ node: Node }> = {
  name: 'remove-identity',
  ops: ['Identity', 'Dropout', 'Reshape', 'Transpose'],
  match(node): { node: Node } | Fail {
    if (node.outputs.length !== 1 && node.op !== 'Dropout') return fail('more than one output');
    if (node.op === 'Dropout' && node.outputs.slice(1).some((o) => o.uses.size > 0)) return fail('Dropout mask is used');
    if (node.op === 'Reshape' && !sameShape(node.input(0), node.outputs[0]!)) return fail('reshape changes the shape');
    if (node.op === 'Transpose' && node.attrInts('perm').some((p, i) => p !== i)) return fail('not the identity permutation');
    if (node.outputs[0]!.isGraphOutput && node.input(0).isGraphInput) return fail('would connect a graph input to an output');
    return { node };
  },
  rewrite({ node }) {
    return { replace: [[node.outputs[0]!, node.input(0)]] };
  },
};

export const reshapeChain: Rule<{ outer: Node; inner: Node }> = {
  name: 'reshape-chain',
  ops: ['Reshape'],
  match(outer): { outer: Node; inner: Node } | Fail {
    const inner = producedBy(outer.input(0), 'Reshape');
    if (!inner) return fail('input is not a Reshape');
    if (!outer.input(0).hasSingleUse()) return fail('inner reshape has other uses');
    const out = outer.output.shape;
    if (out.filter((d) => typeof d !== 'number').length > 1) return fail('more than one symbolic dimension');
    return { outer, inner };
  },
  rewrite({ outer, inner }, b) {
    const target = outer.output.shape.map((d) => (typeof d === 'number' ? d : -1));
    return { replace: [[outer.output, b.node('Reshape', [inner.input(0), b.ints(target)], {}, { name: '' }).output]] };
  },
};

export const transposeChain: Rule<{ outer: Node; inner: Node }> = {
  name: 'transpose-chain',
  ops: ['Transpose'],
  match(outer): { outer: Node; inner: Node } | Fail {
    const inner = producedBy(outer.input(0), 'Transpose');
    if (!inner) return fail('input is not a Transpose');
    if (!outer.input(0).hasSingleUse()) return fail('inner transpose has other uses');
    return { outer, inner };
  },
  rewrite({ outer, inner }, b) {
    const p1 = inner.attrInts('perm'), p2 = outer.attrInts('perm');
    const perm = p2.map((i) => p1[i]!);
    return { replace: [[outer.output, b.node('Transpose', [inner.input(0)], { perm: attr.ints(perm) }, { name: '' }).output]] };
  },
};

export const SIMPLIFY_RULES = [removeIdentity, reshapeChain, transposeChain];
