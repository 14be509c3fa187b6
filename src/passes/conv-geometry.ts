/**
 * What the reparameterization rules need to know about a 2-D Conv: kernel, stride, padding,
 * dilation, groups, and whether its weights may be rewritten. Shared by conv-affine,
 * identity-to-conv and merge-parallel-convs.
 *
 * Sampling window: output position o of a conv with kernel k, stride s, leading pad p (dilation 1)
 * reads input positions o·s − p … o·s − p + k − 1. Two convs with equal stride "line up" when one
 * window contains the other for every o, i.e. −p₁ ≤ −p₂ and −p₂ + k₂ ≤ −p₁ + k₁ per axis; the
 * smaller kernel then sits in the larger one at offset p₁ − p₂ (models-spec rules 5–6).
 */
import type { Node, Value } from '../graph/ir.js';
import { ownedConstant } from '../graph/query.js';
import { sameDim } from '../graph/shapes.js';

export interface ConvGeometry {
  /** [kh, kw] */
  k: [number, number];
  strides: [number, number];
  /** Leading pads [top, left] and trailing pads [bottom, right]. */
  begin: [number, number];
  end: [number, number];
  dilations: [number, number];
  group: number;
  out: number;
}

/** Geometry of a 2-D Conv with a static weight shape and explicit padding, else a reason. */
export function convGeometry(conv: Node): ConvGeometry | string {
  const w = conv.input(1);
  if (w.shape.length !== 4 || w.shape.some((d) => typeof d !== 'number')) return 'not a 2-D conv with a static weight shape';
  const autoPad = conv.attrs['auto_pad'];
  if (autoPad && autoPad.kind === 'string' && autoPad.value !== 'NOTSET') return `auto_pad ${autoPad.value}`;
  const [o, , kh, kw] = w.shape as number[];
  const s = conv.attrInts('strides', [1, 1]);
  const p = conv.attrInts('pads', [0, 0, 0, 0]);
  const d = conv.attrInts('dilations', [1, 1]);
  return {
    k: [kh!, kw!], strides: [s[0]!, s[1]!], begin: [p[0]!, p[1]!], end: [p[2]!, p[3]!],
    dilations: [d[0]!, d[1]!], group: conv.attrInt('group', 1), out: o!,
  };
}

/**
 * Why the conv's weights cannot be rewritten in place of the conv, or null: its output must have
 * one use (not a graph output) and its weight and bias must be constants read only by it.
 */
export function rewritableConv(conv: Node): string | null {
  if (!conv.output.hasSingleUse()) return 'conv output has other uses';
  if (!ownedConstant(conv.input(1), conv)) return 'conv weight is not a constant owned by this conv';
  if (conv.inputs[2] && !ownedConstant(conv.inputs[2], conv)) return 'conv bias is not a constant owned by this conv';
  return null;
}

export function sameShape(a: Value, b: Value): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => sameDim(d, b.shape[i]!));
}

/** Module path of a parameter: "stages.0.conv.weight" → "stages.0.conv". */
export function moduleOf(name: string): string {
  const i = name.lastIndexOf('.');
  return i < 0 ? '' : name.slice(0, i);
}

/**
 * Longest common dotted prefix of two module paths ("a.b.c", "a.b.d.e" → "a.b"); siblings in a
 * list ("a.conv_kxk.0", "a.conv_kxk.1") share the list's owner ("a").
 */
export function commonModule(a: string, b: string): string {
  const x = a.split('.'), y = b.split('.');
  let n = 0;
  while (n < x.length && n < y.length && x[n] === y[n]) n++;
  const isIndex = (s: string | undefined) => s !== undefined && /^\d+$/.test(s);
  if (n > 0 && isIndex(x[n]) && isIndex(y[n])) n--;
  return x.slice(0, n).join('.');
}

/** `prefix.leaf`, or `leaf` when the prefix is empty. */
export function joinName(prefix: string, leaf: string): string {
  return prefix ? `${prefix}.${leaf}` : leaf;
}
