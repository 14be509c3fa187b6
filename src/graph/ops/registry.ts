/**
 * The op registry: one entry per ONNX op holding everything vitx knows about it, so that shape
 * inference, constant folding, opset legalization, the fp16 policy, layout handling, MAC counting
 * and target support cannot drift apart (design.md, principle 9). The entries live in the files of
 * this folder, one per op group; `index.ts` loads them all.
 *
 * Folding contract: `fold.run` is called only when every input's dtype is in `fold.dtypes` and
 * `fold.when` (if any) returns null; otherwise the op is left for the runtime. A kernel never
 * approximates an attribute value or dtype it does not implement — it declines.
 */
import type { Attrs, Node, ValueType } from '../ir.js';
import type { DType, Tensor } from '../tensor.js';
import type { InferFn } from './infer-util.js';

export type Kernel = (inputs: readonly (Tensor | null)[], attrs: Attrs) => Tensor[];

export interface FoldSpec {
  /** Element types the kernel implements exactly (every present input must have one of them). */
  readonly dtypes: readonly DType[];
  /** The input slots `dtypes` applies to (default: all; reductions: only the data, not `axes`). */
  readonly operands?: readonly number[];
  /** Why this node cannot be folded (unsupported attribute value, out-of-range index …), or null. */
  readonly when?: (inputs: readonly (Tensor | null)[], attrs: Attrs) => string | null;
  readonly run: Kernel;
}

/**
 * How the fp16 pass treats the op: 'half' computes in float16; 'fp32' keeps it in float32 with
 * Casts around it (long sums, exp); `fixedF32` input slots stay float32 whatever the node does.
 */
export type Fp16Policy = 'half' | 'fp32';

/** What cancel-layout may do with it: 'chain' = a pure relabelling of elements (Reshape, Transpose …). */
export type LayoutRole = 'chain';

/** Rewrites a node into the form opset `opset` defines; null = already valid (see onnx/legalize.ts). */
export type OpsetRule = (b: import('../builder.js').Builder, n: Node, opset: number) => import('../ir.js').Value[] | null;

export type TargetName = 'web' | 'coreml';

export interface OpSpec {
  /** Output types from input types (and constant inputs); throws ShapeError with a precise message. */
  readonly infer?: InferFn;
  /** Folding from constant inputs. */
  readonly fold?: FoldSpec;
  /** Folding from input *types* alone (Shape of a static tensor); null = not foldable here. */
  readonly foldFromTypes?: (inputs: readonly (ValueType | null)[], attrs: Attrs) => Tensor[] | null;
  /** Never folded even with constant inputs (results much larger than inputs, or random). */
  readonly noFold?: boolean;
  readonly opsets?: OpsetRule;
  readonly fp16?: Fp16Policy;
  readonly fixedF32?: readonly number[];
  readonly layout?: LayoutRole;
  /** Multiply-accumulates of one node (static dims; symbolic dims count 1). */
  readonly macs?: (n: Node) => number;
  /** Input slots that are shapes, axes or sizes: a static engine (TensorRT) wants them as initializers. */
  readonly shapeOperands?: readonly number[];
  /** Runtimes with a kernel for it (see targets/*.ts for the sources). */
  readonly targets?: readonly TargetName[];
}

const REGISTRY = new Map<string, OpSpec>();

/** Adds `spec`'s fields to op `name`'s entry; a field defined twice is a programming error. */
export function defineOp(name: string, spec: OpSpec): void {
  const old = REGISTRY.get(name) ?? {};
  for (const k of Object.keys(spec) as (keyof OpSpec)[]) {
    if (k === 'targets' || (k === 'shapeOperands' && spec.shapeOperands?.join() === old.shapeOperands?.join())) continue;
    if (old[k] !== undefined) throw new Error(`op ${name}: ${k} defined twice`);
  }
  const targets = [...(old.targets ?? []), ...(spec.targets ?? [])];
  REGISTRY.set(name, { ...old, ...spec, ...(targets.length ? { targets } : {}) });
}

/** Marks every op in `names` as supported by `target`. */
export function supportedBy(target: TargetName, names: readonly string[]): void {
  for (const n of names) defineOp(n, { targets: [target] });
}

export function getOp(name: string): OpSpec | undefined {
  return REGISTRY.get(name);
}

/** Every registered op name, sorted. */
export function opNames(): string[] {
  return [...REGISTRY.keys()].sort();
}

/** Names of the ops whose entry satisfies `pred`. */
export function opsWhere(pred: (spec: OpSpec) => boolean): Set<string> {
  return new Set([...REGISTRY].filter(([, s]) => pred(s)).map(([n]) => n));
}
