/**
 * Opset legalization: the one place where IR ops are lowered to what a target opset has.
 *
 *   Gelu (IR op, approximate = none | tanh)
 *     opset ≥ 20: kept as Gelu.
 *     below:      none → 0.5·x·(1 + erf(x/√2));  tanh → 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
 *   LayerNormalization
 *     opset ≥ 17: kept.  below: mean/variance decomposition over the normalized axes.
 *   ReduceMean / ReduceSum with an `axes` attribute
 *     opset ≥ 18 (ReduceMean) / ≥ 13 (ReduceSum): axes move to an int64 input.
 */
import { Builder } from '../graph/builder.js';
import { attr, type Graph, type Node, type Value } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';

export const MIN_OPSET = 13;
export const MAX_OPSET = 21;

export class OpsetError extends Error {}

function builderAt(g: Graph, n: Node): Builder {
  return new Builder(g, n.name);
}

function scalar(b: Builder, v: number, name: string, like: Value): Value {
  return b.constant(name, new Tensor(like.dtype === 'float16' ? 'float16' : 'float32', [], like.dtype === 'float16' ? undefined : Float32Array.of(v)));
}

function lowerGelu(g: Graph, n: Node): Value {
  const b = builderAt(g, n);
  const x = n.input(0);
  if (x.dtype !== 'float32') throw new OpsetError(`Gelu lowering supports float32 (got ${x.dtype}); use opset ≥ 20 for ${x.dtype}`);
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

function lowerLayerNorm(g: Graph, n: Node): Value {
  const b = builderAt(g, n);
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

function axesToInput(g: Graph, n: Node): Value {
  const b = builderAt(g, n);
  const axes = n.attrInts('axes');
  const rest = Object.fromEntries(Object.entries(n.attrs).filter(([k]) => k !== 'axes'));
  return b.op(n.op, [n.input(0), b.ints(axes, 'axes')], rest, n.op);
}

function axesToAttr(g: Graph, n: Node): Value {
  const b = builderAt(g, n);
  const axes = n.input(1).constant;
  if (!axes) throw new OpsetError(`${n.op} ${n.name}: axes must be constant to write opset < 18`);
  return b.op(n.op, [n.input(0)], { ...n.attrs, axes: attr.ints(axes.toNumbers()) }, n.op);
}

/** Rewrites `g` in place so that every op is valid at `opset`. */
export function legalize(g: Graph, opset: number): void {
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OpsetError(`opset ${opset} is not supported (vitx writes opsets ${MIN_OPSET}…${MAX_OPSET})`);
  }
  for (const n of [...g.nodes]) {
    let repl: Value | null = null;
    if (n.op === 'Gelu' && opset < 20) repl = lowerGelu(g, n);
    else if (n.op === 'LayerNormalization' && opset < 17) repl = lowerLayerNorm(g, n);
    else if (n.op === 'ReduceMean' && opset >= 18 && n.attrs['axes']) repl = axesToInput(g, n);
    else if (n.op === 'ReduceMean' && opset < 18 && n.inputs.length > 1) repl = axesToAttr(g, n);
    else if (n.op === 'ReduceSum' && n.attrs['axes']) repl = axesToInput(g, n);
    if (repl) {
      n.output.replaceAllUsesWith(repl);
      g.removeNode(n);
    }
  }
  // lowered LayerNorm emits attribute-form ReduceMean: legalize those too
  if (opset >= 18) for (const n of [...g.nodes]) if (n.op === 'ReduceMean' && n.attrs['axes']) { const r = axesToInput(g, n); n.output.replaceAllUsesWith(r); g.removeNode(n); }
  g.topoSort();
}
