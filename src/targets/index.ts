/** Deployment target profiles, by name (`--target`). */
import type { Graph } from '../graph/ir.js';
import { coreml } from './coreml.js';
import type { Finding } from './lint.js';
import { ort } from './ort.js';
import type { TargetName, TargetProfile } from './profile.js';
import { tensorrt } from './tensorrt.js';
import { web } from './web.js';

export const TARGETS: Readonly<Record<TargetName, TargetProfile>> = { ort, tensorrt, coreml, web };

export class TargetError extends Error {}

export function getTarget(name: string): TargetProfile {
  const t = (TARGETS as Record<string, TargetProfile>)[name];
  if (!t) throw new TargetError(`unknown target '${name}' (choose one of ${Object.keys(TARGETS).join(', ')})`);
  return t;
}

/** Lints a legalized graph for `target` at `opset`; errors first, then warnings, then info. */
export function lintFor(g: Graph, target: TargetProfile, opset: number): Finding[] {
  const rank = { error: 0, warning: 1, info: 2 } as const;
  return target.lint(g, { opset }).map((f, i) => ({ f, i })).sort((a, b) => rank[a.f.severity] - rank[b.f.severity] || a.i - b.i).map(({ f }) => f);
}

export { countErrors, type Finding, formatFinding, type Severity } from './lint.js';
export type { TargetName, TargetProfile } from './profile.js';
