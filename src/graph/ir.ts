/**
 * The graph IR.
 *
 * - A `Value` has at most one producer (a node output, a graph input or a constant initializer)
 *   and a set of uses `{node, slot}`. Edges change only through `Node.setInput` and
 *   `Value.replaceAllUsesWith`, which keep both ends in sync.
 * - A `Graph` keeps its nodes in an insertion-ordered set; `topoSort()` restores a deterministic
 *   topological order (Kahn's algorithm, ties broken by creation order) after rewrites.
 * - Shapes are static except for symbolic dimensions (strings such as "N" for a dynamic batch).
 */
import { type DType, Tensor } from './tensor.js';

export type Dim = number | string;
export type Shape = readonly Dim[];

export interface ValueType {
  readonly dtype: DType;
  readonly shape: Shape;
}

export type Attr =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'tensor'; readonly value: Tensor };

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  ints: (value: readonly number[]): Attr => ({ kind: 'ints', value: [...value] }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  floats: (value: readonly number[]): Attr => ({ kind: 'floats', value: [...value] }),
  string: (value: string): Attr => ({ kind: 'string', value }),
  strings: (value: readonly string[]): Attr => ({ kind: 'strings', value: [...value] }),
  tensor: (value: Tensor): Attr => ({ kind: 'tensor', value }),
};

export type Attrs = Readonly<Record<string, Attr>>;

export interface Use {
  readonly node: Node;
  readonly slot: number;
}

/** How a parameter's values are produced when no checkpoint provides them (see weights/recipe.ts). */
export type InitRule =
  | 'affine_weight' | 'affine_bias' | 'norm_weight' | 'norm_bias' | 'norm_running_mean' | 'norm_running_var'
  | 'layer_scale' | 'rel_pos_table' | 'other';

export class Value {
  name: string;
  type: ValueType;
  /** The node that computes this value, or null for graph inputs and initializers. */
  producer: Node | null = null;
  /** Output slot on the producer. */
  index = 0;
  /** Constant data for initializers. */
  constant: Tensor | null = null;
  /** For parameters created by a builder: how to initialize it without a checkpoint. */
  initRule: InitRule | null = null;
  readonly graph: Graph;
  private readonly _uses = new Set<Use>();

  constructor(graph: Graph, name: string, type: ValueType) {
    this.graph = graph;
    this.name = name;
    this.type = type;
  }

  get uses(): ReadonlySet<Use> { return this._uses; }
  get shape(): Shape { return this.type.shape; }
  get dtype(): DType { return this.type.dtype; }
  get isConstant(): boolean { return this.constant !== null; }
  get isGraphInput(): boolean { return this.graph.inputs.includes(this); }
  get isGraphOutput(): boolean { return this.graph.outputs.includes(this); }

  /** Nodes that read this value (each once, in first-use order). */
  consumers(): Node[] {
    return [...new Set([...this._uses].map((u) => u.node))];
  }

  /** Exactly one consuming slot and not a graph output. */
  hasSingleUse(): boolean {
    return this._uses.size === 1 && !this.isGraphOutput;
  }

  /** Static shape as numbers; throws if a dimension is symbolic. */
  staticShape(): number[] {
    return this.type.shape.map((d) => {
      if (typeof d !== 'number') throw new Error(`value ${this.name} has symbolic dimension ${d}`);
      return d;
    });
  }

  replaceAllUsesWith(other: Value): void {
    if (other === this) return;
    for (const u of [...this._uses]) u.node.setInput(u.slot, other);
    const outs = this.graph.outputs;
    for (let i = 0; i < outs.length; i++) {
      if (outs[i] === this) {
        outs[i] = other;
        // graph outputs keep their public name
        if (!other.isGraphInput && !other.isConstant) this.graph.renameValue(other, this.name);
      }
    }
  }

  /** @internal */ _addUse(u: Use): void { this._uses.add(u); }
  /** @internal */ _removeUse(node: Node, slot: number): void {
    for (const u of this._uses) if (u.node === node && u.slot === slot) { this._uses.delete(u); return; }
  }
}

