/**
 * How each op is written at each opset (the `opsets` field of its registry entry; the driver that
 * applies them is onnx/legalize.ts). The forms and what lowers where are listed in legalize.ts's
 * header. A combination no rewrite can express throws an `OpsetError`.
 */
import { Builder } from '../builder.js';
import { type Attrs, attr, type Node, type Value } from '../ir.js';
import { floatToHalf, Tensor } from '../tensor.js';

export class OpsetError extends Error {}

function scalar(b: Builder, v: number, name: string, like: Value): Value {
  if (like.dtype === 'float16') return b.constant(name, new Tensor('float16', [], Uint16Array.of(floatToHalf(v))));
  if (like.dtype !== 'float32') throw new OpsetError(`cannot lower for element type ${like.dtype}`);
  return b.constant(name, Tensor.scalarF32(v));
}

function without(attrs: Attrs, ...names: string[]): Record<string, Attrs[string]> {
  return Object.fromEntries(Object.entries(attrs).filter(([k]) => !names.includes(k)));
}

function constInts(n: Node, slot: number, what: string, opset: number): number[] {
  const c = n.inputs[slot]?.constant;
  if (!c) throw new OpsetError(`${n.op} ${n.name}: ${what} must be a constant to write opset ${opset}`);
  return c.toNumbers();
}

function lowerGelu(b: Builder, n: Node): Value {
  const x = n.input(0);
  const approx = n.attrString('approximate', 'none');
  let inner: Value;
  if (approx === 'tanh') {
    const x3 = b.mul(b.mul(x, x, 'x2'), x, 'x3');
    const poly = b.add(x, b.mul(x3, scalar(b, 0.044715, 'k', x), 'kx3'), 'poly');
    inner = b.op('Tanh', [b.mul(poly, scalar(b, Math.sqrt(2 / Math.PI), 'sqrt_2_over_pi', x), 'scaled')]);
  } else {
    inner = b.op('Erf', [b.div(x, scalar(b, Math.SQRT2, 'sqrt2', x), 'div')]);
  }
  const onePlus = b.add(inner, scalar(b, 1, 'one', x), 'one_plus');
  return b.mul(b.mul(x, onePlus, 'x_mul'), scalar(b, 0.5, 'half', x), 'gelu');
}

function lowerLayerNorm(b: Builder, n: Node): Value {
  const x = n.input(0);
  const rank = x.shape.length;
  const axis = n.attrInt('axis', -1);
  const a0 = axis < 0 ? axis + rank : axis;
  const axes = [...Array(rank - a0).keys()].map((i) => a0 + i);
  const eps = n.attrFloat('epsilon', 1e-5);
  const mean = b.reduceMean(x, axes);
  const d = b.sub(x, mean, 'centered');
  const v = b.reduceMean(b.mul(d, d, 'sq'), axes);
  const std = b.op('Sqrt', [b.add(v, scalar(b, eps, 'eps', x), 'var_eps')]);
  let y = b.div(d, std, 'normalized');
  y = b.mul(y, n.input(1), 'scale');
  const bias = n.inputs[2];
  return bias ? b.add(y, bias, 'shift') : y;
}

/** `axes` attribute → int64 input at `slot` (other inputs kept). */
function axesToInput(b: Builder, n: Node, name = 'axes'): Value[] {
  const axes = n.attrInts(name);
  return b.node(n.op, [n.input(0), b.ints(axes, name), ...n.inputs.slice(2)], without(n.attrs, name), { name: n.op, outputs: n.outputs.length }).outputs;
}

/** int64 input at slot 1 → `axes`-like attribute. */
function inputToAttr(b: Builder, n: Node, name: string, opset: number): Value[] {
  const values = constInts(n, 1, name, opset);
  return b.node(n.op, [n.input(0), ...n.inputs.slice(2)], { ...n.attrs, [name]: attr.ints(values) }, { name: n.op, outputs: n.outputs.length }).outputs;
}

/** Pad with an `axes` input → pads over every axis (opset < 18). */
function padAllAxes(b: Builder, n: Node, opset: number): Value[] {
  const r = n.input(0).shape.length;
  const axes = constInts(n, 3, 'Pad axes', opset).map((a) => (a < 0 ? a + r : a));
  const pads = constInts(n, 1, 'Pad pads', opset);
  const full = new Array<number>(2 * r).fill(0);
  axes.forEach((a, i) => { full[a] = pads[i]!; full[r + a] = pads[axes.length + i]!; });
  const value = n.inputs[2] ?? null;
  return b.node('Pad', value ? [n.input(0), b.ints(full, 'pads'), value] : [n.input(0), b.ints(full, 'pads')], n.attrs, { name: 'Pad' }).outputs;
}

