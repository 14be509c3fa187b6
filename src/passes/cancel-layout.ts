/**
 * cancel-layout: a chain of layout ops (Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Identity)
 * is replaced by the shortest equivalent of the form Reshape? → Transpose? → Reshape?, when that
 * is shorter. In particular a chain that composes to the identity disappears (NCHW → tokens
 * immediately followed by tokens → NCHW), and one that composes to a pure reshape or a pure
 * permutation becomes a single Reshape or Transpose.
 *
 * The composed index map is computed on the static shape with "atoms": every input axis is a
 * list of factors (atoms, size 1 dropped). A Transpose permutes the current axes; a Reshape
 * regroups the row-major atom sequence into the new axes, splitting an atom a = a₁·a₂ (a₁ major)
 * where a new axis boundary falls inside it — the split is applied to the input axes as well, so
 * both ends always consist of the same atoms. Where a boundary cuts a factor that cannot be split
 * there (a reshape mixing [3,4] into [2,6]), the two atoms are merged into one if they are also
 * adjacent and in order in the input. The chain then maps input element (i_a)ₐ to the
 * output element with the same atom indices, and its net effect is the permutation π that takes
 * the atoms from input order I to output order O:
 *
 *   π = identity, same shape      →  (nothing)
 *   π = identity                  →  Reshape(out shape)
 *   output axes = input axes      →  Transpose(perm)
 *   input axes stay whole in O    →  Transpose(input axes in O order) → Reshape
 *   output axes are runs of I     →  Reshape(output axes in I order) → Transpose
 *   otherwise                     →  Reshape(runs) → Transpose(π on runs) → Reshape
 *
 * (runs = maximal sequences of atoms adjacent and in order in both I and O). One symbolic
 * dimension (a dynamic batch) is allowed as an atom that is never split.
 *
 * When the atoms cannot follow the chain (a reshape mixes factors that an earlier transpose
 * separated, and a later op may unmix them), the explicit index map on the static shape (a
 * symbolic batch allowed as a leading untouched axis) decides identity / one Reshape / one
 * Transpose; failing that, the ops before the mixing one are shortened on their own.
 * Exact: elements move, values never change.
 *
 *   Before:  x[1,4,49,36] ─Transpose(0,2,1,3)─► ─Reshape[1,49,144]─► ─Transpose(0,2,1)─► ─Reshape[1,144,7,7]─►
 *   After:   x[1,4,49,36] ─Transpose(0,1,3,2)─► ─Reshape[1,144,7,7]─►
 *
 * The chain's inner values must have no other use; the rule looks at the chain's last op.
 */
import { Builder } from '../graph/builder.js';
import { attr, type Dim, type Node, type Shape, type Value } from '../graph/ir.js';
import { opsWhere } from '../graph/ops/index.js';
import { dimDiv, dimMul, sameDim } from '../graph/shapes.js';
import { fail, type Fail, type Rule } from './driver.js';

/** Pure relabellings of elements: the registry's `layout: 'chain'` entries (Reshape, Transpose, Flatten, (Un)Squeeze, Identity). */
export const CHAIN_OPS = opsWhere((s) => s.layout === 'chain');

type Step = { op: 'Reshape'; shape: Dim[] } | { op: 'Transpose'; perm: number[] };
interface CancelLayout { chain: Node[]; input: Value; steps: Step[] }

const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => sameDim(d, b[i]!));
const sameList = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The chain's element map: input axes and current axes as lists of atoms. */
class Atoms {
  readonly size: Dim[] = [];
  readonly input: number[][];
  cur: number[][];

  constructor(shape: Shape) {
    this.input = shape.map((d) => (d === 1 ? [] : [this.fresh(d)]));
    this.cur = this.input.map((a) => [...a]);
  }

  /** False once two atoms of different input axes were merged (the input must be reshaped first). */
  inputAxesValid = true;

  private fresh(d: Dim): number { this.size.push(d); return this.size.length - 1; }

  /**
   * Merges atom `a` with `b`, which follows it in both the input and the current order, into one
   * atom (a major): a reshape that cuts across both then still maps to factors.
   */
  private merge(a: number, b: number): number | null {
    const I = this.input.flat();
    if (I.indexOf(b) !== I.indexOf(a) + 1 || typeof this.size[a] !== 'number' || typeof this.size[b] !== 'number') return null;
    const m = this.fresh((this.size[a] as number) * (this.size[b] as number));
    for (const axes of [this.input, this.cur]) {
      const ia = axes.findIndex((ax) => ax.includes(a)), ib = axes.findIndex((ax) => ax.includes(b));
      if (axes === this.input && ia !== ib) this.inputAxesValid = false;
      axes[ia]!.splice(axes[ia]!.indexOf(a), 1, m);
      axes[ib]!.splice(axes[ib]!.indexOf(b), 1);
    }
    return m;
  }