export class Node {
  readonly op: string;
  readonly domain: string;
  name: string;
  attrs: Record<string, Attr>;
  readonly outputs: Value[] = [];
  readonly graph: Graph;
  /** Creation sequence number: the tie-breaker that keeps topological order deterministic. */
  readonly seq: number;
  /** The name asked for when it was taken at creation (passes rename once it is free). */
  requestedName: string | null = null;
  /**
   * Set by the ONNX reader when the file gave the node no name: its position in the file's node
   * list (from 0). The IR still names it after its op (`Conv_3`), but messages say `#12 (Conv)`.
   */
  unnamedIndex: number | null = null;
  private _inputs: (Value | null)[] = [];

  constructor(graph: Graph, op: string, name: string, attrs: Attrs, seq: number, domain = '') {
    this.graph = graph;
    this.op = op;
    this.name = name;
    this.attrs = { ...attrs };
    this.seq = seq;
    this.domain = domain;
  }

  get inputs(): readonly (Value | null)[] { return this._inputs; }

  /** How messages name the node: its name, or `#12 (Conv)` for a file's unnamed node. */
  get label(): string {
    return this.unnamedIndex === null ? this.name : `#${this.unnamedIndex} (${this.op})`;
  }

  /** `name (Op)`, or `#12 (Op)` for a file's unnamed node. */
  get described(): string {
    return this.unnamedIndex === null ? `${this.name} (${this.op})` : this.label;
  }

  /** Input `i`, which must be present. */
  input(i: number): Value {
    const v = this._inputs[i];
    if (!v) throw new Error(`node ${this.described} has no input ${i}`);
    return v;
  }

  get output(): Value {
    if (this.outputs.length !== 1) throw new Error(`node ${this.described} has ${this.outputs.length} outputs`);
    return this.outputs[0]!;
  }

  setInput(slot: number, v: Value | null): void {
    const old = this._inputs[slot];
    if (old === v) return;
    if (old) old._removeUse(this, slot);
    this._inputs[slot] = v;
    if (v) v._addUse({ node: this, slot });
  }

  /** @internal */ _setInputs(vs: readonly (Value | null)[]): void {
    this._inputs.forEach((v, i) => v?._removeUse(this, i));
    this._inputs = [];
    vs.forEach((v, i) => { this._inputs.push(null); this.setInput(i, v); });
  }

  attrInt(name: string, dflt?: number): number {
    const a = this.attrs[name];
    if (!a) { if (dflt === undefined) throw new Error(`${this.described}: missing attribute ${name}`); return dflt; }
    if (a.kind !== 'int') throw new Error(`${this.described}: attribute ${name} is ${a.kind}, not int`);
    return a.value;
  }

  attrInts(name: string, dflt?: readonly number[]): readonly number[] {
    const a = this.attrs[name];
    if (!a) { if (dflt === undefined) throw new Error(`${this.described}: missing attribute ${name}`); return dflt; }
    if (a.kind !== 'ints') throw new Error(`${this.described}: attribute ${name} is ${a.kind}, not ints`);
    return a.value;
  }

  attrFloat(name: string, dflt?: number): number {
    const a = this.attrs[name];
    if (!a) { if (dflt === undefined) throw new Error(`${this.described}: missing attribute ${name}`); return dflt; }
    if (a.kind !== 'float') throw new Error(`${this.described}: attribute ${name} is ${a.kind}, not float`);
    return a.value;
  }

  attrString(name: string, dflt?: string): string {
    const a = this.attrs[name];
    if (!a) { if (dflt === undefined) throw new Error(`${this.described}: missing attribute ${name}`); return dflt; }
    if (a.kind !== 'string') throw new Error(`${this.described}: attribute ${name} is ${a.kind}, not string`);
    return a.value;
  }
}

export class Graph {
  name: string;
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  /** Initializers by name, in creation order. */
  readonly initializers = new Map<string, Value>();
  /** Model-level metadata written to ModelProto.metadata_props (sorted by key when written). */
  readonly metadata = new Map<string, string>();
  private readonly _nodes = new Set<Node>();
  private readonly _names = new Map<string, Value>();
  private readonly _nodeNames = new Set<string>();
  private readonly _valueSuffixes = new Suffixes((n) => this._names.has(n));
  private readonly _nodeSuffixes = new Suffixes((n) => this._nodeNames.has(n));
  private seq = 0;

  constructor(name = 'vitx') { this.name = name; }

