/**
 * `vitx export -w` with PyTorch checkpoints, through the real binary: timm training checkpoints
 * (.pth.tar: args, optimizer state, DDP `module.` prefixes, EMA weights) export byte-identically
 * to the same weights as .safetensors; `--checkpoint-key` chooses; hostile files give one line,
 * exit 1, no output file and no side effect.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/graph/tensor.js';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { buildPth, writeZip } from '../helpers/pth.js';
import { checkLogits, referenceCheckpoint, referenceInput } from '../helpers/reference.js';
import { runOnnx } from '../../src/runtime/ort.js';

const dir = tempDir();

/** The reference weights with every float tensor halved: the fixture's non-EMA `state_dict`. */
function halved(model: string): Map<string, Tensor> {
  return new Map([...referenceCheckpoint(model)].map(([k, t]) => [k, new Tensor('float32', t.shape, (t.data as Float32Array).map((v) => v * 0.5))]));
}

/**
 * The ONNX file records the weights file's base name (metadata `vitx.weights`), so both exports read
 * a file called `weights` (vitx detects the format by content) from their own folder.
 */
function put(sub: string, bytes: Uint8Array): string {
  mkdirSync(join(dir, sub), { recursive: true });
  const f = join(dir, sub, 'weights');
  writeFileSync(f, bytes);
  return f;
}

function exportTo(out: string, args: string[]): { code: number; stdout: string; stderr: string; bytes: Uint8Array | null } {
  const r = vitx(['export', ...args, '-o', out]);
  return { ...r, bytes: existsSync(out) ? readFileSync(out) : null };
}

for (const model of ['mobilevit_xxs', 'fastvit_t8']) {
  describe(`${model}: timm training checkpoint (.pth.tar)`, () => {
    const tar = put(`${model}-pth`, buildPth(`${model}_train`, model));
    const ema = put(`${model}-ema-st`, writeSafetensors(referenceCheckpoint(model)));

    it('default: the EMA weights, byte-identical to the safetensors export; the choice is printed', () => {
      const a = exportTo(join(dir, `${model}-pth.onnx`), [model, '-w', tar]);
      expect(a.stderr).toBe('');
      expect(a.code).toBe(0);
      expect(a.stdout).toContain("weights  PyTorch checkpoint, state dict 'state_dict_ema' (EMA weights)");
      const b = exportTo(join(dir, `${model}-st.onnx`), [model, '-w', ema]);
      expect(b.code).toBe(0);
      expect(b.stdout).toContain('weights  safetensors');
      expect(Buffer.compare(a.bytes!, b.bytes!)).toBe(0);
      const c = exportTo(join(dir, `${model}-key-ema.onnx`), [model, '-w', tar, '--checkpoint-key', 'state_dict_ema', '-q']);
      expect(c.code).toBe(0);
      expect(Buffer.compare(c.bytes!, b.bytes!)).toBe(0);
    });

    it('the EMA export computes the reference logits', async () => {
      const x = referenceInput(model);
      const out = await runOnnx(readFileSync(join(dir, `${model}-pth.onnx`)), { input: { dtype: 'float32', dims: x.dims, data: x.data } });
      expect(checkLogits(model, out['logits']!.data as Float32Array).pass).toBe(true);
    });

    it("--checkpoint-key state_dict: the training weights (DDP 'module.' prefix removed), byte-identical to their safetensors", () => {
      const a = exportTo(join(dir, `${model}-sd.onnx`), [model, '-w', tar, '--checkpoint-key', 'state_dict']);
      expect(a.code).toBe(0);
      expect(a.stdout).toMatch(/state dict 'state_dict', prefix 'module\.' removed from \d+ keys/);
      const b = exportTo(join(dir, `${model}-sd-st.onnx`), [model, '-w', put(`${model}-half-st`, writeSafetensors(halved(model)))]);
      expect(Buffer.compare(a.bytes!, b.bytes!)).toBe(0);
      const ema = readFileSync(join(dir, `${model}-st.onnx`));
      expect(Buffer.compare(a.bytes!, ema)).not.toBe(0); // the two state dicts differ, so the choice is observable
    });
  });
}

describe('vitx verify -w with a PyTorch checkpoint', () => {
  it('mobilevit_xxs from the training checkpoint passes on cpu', () => {
    const f = put('verify', buildPth('mobilevit_xxs_train', 'mobilevit_xxs'));
    const r = vitx(['verify', 'mobilevit_xxs', '-w', f, '--ep', 'cpu', '--checkpoint-key', 'state_dict']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('bad checkpoints through the CLI: one line, exit 1, no output', () => {
  const marker = join(dir, 'pwned');
  const cases: [string, Uint8Array, RegExp][] = [
    ['os.system', writeZip([['archive/data.pkl', new Uint8Array(Buffer.from(`cos\nsystem\n(S'touch ${marker}'\ntR.`, 'latin1'))]]), /refuses to load os\.system/],
    ['legacy', Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]), /legacy \(pre-1\.6\) torch\.save format/],
    ['truncated', buildPth('tiny').subarray(0, 1500), /truncated zip archive|central directory/],
  ];
  for (const [what, bytes, want] of cases) {
    it(what, () => {
      const f = join(dir, `${what}.pth`);
      writeFileSync(f, bytes);
      const out = join(dir, `${what}.onnx`);
      const r = vitx(['export', 'mobilevit_xxs', '-w', f, '-o', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(want);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
      expect(existsSync(marker)).toBe(false);
    });
  }

  it('--checkpoint-key naming no entry lists the entries; without -w it is a usage error', () => {
    const f = put('tiny', buildPth('tiny'));
    const r = vitx(['export', 'mobilevit_xxs', '-w', f, '--checkpoint-key', 'ema', '-o', join(dir, 'k.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no entry 'ema' at the top level; entries: state_dict, args, metric, epoch/);
    expect(vitx(['export', 'mobilevit_xxs', '--checkpoint-key', 'ema', '-o', join(dir, 'k.onnx')]).code).toBe(2);
  });
});
