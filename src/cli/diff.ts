/**
 * `vitx diff <a.onnx> <b.onnx>`: structural diff keyed on node and initializer names, numerical
 * comparison on seeded inputs (a is the reference), and with --bisect the first node whose output
 * diverges. See verify/diff.ts.
 *
 * Exit codes: 0 when both files take the same inputs and every common output agrees within
 * tolerance (structural differences are listed but do not fail: an optimized file differs from its
 * source by design); 1 when outputs differ beyond tolerance, an output exists in only one file, the
 * inputs differ, or a run fails — and, with --strict, when there is any structural difference;
 * 2 on a usage mistake.
 */
import { printable } from '../printable.js';
import type { Command } from 'commander';
import { BACKEND_NAMES, type BackendName, BackendPool, isBackendName } from '../runtime/backend.js';
import { fmt, type OutputComparison } from '../verify/compare.js';
import { diffModels, type DiffReport, type NamedOp } from '../verify/diff.js';
import { EXIT, UsageError } from './errors.js';
import { externalDataFiles, readModelBytes, selfContainedModel } from '../onnx/external.js';
import { checkOutputs, writeAtomic } from './files.js';
import type { Io } from './main.js';
import { DEFAULT_MAX_INPUT_MB, parseFloatOpt, parseMaxInputMb } from './options.js';
import { DEFAULT_ATOL, DEFAULT_RTOL } from './verify.js';

interface DiffFlags { ep: BackendName; atol: number; rtol: number; seed: number; batch: number; maxInputMb: number; bisect?: boolean; strict?: boolean; json?: string; limit: number }

function parseEp(v: string): BackendName {
  if (!isBackendName(v)) throw new UsageError(`--ep: unknown backend '${v}' (choose one of ${BACKEND_NAMES.join(', ')})`);
  return v;
}