  get nodes(): ReadonlySet<Node> { return this._nodes; }
  /** Sequence number the next created node will get. */
  get nextSeq(): number { return this.seq; }
  get nodeCount(): number { return this._nodes.size; }

  /** Looks up a value by name (inputs, initializers, node outputs). */
  value(name: string): Value | undefined { return this._names.get(name); }

  /** `base`, or `base_1`, `base_2`, … whichever is free among value names. */
  uniqueValueName(base: string): string {
    return this._valueSuffixes.fresh(base);
  }

  /** `base`, or `base_1`, `base_2`, … whichever is free among node names. */
  uniqueNodeName(base: string): string {
    return this._nodeSuffixes.fresh(base);
  }

  /** Names looked up while choosing fresh names so far (tests: choosing them is linear overall). */
  get nameProbes(): number { return this._valueSuffixes.probes + this._nodeSuffixes.probes; }

  private register(v: Value): Value {
    if (this._names.has(v.name)) throw new Error(`duplicate value name ${v.name}`);
    this._names.set(v.name, v);
    return v;
  }

  addInput(name: string, type: ValueType): Value {
    const v = this.register(new Value(this, name, type));
    this.inputs.push(v);
    return v;
  }

  /** Adds a constant initializer named exactly `name` (throws if taken). */
  addInitializer(name: string, tensor: Tensor, initRule: InitRule | null = null): Value {
    const v = this.register(new Value(this, name, { dtype: tensor.dtype, shape: tensor.shape }));
    v.constant = tensor;
    v.initRule = initRule;
    this.initializers.set(name, v);
    return v;
  }

  /** Adds an initializer under a fresh name derived from `base`. */
  addConstant(base: string, tensor: Tensor): Value {
    return this.addInitializer(this.uniqueValueName(base), tensor);
  }

  /** Replaces an initializer's data (same name); the shape may change only if `allowReshape`. */
  setConstant(v: Value, tensor: Tensor): void {
    if (!v.isConstant) throw new Error(`${v.name} is not a constant`);
    v.constant = tensor;
    v.type = { dtype: tensor.dtype, shape: tensor.shape };
  }

  addNode(op: string, inputs: readonly (Value | null)[], outputTypes: readonly ValueType[], opts: {
    name: string; attrs?: Attrs; outputNames?: readonly string[]; domain?: string;
  }): Node {
    const name = this.uniqueNodeName(opts.name);
    const node = new Node(this, op, name, opts.attrs ?? {}, this.seq++, opts.domain ?? '');
    if (name !== opts.name) node.requestedName = opts.name;
    this._nodeNames.add(name);
    node._setInputs(inputs);
    outputTypes.forEach((t, i) => {
      const base = opts.outputNames?.[i] ?? (outputTypes.length === 1 ? name : `${name}:${i}`);
      const v = this.register(new Value(this, this.uniqueValueName(base), t));
      v.producer = node;
      v.index = i;
      node.outputs.push(v);
    });
    this._nodes.add(node);
    return node;
  }

  /** Removes a node whose outputs are unused (unless `force`). */
  removeNode(node: Node, force = false): void {
    if (!force) {
      for (const o of node.outputs) {
        if (o.uses.size > 0 || o.isGraphOutput) throw new Error(`cannot remove ${node.described}: output ${o.name} is still used`);
      }
    }
    node._setInputs([]);
    for (const o of node.outputs) if (this._names.get(o.name) === o) this.forgetValueName(o.name);
    this._nodes.delete(node);
    this.forgetNodeName(node.name);
  }

  private forgetValueName(name: string): void {
    this._names.delete(name);
    this._valueSuffixes.freed(name);
  }

  private forgetNodeName(name: string): void {
    this._nodeNames.delete(name);
    this._nodeSuffixes.freed(name);
  }

  /** Renames a node if `name` is free; returns whether it did. */
  renameNode(node: Node, name: string): boolean {
    if (node.name === name) return true;
    if (this._nodeNames.has(name)) return false;
    this.forgetNodeName(node.name);
    node.name = name;
    node.requestedName = null;
    this._nodeNames.add(name);
    return true;
  }

  /** Removes an unused initializer. */
  removeInitializer(v: Value): void {
    if (v.uses.size > 0 || v.isGraphOutput) throw new Error(`initializer ${v.name} is still used`);
    this.initializers.delete(v.name);
    this.forgetValueName(v.name);
  }

