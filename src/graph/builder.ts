/**
 * Scoped graph construction.
 *
 * A `Builder` is a graph plus a name scope. `b.child('stages', 2, 'blocks', 0)` opens the scope
 * `stages.2.blocks.0`; `b.param('weight', …)` there creates the initializer
 * `stages.2.blocks.0.weight`, which is exactly the checkpoint key. Every op goes through
 * `inferTypes`, so a shape mistake fails at the op that made it, naming its scope.
 */
import { type Attr, type Attrs, attr, type Dim, Graph, type InitRule, type Node, type Shape, Value, type ValueType } from './ir.js';
import { inferTypes, ShapeError, shapeToString } from './shapes.js';
import { type DType, Tensor } from './tensor.js';

export class BuildError extends Error {}

/**
 * What a model builder is asked to produce besides its train-time graph; shared by every scope of
 * one build. Family builders read `numClasses` through `classifier()` (builders/layers.ts) and tap
 * their stage outputs with `b.feature()` in timm's `feature_info` order.
 */
export interface BuildContext {
  /** Classifier outputs; 0 = no classifier (the head's pooled pre-logits are the output). */
  numClasses: number;
  /** Feature maps tapped by `b.feature()`, in call order (= timm's feature_info order). */
  readonly features: Value[];
}

export class Builder {
  readonly ctx: BuildContext;

  constructor(readonly g: Graph, readonly scope: string = '', ctx?: BuildContext) {
    this.ctx = ctx ?? { numClasses: 1000, features: [] };
  }

  static create(name = 'vitx', ctx?: Partial<BuildContext>): Builder {
    return new Builder(new Graph(name), '', { numClasses: ctx?.numClasses ?? 1000, features: [] });
  }

  child(...parts: (string | number)[]): Builder {
    const tail = parts.map(String).filter((p) => p !== '').join('.');
    if (!tail) return this;
    return new Builder(this.g, this.scope ? `${this.scope}.${tail}` : tail, this.ctx);
  }

  /**
   * Records `x` as the next backbone feature map (timm `features_only=True`: one tap per
   * `feature_info` entry, in order, NCHW). Returns `x`, so a builder can tap inline.
   */
  feature(x: Value): Value {
    this.ctx.features.push(x);
    return x;
  }

  /** Full key for a name in this scope. */
  key(name: string): string { return this.scope ? `${this.scope}.${name}` : name; }

  input(name: string, type: ValueType): Value { return this.g.addInput(name, type); }

  /** A learnable (checkpoint) tensor named `<scope>.<name>`, zero-filled until weights are loaded. */
  param(name: string, shape: readonly number[], rule: InitRule): Value {
    return this.g.addInitializer(this.key(name), new Tensor('float32', shape), rule);
  }

  /** A non-checkpoint constant (shape vectors, fixed kernels); named after the scope. */
  constant(name: string, tensor: Tensor): Value {
    return this.g.addConstant(this.scope ? `${this.scope}/${name}` : name, tensor);
  }

  ints(values: readonly number[], name = 'shape'): Value { return this.constant(name, Tensor.i64(values)); }

  scalar(v: number, name = 'c'): Value { return this.constant(name, Tensor.scalarF32(v)); }

  /** Adds one node; returns its outputs. `name` suffixes the scope for the node name. */
  node(op: string, inputs: readonly (Value | null)[], attrs: Attrs = {}, opts: { name?: string; outputs?: number } = {}): Node {
    let types: ValueType[];
    try {
      types = inferTypes(op, inputs.map((v) => ({ type: v?.type ?? null, constant: v?.constant ?? null })), attrs);
    } catch (e) {
      if (e instanceof ShapeError) {
        const shapes = inputs.map((v) => (v ? shapeToString(v.shape) : '-')).join(', ');
        throw new BuildError(`${this.scope || '<root>'}: ${op}(${shapes}): ${e.message}`);
      }
      throw e;
    }
    const suffix = opts.name ?? op;
    const name = this.scope ? (suffix ? `${this.scope}/${suffix}` : this.scope) : suffix;
    return this.g.addNode(op, inputs, types, { name, attrs });
  }