  /** Splits atom `a` into (outer, size/outer), outer major, at both ends. */
  private split(a: number, outer: number): [number, number] {
    const parts: [number, number] = [this.fresh(outer), this.fresh((this.size[a] as number) / outer)];
    for (const axes of [this.input, this.cur]) {
      for (const ax of axes) { const i = ax.indexOf(a); if (i >= 0) ax.splice(i, 1, ...parts); }
    }
    return parts;
  }

  transpose(perm: readonly number[]): void { this.cur = perm.map((p) => this.cur[p]!); }

  /** Regroups the atoms into axes of the given sizes; returns why not if impossible. */
  reshape(shape: Shape): string | null {
    const seq = this.cur.flat();
    const axes: number[][] = [];
    let i = 0;
    for (const d of shape) {
      const group: number[] = [];
      let prod: Dim = 1;
      while (!sameDim(prod, d)) {
        let a = seq[i];
        const rem = dimDiv(d, prod);
        if (a === undefined || rem === null) return `cannot regroup into ${d}`;
        const sz = this.size[a]!;
        if (typeof sz === 'number' && typeof rem === 'number' && rem % sz !== 0) {
          if (sz % rem !== 0) {
            const m = seq[i + 1] === undefined ? null : this.merge(a, seq[i + 1]!);
            if (m === null) return `axis of ${d} cuts a factor of ${sz}`;
            seq.splice(i, 2, m);
            continue;
          }
          const parts = this.split(a, rem);
          seq.splice(i, 1, ...parts);
          a = parts[0];
        } else if (dimDiv(rem, sz) === null) {
          return `cannot regroup ${sz} into ${d}`;
        }
        group.push(a);
        prod = dimMul(prod, this.size[a]!);
        i++;
      }
      axes.push(group);
    }
    if (i !== seq.length) return 'elements left over';
    this.cur = axes;
    return null;
  }

  dim(atoms: readonly number[]): Dim { return atoms.reduce<Dim>((p, a) => dimMul(p, this.size[a]!), 1); }
}

/** Orders `items` by `key`, then puts the `units` back at their own indices (ascending). */
function withUnits(items: number[], key: (x: number) => number, units: number[]): number[] {
  const order = [...items].sort((x, y) => key(x) - key(y));
  for (const u of units) order.splice(Math.min(u, order.length), 0, u);
  return order;
}

/** The shortest Reshape?/Transpose?/Reshape? sequence with the chain's element map. */
function plan(m: Atoms, inShape: Shape, outShape: Shape): Step[] {
  const I = m.input.flat(), O = m.cur.flat();
  const reshapeTo = (from: Shape, to: Shape): Step[] => (sameShape(from, to) ? [] : [{ op: 'Reshape', shape: [...to] }]);
  if (sameList(I, O)) return reshapeTo(inShape, outShape);
  const contiguous = (atoms: number[], seq: number[]) => sameList(atoms, seq.slice(seq.indexOf(atoms[0]!), seq.indexOf(atoms[0]!) + atoms.length));
  const nonEmpty = (axes: number[][]) => axes.flatMap((a, i) => (a.length ? [i] : []));
  const empty = (axes: number[][]) => axes.flatMap((a, i) => (a.length ? [] : [i]));
  // one Transpose: every output axis is an input axis
  if (m.inputAxesValid && inShape.length === outShape.length && nonEmpty(m.cur).every((j) => m.input.some((ax) => sameList(ax, m.cur[j]!)))) {
    const units = empty(m.input);
    const perm = m.cur.map((ax) => (ax.length ? m.input.findIndex((a) => sameList(a, ax)) : units.shift()!));
    return [{ op: 'Transpose', perm }];
  }
  // Transpose → Reshape: input axes stay whole
  if (m.inputAxesValid && nonEmpty(m.input).every((k) => contiguous(m.input[k]!, O))) {
    const perm = withUnits(nonEmpty(m.input), (k) => O.indexOf(m.input[k]![0]!), empty(m.input));
    return [{ op: 'Transpose', perm }, ...reshapeTo(perm.map((p) => inShape[p]!), outShape)];
  }
  // Reshape → Transpose: output axes are runs of the input order
  if (nonEmpty(m.cur).every((j) => contiguous(m.cur[j]!, I))) {
    const mid = withUnits(nonEmpty(m.cur), (j) => I.indexOf(m.cur[j]![0]!), empty(m.cur));
    return [...reshapeTo(inShape, mid.map((j) => outShape[j]!)), { op: 'Transpose', perm: m.cur.map((_, j) => mid.indexOf(j)) }];
  }
  // general: Reshape to runs → Transpose → Reshape
  const runs: number[][] = [];
  for (const a of I) {
    const last = runs[runs.length - 1];
    if (last && O.indexOf(a) === O.indexOf(last[last.length - 1]!) + 1) last.push(a); else runs.push([a]);
  }
  const order = [...runs.keys()].sort((x, y) => O.indexOf(runs[x]![0]!) - O.indexOf(runs[y]![0]!));
  const runShape = runs.map((r) => m.dim(r));
  return [...reshapeTo(inShape, runShape), { op: 'Transpose', perm: order }, ...reshapeTo(order.map((k) => runShape[k]!), outShape)];
}

