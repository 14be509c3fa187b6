/**
 * The rewrite driver.
 *
 * A rule looks at nodes of given op types. `match` inspects (never mutates) and returns either a
 * match object or `fail(reason)`. `rewrite` builds replacement nodes with the given Builder —
 * usually arithmetic over initializers — and returns which old values the new ones replace.
 * The driver then splices (`replaceAllUsesWith`), folds the constant arithmetic the rewrite emitted
 * (graph/kernels.ts), removes what became dead, gives folded tensors the names the rule asked for,
 * and repeats until no rule fires (capped: an endless rewrite loop is a bug and throws).
 */
import { Builder } from '../graph/builder.js';
import type { Graph, Node, Value } from '../graph/ir.js';
import { foldNodes } from './fold-constants.js';
import { removeDeadFrom } from './dce.js';

export interface Fail { readonly failed: string }
export const fail = (reason: string): Fail => ({ failed: reason });
export function isFail(x: unknown): x is Fail {
  return typeof x === 'object' && x !== null && 'failed' in x;
}

export interface Rewrite {
  /** [old, new] pairs: every use of old becomes a use of new. */
  replace: [Value, Value][];
  /** Optional names for new values (typically folded initializers keeping a checkpoint key). */
  names?: [Value, string][];
}

export interface Rule<M = unknown> {
  readonly name: string;
  /** Op types of the root node this rule looks at. */
  readonly ops: readonly string[];
  match(node: Node): M | Fail;
  rewrite(m: M, b: Builder): Rewrite;
}

export interface PassStats {
  /** Rewrites applied per rule name. */
  counts: Record<string, number>;
  /** Constant nodes folded. */
  folded: number;
  /** Nodes and initializers removed as dead. */
  removed: number;
  rounds: number;
}

export interface RunOptions {
  maxRounds?: number;
  /** Called after each rewrite (tests use it to verify invariants). */
  onRewrite?: (rule: string, g: Graph) => void;
  /** Collects why candidate nodes were rejected (for `--explain`); key `rule: node`. */
  explain?: Map<string, string>;
}

/** Runs rules to a fixed point. */
export function runRules(g: Graph, rules: readonly Rule<any>[], o: RunOptions = {}): PassStats {
  const stats: PassStats = { counts: Object.fromEntries(rules.map((r) => [r.name, 0])), folded: 0, removed: 0, rounds: 0 };
  const byOp = new Map<string, Rule<any>[]>();
  for (const r of rules) for (const op of r.ops) byOp.set(op, [...(byOp.get(op) ?? []), r]);
  const maxRounds = o.maxRounds ?? 1000;
  for (;;) {
    if (stats.rounds++ >= maxRounds) throw new Error(`rewrite did not reach a fixed point after ${maxRounds} rounds (rules: ${rules.map((r) => r.name).join(', ')})`);
    let fired = false;
    g.topoSort();
    for (const node of [...g.nodes]) {
      if (!g.nodes.has(node)) continue;
      for (const rule of byOp.get(node.op) ?? []) {
        const m = rule.match(node);
        if (isFail(m)) { o.explain?.set(`${rule.name}: ${node.label}`, m.failed); continue; }
        applyRewrite(g, node, rule, m, stats);
        o.onRewrite?.(rule.name, g);
        fired = true;
        break;
      }
    }
    if (!fired) break;
  }
  g.topoSort();
  return stats;
}

function applyRewrite(g: Graph, node: Node, rule: Rule<any>, m: unknown, stats: PassStats): void {
  const seq0 = g.nextSeq;
  const r = rule.rewrite(m, new Builder(g, node.name));
  const oldNames = r.replace.map(([o]) => o.name);
  for (const [oldV, newV] of r.replace) oldV.replaceAllUsesWith(newV);
  const created = [...g.nodes].filter((n) => n.seq >= seq0);
  const seeds = [...r.replace.map(([o]) => o), ...created.flatMap((n) => n.inputs)];
  const folded = foldNodes(g, created);
  stats.folded += folded.count;
  // a folded tensor another created node folded on from (W → Transpose → Reshape: the Transpose's
  // result) has lost its last use too, and is no input the seeds above could name
  stats.removed += removeDeadFrom(g, [...seeds, ...folded.map.values()]);
  // Replacement tensors inherit the names of the tensors they replace (so optimized and
  // unoptimized graphs can be compared by name); nodes get the names they asked for.
  r.replace.forEach(([, v], i) => {
    if (v.producer && created.includes(v.producer) && g.nodes.has(v.producer) && !g.value(oldNames[i]!)) g.renameValue(v, oldNames[i]!);
  });
  for (const [v0, name] of r.names ?? []) {
    const v = folded.map.get(v0) ?? v0;
    if (!g.value(name) && g.value(v.name) === v) g.renameValue(v, name);
  }
  for (const n of created) if (g.nodes.has(n) && n.requestedName) g.renameNode(n, n.requestedName);
  stats.counts[rule.name] = (stats.counts[rule.name] ?? 0) + 1;
}

/** A pass: a named transformation of the graph with statistics. */
export interface Pass {
  readonly name: string;
  run(g: Graph, o?: RunOptions): PassStats;
}

/** Wraps a rule list as a pass. */
export function rulePass(name: string, rules: readonly Rule<any>[]): Pass {
  return { name, run: (g, o) => runRules(g, rules, o) };
}