  op(op: string, inputs: readonly (Value | null)[], attrs: Attrs = {}, name?: string): Value {
    return this.node(op, inputs, attrs, { name }).output;
  }

  // ---- elementwise
  add(a: Value, b: Value, name?: string): Value { return this.op('Add', [a, b], {}, name); }
  sub(a: Value, b: Value, name?: string): Value { return this.op('Sub', [a, b], {}, name); }
  mul(a: Value, b: Value, name?: string): Value { return this.op('Mul', [a, b], {}, name); }
  div(a: Value, b: Value, name?: string): Value { return this.op('Div', [a, b], {}, name); }
  relu(x: Value): Value { return this.op('Relu', [x]); }
  sigmoid(x: Value): Value { return this.op('Sigmoid', [x]); }
  tanh(x: Value): Value { return this.op('Tanh', [x]); }
  /** SiLU = x·sigmoid(x). */
  silu(x: Value): Value { return this.mul(x, this.sigmoid(x), 'silu'); }
  /** GELU as one IR op; `legalize` lowers it to Erf/Tanh arithmetic below opset 20. */
  gelu(x: Value, approximate: 'none' | 'tanh' = 'none'): Value {
    return this.op('Gelu', [x], { approximate: attr.string(approximate) });
  }
  softmax(x: Value, axis = -1): Value { return this.op('Softmax', [x], { axis: attr.int(axis) }); }

  // ---- layout
  reshape(x: Value, shape: readonly Dim[]): Value {
    const symbolic = shape.filter((d) => typeof d !== 'number');
    if (symbolic.length > 1) throw new BuildError(`${this.scope}: reshape target ${shapeToString(shape)} has more than one symbolic dimension`);
    const target = shape.map((d) => (typeof d === 'number' ? d : -1));
    const out = this.op('Reshape', [x, this.ints(target)]);
    if (symbolic.length === 1 && String(out.shape[shape.indexOf(symbolic[0]!)]) !== String(symbolic[0])) {
      throw new BuildError(`${this.scope}: reshape ${shapeToString(x.shape)} → ${shapeToString(shape)} infers ${shapeToString(out.shape)}`);
    }
    return out;
  }
  transpose(x: Value, perm: readonly number[]): Value { return this.op('Transpose', [x], { perm: attr.ints(perm) }); }
  concat(xs: readonly Value[], axis: number): Value { return this.op('Concat', xs, { axis: attr.int(axis) }); }
  split(x: Value, sizes: readonly number[], axis: number): Value[] {
    return this.node('Split', [x, this.ints(sizes, 'split')], { axis: attr.int(axis) }, { outputs: sizes.length }).outputs;
  }
  slice(x: Value, starts: number[], ends: number[], axes: number[], steps?: number[]): Value {
    const ins = [x, this.ints(starts, 'starts'), this.ints(ends, 'ends'), this.ints(axes, 'axes')];
    if (steps) ins.push(this.ints(steps, 'steps'));
    return this.op('Slice', ins);
  }
  flatten(x: Value, axis = 1): Value { return this.op('Flatten', [x], { axis: attr.int(axis) }); }

  // ---- reductions and pools
  reduceMean(x: Value, axes: readonly number[], keepdims = true): Value {
    return this.op('ReduceMean', [x], { axes: attr.ints(axes), keepdims: attr.int(keepdims ? 1 : 0) });
  }
  globalAvgPool(x: Value): Value { return this.op('GlobalAveragePool', [x]); }

  matmul(a: Value, b: Value, name?: string): Value { return this.op('MatMul', [a, b], {}, name); }
}

export type { Attr, Dim, DType, Shape, Value };