// ---- fallback when the atoms cannot follow the chain (a reshape mixing permuted factors
// that a later op unmixes): the explicit index map on the static shape, checked for the
// identity, a pure reshape or one transpose.

const MAX_MAP = 1 << 22;

function rowMajorStrides(shape: readonly number[]): number[] {
  const st: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { st[i] = s; s *= shape[i]!; }
  return st;
}

/** map′[k] = map[source of output element k] for Transpose(perm) of a tensor of `shape`. */
function transposeMap(map: Int32Array, shape: readonly number[], perm: readonly number[]): Int32Array {
  const st = rowMajorStrides(shape);
  const oShape = perm.map((p) => shape[p]!), oStr = perm.map((p) => st[p]!);
  const res = new Int32Array(map.length);
  const idx = oShape.map(() => 0);
  let src = 0;
  for (let k = 0; k < map.length; k++) {
    res[k] = map[src]!;
    for (let d = oShape.length - 1; d >= 0; d--) {
      idx[d]!++;
      src += oStr[d]!;
      if (idx[d]! < oShape[d]!) break;
      src -= oStr[d]! * oShape[d]!;
      idx[d] = 0;
    }
  }
  return res;
}

/** Permutations p with out[j] = in[p[j]] (unit axes taken in order), at most `cap`. */
function shapePerms(inS: readonly number[], outS: readonly number[], cap = 64): number[][] {
  const found: number[][] = [];
  const used = inS.map(() => false);
  const perm: number[] = [];
  const go = (j: number): void => {
    if (found.length >= cap) return;
    if (j === outS.length) { found.push([...perm]); return; }
    for (let p = 0; p < inS.length; p++) {
      if (used[p] || inS[p] !== outS[j]) continue;
      used[p] = true; perm.push(p);
      go(j + 1);
      used[p] = false; perm.pop();
      if (inS[p] === 1) break;
    }
  };
  go(0);
  return found;
}

function explicitPlan(chain: readonly Node[], input: Value, out: Value): Step[] | string {
  const batch = typeof input.shape[0] === 'string' ? input.shape[0] : null;
  const item = (s: Shape): number[] | null => {
    if (batch !== null && (s.length === 0 || !sameDim(s[0]!, batch))) return null;
    const rest = batch !== null ? s.slice(1) : s;
    return rest.every((d) => typeof d === 'number') ? (rest as number[]) : null;
  };
  const inS = item(input.shape), outS = item(out.shape);
  if (!inS || !outS) return 'symbolic dimensions other than a leading batch';
  const total = inS.reduce((a, d) => a * d, 1);
  if (total > MAX_MAP) return 'too large to map explicitly';
  const iota = () => Int32Array.from({ length: total }, (_, i) => i);
  let map: Int32Array = iota(), shape = inS;
  for (const n of chain) {
    const o = item(n.output.shape);
    if (!o) return `${n.op} ${n.label} moves the symbolic batch`;
    if (n.op === 'Transpose') {
      let perm = n.attrInts('perm', [...n.input(0).shape.keys()].reverse());
      if (batch !== null) {
        if (perm[0] !== 0) return `${n.op} ${n.label} moves the symbolic batch`;
        perm = perm.slice(1).map((p) => p - 1);
      }
      map = transposeMap(map, shape, perm);
    }
    shape = o;
  }
  if (map.every((v, i) => v === i)) return sameShape(input.shape, out.shape) ? [] : [{ op: 'Reshape', shape: [...out.shape] }];
  if (inS.length === outS.length) {
    for (const perm of shapePerms(inS, outS)) {
      const t = transposeMap(iota(), inS, perm);
      if (t.every((v, i) => v === map[i])) return [{ op: 'Transpose', perm: batch !== null ? [0, ...perm.map((p) => p + 1)] : perm }];
    }
  }
  return 'the chain is not a reshape or a single transpose';
}

