/** What a deployment target profile chooses: opset, rewrites and the lint it must pass. */
import type { Graph } from '../graph/ir.js';
import type { Pass } from '../passes/driver.js';
import type { Finding, LintContext } from './lint.js';

export type TargetName = 'ort' | 'tensorrt' | 'coreml' | 'web';

export interface TargetProfile {
  readonly name: TargetName;
  readonly description: string;
  /** Opset written when the user gives none. */
  readonly opset: number;
  /** Rewrites run after the optimizer, before fp16 conversion and legalization. */
  readonly passes: readonly Pass[];
  /** Findings about a legalized graph (no target runtime needed). */
  lint(g: Graph, ctx: LintContext): Finding[];
}
