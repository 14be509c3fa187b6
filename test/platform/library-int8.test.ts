/**
 * The front door's int8 export (library exportModel with dtype 'int8' and calibration samples)
 * writes the bytes `vitx export --dtype int8 --calibration <folder>` writes, and reports the
 * fidelity the CLI prints; phases are reported in order.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportModel, type ExportPhase } from '../../src/library.js';
import { loadSamples } from '../../src/quant/data.js';
import { preprocessCfg } from '../../src/quant/pretrained-cfg.js';
import { ROOT, tempDir, vitx } from '../helpers/cli.js';

describe('library exportModel, int8', () => {
  it('equals vitx export --dtype int8 (same calibration photos)', async () => {
    const folder = join(ROOT, 'fixtures', 'images', 'calibration');
    const calibration = loadSamples(folder, [3, 224, 224], preprocessCfg('mobileone_s0', [224, 224]), 'calibration data');
    const phases: ExportPhase[] = [];
    const r = await exportModel('mobileone_s0', { dtype: 'int8', int8: { calibration }, onProgress: (p) => { if (phases.at(-1) !== p.phase) phases.push(p.phase); } });
    expect(phases).toEqual(['weights', 'build', 'calibrate', 'fidelity', 'done']);
    expect(r.int8!.fidelity.samples.length).toBeGreaterThan(0);
    const out = join(tempDir('vitx-int8-'), 'm.onnx');
    const cli = vitx(['export', 'mobileone_s0', '--dtype', 'int8', '--calibration', folder, '--force', '-o', out]);
    expect(cli.code, cli.stderr).toBe(0);
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(sha(r.bytes)).toBe(sha(readFileSync(out)));
    expect(cli.stdout).toContain(`${r.int8!.quantized.weights} weights`);
  });
});
