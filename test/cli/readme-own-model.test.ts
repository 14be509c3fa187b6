/**
 * The README's "Your own model" section runs as written: its `sh` block is executed by bash with
 * `vitx` on PATH (the real binary), in a folder holding the checkpoint it names (the
 * mobilevit_xxs reference weights with a 10-class head, as timm.create_model(…, num_classes=10)
 * would save). Each file it writes is then run and checked against the PyTorch reference.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOnnx } from '../../src/runtime/ort.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { BIN, ROOT, tempDir } from '../helpers/cli.js';
import { loadReference, referenceCheckpoint, referenceInput } from '../helpers/reference.js';
import { cutHead, expectSummary } from '../helpers/stages.js';

function section(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Your own model\n');
  expect(start).toBeGreaterThan(0);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(start, readme.indexOf('\n## ', start + 5)));
  expect(m).not.toBeNull();
  return m![1]!;
}

describe('README: Your own model', () => {
  it('the three commands run as written and write what the section says', async () => {
    const script = section();
    const commands = script.split('\n').filter((l) => l.startsWith('vitx '));
    expect(commands).toHaveLength(3);
    const dir = tempDir('vitx-readme-');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'vitx'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, 'vitx'), 0o755);
    const ckpt = /--weights (\S+)/.exec(commands[0]!)![1]!;
    const model = commands[0]!.split(' ')[2]!;
    writeFileSync(join(dir, ckpt), writeSafetensors(cutHead(model, referenceCheckpoint(model), 10)));

    const r = spawnSync('bash', ['-e', '-c', script], { cwd: dir, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    const { expected } = loadReference(model);
    const x = referenceInput(model);
    const two = new Float32Array(2 * x.data.length);
    two.set(x.data); two.set(x.data, x.data.length);
    const run = (f: string, batch = 1) => runOnnx(readFileSync(join(dir, f)), { input: { dtype: 'float32', dims: [batch, ...x.dims.slice(1)], data: batch === 1 ? x.data : two } });
    const outName = (c: string) => /-o (\S+)/.exec(c)![1]!;

    const cls = (await run(outName(commands[0]!)))['logits']!;
    expect(cls.dims).toEqual([1, 10]);
    const d = Math.max(...expected.logits.slice(0, 10).map((v, i) => Math.abs((cls.data as Float32Array)[i]! - v)));
    expect(d).toBeLessThanOrEqual(expected.tolerance_abs);

    const feats = await run(outName(commands[1]!), 2); // --batch dynamic: two copies of the image
    expect(Object.keys(feats)).toEqual(['features.2', 'features.3', 'features.4']);
    for (const [name, stage] of [['features.2', 'stage2'], ['features.3', 'stage3'], ['features.4', 'final_conv']] as const) {
      const t = feats[name]!;
      expect(t.dims[0]).toBe(2);
      const first = (t.data as Float32Array).subarray(0, t.data.length / 2);
      expectSummary(t, expected.stages.find((s) => s.name === stage)!, first);
    }

    const emb = (await run(outName(commands[2]!)))['embeddings']!;
    expectSummary(emb, expected.stages.find((s) => s.name === 'pre_logits')!);
  });
});
