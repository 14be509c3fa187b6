/**
 * The int8 report as `vitx export --dtype int8` / `vitx quantize` print it (no I/O): shared by the
 * CLI (cli/quantize.ts) and the web app.
 */
import type { BenchEp } from '../bench/latency.js';
import type { FidelityReport } from './fidelity.js';
import { type CalibrationMethod, type QuantizeResult, type QuantProfile, weightType } from './index.js';

export interface Int8Report {
  profile: QuantProfile; method: CalibrationMethod; opset: number;
  calibration: string; heldOut: string;
  quantized: QuantizeResult['stats'];
  fidelity: FidelityReport;
  latency: { ep: BenchEp; runs: number; float32Ms: number; int8Ms: number; ratio: number };
  written: boolean;
}

export function formatInt8Report(r: Int8Report): string {
  const f = r.fidelity;
  const lines = [
    `  int8     QDQ for ${r.profile}: ${r.quantized.weights} weights ${weightType(r.profile)} per channel${r.profile === 'web' ? ' (zero point 128)' : ''}, ${r.quantized.activations} activations ${r.profile === 'tensorrt' ? 'int8' : 'uint8'} per tensor, ${r.quantized.biases} biases int32${r.quantized.reluFolded ? `, ${r.quantized.reluFolded} Relus folded into Q` : ''}`,
    `  calib    ${r.method} on ${r.calibration}`,
    `  fidelity ${f.samples.length} held-out input${f.samples.length === 1 ? '' : 's'} on ${r.latency.ep} (${r.heldOut}), output ${f.output} vs float32, worst sample:`,
    `           pearson ${f.worst.pearson.toFixed(4)}, cosine ${f.worst.cosine.toFixed(4)}, max rel error ${f.worst.maxRelError.toFixed(4)}` +
      (f.top1Agreement === null ? '' : `; top-1 agreement ${(100 * f.top1Agreement).toFixed(0)} %, top-5 ${(100 * f.top5Agreement!).toFixed(0)} %`),
  ];
  const w = f.layers.worst[0];
  if (w) lines.push(`  layers   ${f.layers.compared} compared; loses most: ${w.node} (${w.op}) relative error ${w.error.toFixed(4)} (+${w.added.toFixed(4)} over its inputs)`);
  lines.push(`  latency  ${r.latency.ep}: float32 ${r.latency.float32Ms.toFixed(2)} ms, int8 ${r.latency.int8Ms.toFixed(2)} ms (${r.latency.ratio.toFixed(2)}×, median of ${r.latency.runs} interleaved runs)` +
    (r.profile === 'tensorrt' ? '; tensorrt placement: not TensorRT\'s latency, no refusal' : ''));
  return `${lines.join('\n')}\n`;
}
