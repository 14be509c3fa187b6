/** Plain-text form of an inspect report (one fact per line; lint findings one per line). */
import { printable } from '../printable.js';
import { formatFinding } from '../targets/index.js';
import type { InspectReport, ValueSummary } from './index.js';

const giga = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(3)} G` : `${(n / 1e6).toFixed(2)} M`);
const sig = (v: ValueSummary) => `${v.name}: ${v.dtype}[${v.shape.join(', ')}]`;

/** `features.<i>: <module>, <channels> channels, reduction <r>` per feature output (vitx.feature_* metadata). */
function featureLines(md: Record<string, string>): string[] {
  if (!md['vitx.features']) return [];
  const col = (k: string) => md[k]?.split(',') ?? [];
  const [idx, mods, chs, reds] = [col('vitx.features'), col('vitx.feature_modules'), col('vitx.feature_channels'), col('vitx.feature_reductions')];
  return idx.map((i, j) => `${j === 0 ? 'features' : '        '} features.${i}: ${mods[j] ? `${mods[j]}, ` : ''}${chs[j]} channels, reduction ${reds[j]}`);
}

/** The preprocessing the weights expect (vitx.mean/std/crop_pct/interpolation, and the pretrained tag). */
function preprocessingLines(md: Record<string, string>): string[] {
  if (!md['vitx.mean']) return [];
  const extra = [
    md['vitx.crop_pct'] && `crop_pct ${md['vitx.crop_pct']}`,
    md['vitx.interpolation'] && `${md['vitx.interpolation']} resize`,
    md['vitx.pretrained_tag'] && `tag ${md['vitx.pretrained_tag']}`,
  ].filter(Boolean);
  return [`preproc  ${md['vitx.input_size'] ? `${md['vitx.input_size']}, ` : ''}mean ${md['vitx.mean']}, std ${md['vitx.std']}${extra.length ? `, ${extra.join(', ')}` : ''}`];
}

export function formatReport(r: InspectReport): string {
  const lines = [
    `graph    ${r.graph} (opset ${r.opset}${r.producer ? `, written by ${r.producer}` : ''})`,
    ...(r.metadata['vitx.model'] ? [`model    ${r.metadata['vitx.model']}`] : []),
    `inputs   ${r.inputs.map(sig).join('; ')}`,
    `outputs  ${r.outputs.map(sig).join('; ')}`,
    ...featureLines(r.metadata),
    ...preprocessingLines(r.metadata),
    `params   ${r.params.toLocaleString('en-US')} (${(r.weightBytes / 1e6).toFixed(1)} MB of initializers)`,
    `MACs     ${giga(r.macs)}${r.unknownDims ? ' (dims known only at run time count 1)' : r.dynamicDims.length ? ' per batch item' : ''} (${Object.entries(r.macsByOp).map(([op, n]) => `${op} ${giga(n)}`).join(', ') || 'none'})`,
    `nodes    ${r.nodes}: ${Object.entries(r.ops).map(([op, n]) => `${op} ${n}`).join(', ')}`,
    `rank     max ${r.maxRank}${r.maxRankValue ? ` (${r.maxRankValue})` : ''}`,
    `dynamic  ${r.dynamicDims.length || r.unknownDims ? [...r.dynamicDims, ...(r.unknownDims ? [`${r.unknownDims} dims known only at run time`] : [])].join(', ') : 'none (all shapes static)'}`,
  ];
  if (r.target) {
    const errors = r.findings.filter((f) => f.severity === 'error').length;
    const warnings = r.findings.filter((f) => f.severity === 'warning').length;
    lines.push(`lint     ${r.target}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}${r.findings.length === 0 ? ', clean' : ''}`);
    for (const f of r.findings) lines.push(`  ${formatFinding(f)}`);
  }
  return `${lines.map(printable).join('\n')}\n`; // names from the file: control and bidi characters escaped
}
