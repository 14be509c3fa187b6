/**
 * Opset legalization, the driver: every node is rewritten by its op's `opsets` rule (the op
 * registry, src/graph/ops/opsets.ts holds the rules) into the form its opset defines. The IR accepts either form of the ops whose signature changed between opsets 13 and 21; this
 * pass rewrites each node into the form its opset defines, lowers ops the opset lacks, and throws
 * an `OpsetError` for combinations no rewrite can express.
 *
 *   Gelu (approximate = none | tanh)        ≥ 20 kept; below: 0.5·x·(1 + erf(x/√2)) or
 *                                            0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
 *   LayerNormalization                     ≥ 17 kept; below: mean / variance decomposition
 *   ReduceMean / ReduceMax / ReduceMin /
 *   ReduceProd / ReduceL1 / ReduceL2 …     ≥ 18 axes as an int64 input; below: `axes` attribute
 *   ReduceSum, Squeeze, Unsqueeze          axes as an input (≥ 13 for all of vitx's range)
 *   Split                                  split sizes as an input (≥ 13); `num_outputs` only ≥ 18
 *   Pad                                    pads as an input; the `axes` input only ≥ 18 (below:
 *                                          expanded to pads over every axis); mode wrap only ≥ 19
 *   Resize                                 antialias / axes / keep_aspect_ratio_policy only ≥ 18;
 *                                          coordinate mode half_pixel_symmetric only ≥ 19
 *   AveragePool                            `dilations` only ≥ 19 (below: dropped when all 1)
 *   Cast                                   `saturate` only ≥ 19 (below: dropped)
 *   GroupNormalization                     only ≥ 21 (its 18 form normalizes differently)
 */
import { Builder } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import { getOp } from '../graph/ops/index.js';
import { OpsetError } from '../graph/ops/opsets.js';

export { OpsetError };

export const MIN_OPSET = 13;
export const MAX_OPSET = 21;

/** Rewrites `g` in place so that every op is valid at `opset`. */
export function legalize(g: Graph, opset: number): void {
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OpsetError(`opset ${opset} is not supported (vitx writes opsets ${MIN_OPSET}…${MAX_OPSET})`);
  }
  g.topoSort();
  // A worklist: lowerings may emit ops (ReduceMean from LayerNormalization) that need legalizing too.
  const work = [...g.nodes];
  while (work.length > 0) {
    const n = work.shift()!;
    if (!g.nodes.has(n) || n.domain) continue;
    const rule = n.domain ? undefined : getOp(n.op)?.opsets;
    if (!rule) continue;
    const before = new Set(g.nodes);
    const repl = rule(new Builder(g, n.name), n, opset);
    if (!repl) continue;
    n.outputs.forEach((o, i) => o.replaceAllUsesWith(repl[i]!));
    g.removeNode(n);
    const created = [...g.nodes].filter((m) => !before.has(m));
    work.push(...created);
    // a node rewritten into one node of the same op keeps its name
    const same = created.filter((m) => m.op === n.op);
    if (same.length === 1) g.renameNode(same[0]!, n.name);
  }
  g.topoSort();
}