// Per-op rewrites, referenced by the op registry's `opsets` field (elementwise.ts, nn.ts,
// shape-ops.ts); each returns null when the node is already valid at this opset. Function
// declarations, so that the registry can read them while this module is still loading.

export function geluRule(b: Builder, n: Node, opset: number): Value[] | null {
  return opset < 20 ? [lowerGelu(b, n)] : null;
}
export function layerNormRule(b: Builder, n: Node, opset: number): Value[] | null {
  return opset < 17 ? [lowerLayerNorm(b, n)] : null;
}
/** ReduceSum, Squeeze, Unsqueeze: axes as an input (opset ≥ 13, all of vitx's range). */
export function axesInputRule(b: Builder, n: Node): Value[] | null {
  return n.attrs['axes'] ? axesToInput(b, n) : null;
}
export function splitRule(b: Builder, n: Node, opset: number): Value[] | null {
  if (n.attrs['split']) return axesToInput(b, n, 'split');
  if (!n.inputs[1] && n.attrs['num_outputs'] && opset < 18) {
    return b.node('Split', [n.input(0)], without(n.attrs, 'num_outputs'), { name: 'Split', outputs: n.outputs.length }).outputs;
  }
  return null;
}
export function padRule(b: Builder, n: Node, opset: number): Value[] | null {
  const mode = n.attrString('mode', 'constant');
  if (mode === 'wrap' && opset < 19) throw new OpsetError(`Pad ${n.name}: mode 'wrap' needs opset ≥ 19`);
  if (n.attrs['pads']) {
    const pads = n.attrInts('pads');
    const value = n.attrs['value'] ? n.attrFloat('value') : null;
    const ins = [n.input(0), b.ints(pads, 'pads')];
    if (value !== null && value !== 0) ins.push(scalar(b, value, 'value', n.input(0)));
    return b.node('Pad', ins, without(n.attrs, 'pads', 'value'), { name: 'Pad' }).outputs;
  }
  return n.inputs[3] && opset < 18 ? padAllAxes(b, n, opset) : null;
}
export function resizeRule(b: Builder, n: Node, opset: number): Value[] | null {
  if (n.attrString('coordinate_transformation_mode', 'half_pixel') === 'half_pixel_symmetric' && opset < 19) {
    throw new OpsetError(`Resize ${n.name}: coordinate mode half_pixel_symmetric needs opset ≥ 19`);
  }
  if (opset >= 18) return null;
  if (n.attrInt('antialias', 0) !== 0) throw new OpsetError(`Resize ${n.name}: antialias needs opset ≥ 18`);
  if (n.attrs['axes']) throw new OpsetError(`Resize ${n.name}: the axes attribute needs opset ≥ 18`);
  if (n.attrString('keep_aspect_ratio_policy', 'stretch') !== 'stretch') throw new OpsetError(`Resize ${n.name}: keep_aspect_ratio_policy needs opset ≥ 18`);
  if (!['antialias', 'keep_aspect_ratio_policy'].some((k) => n.attrs[k])) return null;
  return b.node('Resize', n.inputs, without(n.attrs, 'antialias', 'keep_aspect_ratio_policy'), { name: 'Resize' }).outputs;
}
export function averagePoolRule(b: Builder, n: Node, opset: number): Value[] | null {
  if (opset >= 19 || !n.attrs['dilations']) return null;
  if (n.attrInts('dilations').some((d) => d !== 1)) throw new OpsetError(`AveragePool ${n.name}: dilations other than 1 need opset ≥ 19`);
  return b.node('AveragePool', n.inputs, without(n.attrs, 'dilations'), { name: 'AveragePool' }).outputs;
}
export function castRule(b: Builder, n: Node, opset: number): Value[] | null {
  return opset < 19 && n.attrs['saturate'] ? b.node('Cast', n.inputs, without(n.attrs, 'saturate'), { name: 'Cast' }).outputs : null;
}
export function groupNormRule(_b: Builder, n: Node, opset: number): Value[] | null {
  if (opset < 21) throw new OpsetError(`GroupNormalization ${n.name} needs opset ≥ 21 (opset 18's version normalizes per group with per-group scale)`);
  return null;
}
/** Reductions whose `axes` moved from attribute to input at opset 18 (ReduceSum moved at 13). */
export function reduceRule(b: Builder, n: Node, opset: number): Value[] | null {
  if (opset >= 18 && n.attrs['axes']) return axesToInput(b, n);
  if (opset < 18 && n.inputs.length > 1 && n.inputs[1]) return inputToAttr(b, n, 'axes', opset);
  return null;
}

