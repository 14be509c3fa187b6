/**
 * The summary `vitx export` prints after writing a file, as text (no I/O): shared by the CLI and
 * the web app, which shows the same lines.
 */
import type { ExportResult } from '../pipeline.js';
import { formatFinding } from '../targets/index.js';

export interface SummaryFacts {
  /** The output file as named to the user (`nextvit_small.onnx`). */
  output: string;
  /** The data file's name, shown when the initializers went to a side file. */
  dataPath: string;
  /** `weights <file>`, `deterministic init`, or the hub download. */
  weightsText: string;
  /** The checkpoint reader's one-line description (a `weights` line), if a checkpoint was read. */
  weightsSummary?: string;
  /** The graph input is the uint8 image (--preprocess). */
  preprocess: boolean;
  /** The default pass pipeline ran (false: --no-optimize). */
  optimize: boolean;
  /** Graph I/O type with fp16. */
  io: 'fp32' | 'fp16';
  /** A target was named (--target): its lint line is printed. */
  targetNamed: boolean;
  /** The int8 report lines (cli/quantize.ts formatInt8Report), or ''. */
  int8Text: string;
  /** Wall time of the whole command. */
  seconds: number;
}

const total = (h: Map<string, number>) => [...h.values()].reduce((a, b) => a + b, 0);

export function histogramLine(before: Map<string, number>, after: Map<string, number>): string {
  const ops = [...new Set([...before.keys(), ...after.keys()])].sort();
  return ops.map((op) => {
    const a = before.get(op) ?? 0, b = after.get(op) ?? 0;
    return a === b ? `${op} ${a}` : `${op} ${a}→${b}`;
  }).join(', ');
}

/** What the outputs are: feature reductions, or the checkpoint tag whose preprocessing the file records. */
function outputNote(md: ReadonlyMap<string, string>): string {
  const red = md.get('vitx.feature_reductions');
  const parts = red ? [`reductions ${red.split(',').map((x) => `/${x}`).join(' ')}`] : [];
  const tag = md.get('vitx.pretrained_tag');
  if (tag) parts.push(`preprocessing of ${tag}`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}

export function formatExportSummary(r: Pick<ExportResult, 'bytes' | 'external' | 'graph' | 'opset' | 'params' | 'exportedParams' | 'nodesBefore' | 'nodesAfter' | 'passes' | 'fp16' | 'findings' | 'target' | 'ms'>, f: SummaryFacts): string {
  const out: string[] = [];
  const mb = ((r.bytes.byteLength + (r.external?.dataBytes ?? 0)) / 1e6).toFixed(1);
  const size = r.graph.inputs[0]!.shape.join('×');
  out.push(`wrote ${f.output} (${mb} MB, opset ${r.opset}, input ${size}${f.preprocess ? ` ${r.graph.inputs[0]!.dtype}` : ''}, ${f.weightsText})`);
  out.push(`  outputs  ${r.graph.outputs.map((v) => `${v.name} ${v.shape.join('×')}`).join(', ')}${outputNote(r.graph.metadata)}`);
  if (f.weightsSummary) out.push(`  weights  ${f.weightsSummary}`);
  out.push(`  params   ${r.params.toLocaleString('en-US')} (exported tensors: ${r.exportedParams.toLocaleString('en-US')} values)`);
  out.push(`  nodes    ${total(r.nodesBefore)} → ${total(r.nodesAfter)}: ${histogramLine(r.nodesBefore, r.nodesAfter)}`);
  const fired = r.passes.flatMap((p) => Object.entries(p.stats.counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ×${n}`));
  const firedText = fired.length ? fired.join(', ') : 'none fired';
  out.push(`  passes   ${f.optimize ? firedText : fired.length ? `${firedText} (--no-optimize: target rewrites only)` : 'skipped (--no-optimize)'}`);
  if (r.fp16) out.push(`  dtype    fp16 (graph I/O ${f.io}): ${r.fp16.half} nodes in float16, ${r.fp16.keptFp32} kept in float32, ${r.fp16.casts} Casts`);
  let text = `${out.join('\n')}\n${f.int8Text}`;
  const tail: string[] = [];
  if (r.external) tail.push(`  data     ${f.dataPath} (${(r.external.dataBytes / 1e6).toFixed(1)} MB, ${r.external.tensors} tensors; keep it next to ${f.output.split(/[\\/]/).pop()})`);
  if (f.targetNamed) {
    const warnings = r.findings.filter((x) => x.severity === 'warning').length;
    tail.push(`  target   ${r.target}: lint ${r.findings.length === 0 ? 'clean' : `0 errors, ${warnings} warning${warnings === 1 ? '' : 's'}`}`);
    for (const x of r.findings) tail.push(`    ${formatFinding(x)}`);
  }
  tail.push(`  time     ${f.seconds.toFixed(2)} s (build ${(r.ms.build / 1000).toFixed(2)} s, optimize ${(r.ms.optimize / 1000).toFixed(2)} s, write ${(r.ms.serialize / 1000).toFixed(2)} s)`);
  text += `${tail.join('\n')}\n`;
  return text;
}