function parseCount(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got '${v}'`);
    return n;
  };
}

function listed<T>(items: readonly T[], limit: number, line: (x: T) => string): string[] {
  const out = items.slice(0, limit).map((x) => `    ${line(x)}`);
  if (items.length > limit) out.push(`    … and ${items.length - limit} more (--limit, or --json for all)`);
  return out;
}

function comparisonText(c: OutputComparison): string {
  if (!c.pass && c.problem && c.count === 0) return `FAIL  (${c.problem})`; // nothing was compared: no statistics to show
  const head = `${c.pass ? 'pass' : 'FAIL'}  max|Δ| ${fmt(c.abs.max)}  mean|Δ| ${fmt(c.abs.mean)}  max rel ${fmt(c.rel.max)}  needs atol ${fmt(c.needsAtol)}`;
  if (c.problem) return `${head}  (${c.problem})`;
  return c.pass ? head : `${head}  (${c.failing} of ${c.count} elements beyond tolerance)`;
}

/** `name (Op)`; a file's unnamed node is already `#12 (Op)`. */
const nodeText = (n: NamedOp) => (n.unnamedIndex === undefined ? `${n.name} (${n.op})` : n.name);

export function formatDiff(r: DiffReport, limit: number): string {
  const s = r.structure;
  const L: string[] = [`diff ${r.a} ${r.b}`];
  if (s.identical) L.push('  structure  identical (nodes, attributes, shapes, initializers)');
  else {
    const parts = [
      s.opset && `opset ${s.opset.a} → ${s.opset.b}`,
      s.nodes.added.length && `${s.nodes.added.length} nodes added`,
      s.nodes.removed.length && `${s.nodes.removed.length} nodes removed`,
      s.nodes.changed.length && `${s.nodes.changed.length} nodes changed`,
      s.initializers.added.length && `${s.initializers.added.length} initializers added`,
      s.initializers.removed.length && `${s.initializers.removed.length} initializers removed`,
      s.initializers.changed.length && `${s.initializers.changed.length} initializers changed`,
      (s.inputs.added.length + s.inputs.removed.length + s.inputs.changed.length) && 'inputs differ',
      (s.outputs.added.length + s.outputs.removed.length + s.outputs.changed.length) && 'outputs differ',
    ].filter(Boolean);
    L.push(`  structure  ${parts.join(', ')}`);
    if (s.ops.length) L.push(`    ops: ${s.ops.map((o) => `${o.op} ${o.a}→${o.b}`).join(', ')}`);
    for (const [kind, io] of [['input', s.inputs], ['output', s.outputs]] as const) {
      L.push(...listed(io.removed, limit, (n) => `${kind} ${n} only in a`), ...listed(io.added, limit, (n) => `${kind} ${n} only in b`));
      L.push(...listed(io.changed, limit, (c) => `${kind} ${c.name}: ${c.a} → ${c.b}`));
    }
    L.push(...listed(s.initializers.changed, limit, (c) => `initializer ${c.name} changed: ${c.maxAbsDiff === null ? c.changes.join(', ') : `max |Δ| ${fmt(c.maxAbsDiff)} (${c.differing} of ${c.count} elements)`}`));
    L.push(...listed(s.initializers.removed, limit, (i) => `initializer ${i.name} ${i.dtype}[${i.shape.join(',')}] only in a`));
    L.push(...listed(s.initializers.added, limit, (i) => `initializer ${i.name} ${i.dtype}[${i.shape.join(',')}] only in b`));
    L.push(...listed(s.nodes.changed, limit, (c) => `node ${nodeText(c)}: ${c.changes.join('; ')}`));
    L.push(...listed(s.nodes.removed, limit, (n) => `node ${nodeText(n)} only in a`));
    L.push(...listed(s.nodes.added, limit, (n) => `node ${nodeText(n)} only in b`));
  }
  const n = r.numeric;
  L.push(`  numeric    ${n.backend}, seed ${n.seed}, |b−a| ≤ ${fmt(n.tolerance.atol)} + ${fmt(n.tolerance.rtol)}·|a|${n.error ? `: ${n.error}` : ''}`);
  for (const m of n.matching ?? []) L.push(`    ${m}`);
  for (const c of n.outputs) L.push(`    ${c.name}: ${comparisonText(c)}`);
  if (r.bisect) {
    const b = r.bisect;
    if (b.skipped) L.push(`  bisect     skipped: ${b.skipped}`);
    else if (!b.first) L.push(`  bisect     none of the ${b.compared} values both files compute diverges`);
    else {
      const f = b.first;
      L.push(`  bisect     first diverging node: ${nodeText({ name: f.node, op: f.op, unnamedIndex: f.unnamedIndex })}, output ${f.output} (${b.compared} common values, ${b.runs} runs)`);
      L.push(`    ${comparisonText(f.comparison)}`);
      L.push(`    inputs: ${f.inputs.map((i) => `${i.name} (${i.status})`).join(', ')}`);
    }
  }
  return `${L.map(printable).join('\n')}\n`; // names from the files: control and bidi characters escaped
}

export function registerDiff(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command('diff')
    .description('compare two ONNX files: structure by name, outputs on seeded inputs, first diverging node')
    .argument('<a>', 'reference .onnx file')
    .argument('<b>', 'candidate .onnx file')
    .option('--ep <backend>', `backend to run both files on (${BACKEND_NAMES.join(', ')})`, parseEp, 'cpu')
    .option('--atol <a>', 'absolute tolerance', parseFloatOpt('--atol'), DEFAULT_ATOL)
    .option('--rtol <r>', 'relative tolerance', parseFloatOpt('--rtol'), DEFAULT_RTOL)
    .option('--seed <s>', 'seed of the generated inputs', parseCount('--seed', 0, 0xffffffff), 0)
    .option('--batch <n>', 'batch size for a symbolic batch dimension (1…4096)', parseCount('--batch', 1, 4096), 1)
    .option('--max-input-mb <n>', 'largest total size of the generated inputs, in MiB', parseMaxInputMb, DEFAULT_MAX_INPUT_MB)
    .option('--bisect', 'find the first node whose output diverges beyond tolerance')
    .option('--strict', 'also fail (exit 1) on any structural difference')
    .option('--limit <n>', 'lines listed per kind of change', parseCount('--limit', 1, 1e9), 20)
    .option('--json <file>', 'write a machine-readable report')
    .action(async (a: string, b: string, f: DiffFlags) => {
      // External data is read from each model's own folder and handed to onnxruntime inline.
      const ba = selfContainedModel(a, readModelBytes(a, 'model file')), bb = selfContainedModel(b, readModelBytes(b, 'model file'));
      if (f.json) checkOutputs([['--json', f.json]], [a, b, ...externalDataFiles(a), ...externalDataFiles(b)]);
      const pool = new BackendPool();
      let r: DiffReport;
      try {
        const backend = await pool.get(f.ep);
        r = await diffModels({ path: a, bytes: ba }, { path: b, bytes: bb }, {
          backend, tolerance: { atol: f.atol, rtol: f.rtol }, seed: f.seed, batch: f.batch, bisect: f.bisect, maxInputBytes: f.maxInputMb * 2 ** 20,
          onProgress: io.isTTY ? (w) => io.err(`diff: ${w}…\n`) : undefined,
        });
      } finally {
        await pool.close();
      }
      const fails = !r.equivalent || (f.strict === true && !r.structure.identical);
      io.out(formatDiff(r, f.limit));
      io.out(!r.equivalent ? `diff: ${r.numeric.error ? 'cannot show the files are equivalent' : 'outputs differ beyond tolerance'}\n`
        : r.structure.identical ? 'diff: no difference\n'
          : `diff: outputs agree within tolerance; structure differs${f.strict ? ' (--strict)' : ''}\n`);
      if (f.json) {
        const body = { ...r, strict: f.strict === true, pass: !fails };
        writeAtomic(f.json, [new TextEncoder().encode(`${JSON.stringify(body, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`)]);
      }
      setCode(fails ? EXIT.failure : EXIT.ok);
    });
}