/** Follows the chain with atoms; `done` ops were followed before `why` stopped it (if it did). */
function follow(chain: readonly Node[], shape: Shape): { atoms: Atoms; why: string | null; done: number } {
  const atoms = new Atoms(shape);
  let done = 0;
  for (const n of chain) {
    let why: string | null = null;
    if (n.op === 'Transpose') atoms.transpose(n.attrInts('perm', [...n.input(0).shape.keys()].reverse()));
    else if (n.op !== 'Identity') why = atoms.reshape(n.output.shape);
    if (why) return { atoms, why: `${n.op} ${n.label}: ${why}`, done };
    done++;
  }
  return { atoms, why: null, done };
}

export const cancelLayout: Rule<CancelLayout> = {
  name: 'cancel-layout',
  ops: [...CHAIN_OPS],
  match(tail): CancelLayout | Fail {
    const out = tail.outputs[0]!;
    if (tail.outputs.length !== 1) return fail('more than one output');
    const next = out.hasSingleUse() ? [...out.uses][0]!.node : null;
    if (next && CHAIN_OPS.has(next.op) && next.outputs.length === 1) return fail(`not the end of the layout chain (${next.op} ${next.label} follows)`);
    const chain = [tail];
    let input = tail.input(0);
    while (input.producer && CHAIN_OPS.has(input.producer.op) && input.producer.outputs.length === 1 && input.hasSingleUse()) {
      chain.unshift(input.producer);
      input = input.producer.input(0);
    }
    if (chain.length < 2) return fail('a single layout op');
    if (input.isConstant) return fail('constant input (folding handles it)');
    if (input.shape.filter((d) => typeof d !== 'number').length > 1) return fail('more than one symbolic dimension');
    const { atoms, why, done } = follow(chain, input.shape);
    let steps = why ? explicitPlan(chain, input, out) : plan(atoms, input.shape, out.shape);
    let end = tail;
    if (typeof steps === 'string' && done >= 2) {
      // the ops before the one the atoms cannot follow may still shrink on their own
      end = chain[done - 1]!;
      const ps = plan(follow(chain.slice(0, done), input.shape).atoms, input.shape, end.output.shape);
      if (ps.length >= done) return fail(`${why}; ${steps}; the ${done} ops before it are already minimal`);
      steps = ps;
    }
    if (typeof steps === 'string') return fail(`${why}; ${steps}`);
    const length = end === tail ? chain.length : done;
    if (steps.length >= length) return fail(`${length} layout ops are already minimal`);
    if (steps.length === 0 && input.isGraphInput && end.output.isGraphOutput) return fail('would connect a graph input to an output');
    return { chain: chain.slice(0, chain.indexOf(end) + 1), input, steps };
  },
  rewrite({ chain, input, steps }) {
    const g = input.graph;
    const tail = chain[chain.length - 1]!;
    const cut = tail.name.lastIndexOf('/');
    const scope = new Builder(g, cut > 0 ? tail.name.slice(0, cut) : tail.name);
    let y = input;
    const names: [Value, string][] = [];
    steps.forEach((s, i) => {
      // the new ops and values take the names of the chain's last ops (free once the chain is gone)
      const old = chain[chain.length - steps.length + i]!;
      const b = new Builder(g, old.name);
      y = s.op === 'Reshape'
        ? b.node('Reshape', [y, scope.ints(s.shape.map((d) => (typeof d === 'number' ? d : -1)))], {}, { name: '' }).output
        : b.node('Transpose', [y], { perm: attr.ints(s.perm) }, { name: '' }).output;
      names.push([y, old.output.name]);
    });
    if (!sameShape(y.shape, tail.output.shape)) throw new Error(`cancel-layout: ${tail.name} rebuilt as [${y.shape}], not [${tail.output.shape}]`);
    return { replace: [[tail.output, y]], names };
  },
};
