/**
 * The default optimization pipeline, as a flat list. Each entry is output-preserving on its own
 * (see each file's header for the algebra); the driver runs rule sets to a fixed point.
 */
import type { Graph } from '../graph/ir.js';
import { verifyGraph } from '../graph/verify.js';
import { convAffine } from './conv-affine.js';
import { convBn } from './conv-bn.js';
import { deadCode } from './dce.js';
import { attentionScaleIntoQuery } from './attention-scale.js';
import { cancelLayout } from './cancel-layout.js';
import { type Pass, type PassStats, rulePass, type RunOptions } from './driver.js';
import { foldConstants } from './fold-constants.js';
import { identityToConv } from './identity-to-conv.js';
import { mergeParallelConvs } from './merge-parallel-convs.js';
import { mergePreAffine, mergePreNorm } from './pre-norm.js';
import { scaleIntoLinear } from './scale-into-linear.js';
import { SIMPLIFY_RULES } from './simplify.js';

export interface OptimizeOptions extends RunOptions {
  /** Structural changes: BatchNorm merging and branch reparameterization (default true). */
  reparam?: boolean;
  /** Replace the pipeline entirely (tests, `--passes`). */
  passes?: readonly Pass[];
  /** Run the graph verifier after every pass (tests; throws naming the pass). */
  verifyEach?: boolean;
  /** Called after each pass with its name and how many of the pipeline's passes are done. */
  onPass?: (name: string, done: number, total: number) => void;
}

export const BN_MERGE = rulePass('bn-merge', [convBn, mergePreNorm, mergePreAffine]);
/**
 * Structural reparameterization (RepVGG/MobileOne/FastViT): layer scales and shifts into convs,
 * identity and BN-only branches as convs, parallel convs of one input summed into one. With
 * conv-bn in the same fixed point these collapse a MobileOne block, RepLK, RepMixer and RepCPE
 * into a single conv each.
 */
export const REPARAM = rulePass('reparam', [convBn, convAffine, identityToConv, mergeParallelConvs]);
/**
 * Exact shrinking after reparameterization: constant scales (layer scales, the attention scale)
 * move into the Linear weights before them; chains of layout ops shrink to their shortest form.
 */
export const SHRINK = rulePass('shrink', [scaleIntoLinear, attentionScaleIntoQuery, cancelLayout]);
export const SIMPLIFY = rulePass('simplify', SIMPLIFY_RULES);

/** Pipeline without structural reparameterization: only output-identical clean-up. */
export const CLEANUP_PIPELINE: readonly Pass[] = [foldConstants, SIMPLIFY, foldConstants, deadCode];

export const DEFAULT_PIPELINE: readonly Pass[] = [foldConstants, SIMPLIFY, BN_MERGE, REPARAM, SHRINK, SIMPLIFY, foldConstants, deadCode];

export interface OptimizeReport {
  passes: { name: string; stats: PassStats }[];
  nodesBefore: Map<string, number>;
  nodesAfter: Map<string, number>;
}

export function optimize(g: Graph, o: OptimizeOptions = {}): OptimizeReport {
  const pipeline = o.passes ?? (o.reparam === false ? CLEANUP_PIPELINE : DEFAULT_PIPELINE);
  const nodesBefore = g.opHistogram();
  const passes = pipeline.map((p, i) => {
    const stats = p.run(g, o);
    o.onPass?.(p.name, i + 1, pipeline.length);
    if (o.verifyEach) {
      try { verifyGraph(g); } catch (e) { throw new Error(`after pass ${p.name}: ${(e as Error).message}`); }
    }
    return { name: p.name, stats };
  });
  g.topoSort();
  return { passes, nodesBefore, nodesAfter: g.opHistogram() };
}

export { type Pass, type PassStats, type Rule, rulePass, runRules, fail } from './driver.js';