  /** Gives `v` the name `name`; a value already holding it is moved aside to a fresh name. */
  renameValue(v: Value, name: string): void {
    const holder = this._names.get(name);
    if (holder === v) return;
    if (holder) {
      const fresh = this.uniqueValueName(name);
      this._names.set(fresh, holder);
      holder.name = fresh;
      if (holder.isConstant) { this.initializers.delete(name); this.initializers.set(fresh, holder); }
    }
    if (this._names.get(v.name) === v) this.forgetValueName(v.name);
    if (v.isConstant) { this.initializers.delete(v.name); this.initializers.set(name, v); }
    v.name = name;
    this._names.set(name, v);
  }

  /** Reorders nodes topologically; ties keep creation order. Throws on a cycle. */
  topoSort(): void {
    const nodes = [...this._nodes];
    const pending = new Map<Node, number>();
    const ready: Node[] = [];
    for (const n of nodes) {
      let deps = 0;
      for (const v of new Set(n.inputs)) if (v?.producer) deps++;
      pending.set(n, deps);
      if (deps === 0) ready.push(n);
    }
    const heap = new MinHeap<Node>((a, b) => a.seq - b.seq);
    ready.forEach((n) => heap.push(n));
    const order: Node[] = [];
    while (heap.size > 0) {
      const n = heap.pop();
      order.push(n);
      for (const o of n.outputs) {
        for (const c of o.consumers()) {
          const left = pending.get(c)! - 1; // once per distinct input value
          pending.set(c, left);
          if (left === 0) heap.push(c);
        }
      }
    }
    if (order.length !== nodes.length) throw new Error('graph has a cycle');
    this._nodes.clear();
    for (const n of order) this._nodes.add(n);
  }

  /** Initializers in order of first use by the (topologically sorted) nodes; unused ones last. */
  initializersInUseOrder(): Value[] {
    const seen = new Set<Value>();
    for (const n of this._nodes) for (const v of n.inputs) if (v?.isConstant && this.initializers.get(v.name) === v) seen.add(v);
    for (const v of this.initializers.values()) seen.add(v);
    return [...seen];
  }

  /** Parameter count: elements of all floating initializers (optionally filtered). */
  paramCount(filter: (v: Value) => boolean = () => true): number {
    let n = 0;
    for (const v of this.initializers.values()) {
      if (v.dtype.startsWith('float') || v.dtype === 'bfloat16') if (filter(v)) n += v.constant!.size;
    }
    return n;
  }

  opHistogram(): Map<string, number> {
    const h = new Map<string, number>();
    for (const n of this._nodes) h.set(n.op, (h.get(n.op) ?? 0) + 1);
    return new Map([...h.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  }
}

/**
 * Fresh names `base`, `base_1`, `base_2`, … — the smallest free suffix, as a plain probe from 1 would
 * find it, without probing from 1 each time (an unnamed 20k-node chain named `Conv`, `Conv_1`, …
 * would take 2·10^8 probes). Invariant: for every base in `next`, the names base_1 … base_(next−1)
 * are all taken. Adding names keeps it; a freed name base_k lowers next[base] to k (`freed`), so the
 * probe still starts at or below the smallest free suffix and the names chosen are the same.
 */
class Suffixes {
  private readonly next = new Map<string, number>();
  probes = 0;

  constructor(private readonly taken: (name: string) => boolean) {}

  fresh(base: string): string {
    this.probes++;
    if (!this.taken(base)) return base;
    let i = this.next.get(base) ?? 1;
    for (; ; i++) {
      this.probes++;
      if (!this.taken(`${base}_${i}`)) break;
    }
    this.next.set(base, i);
    return `${base}_${i}`;
  }

  /** `name` is free again: if it is base_k of a base we count for, probing must restart at k. */
  freed(name: string): void {
    const m = /^(.*)_([1-9]\d*)$/s.exec(name);
    if (!m) return;
    const k = Number(m[2]), n = this.next.get(m[1]!);
    if (n !== undefined && k < n) this.next.set(m[1]!, k);
  }
}

class MinHeap<T> {
  private a: T[] = [];
  constructor(private readonly cmp: (x: T, y: T) => number) {}
  get size(): number { return this.a.length; }
  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.cmp(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.cmp(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.cmp(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
