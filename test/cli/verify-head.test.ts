/**
 * `vitx verify <model> -w ckpt --features … | --num-classes N --reference exported.onnx`: an
 * exported features / embeddings file verified against its checkpoint through the real binary, and
 * refused in one line (exit 1) when the file and the flags build different outputs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../src/weights/safetensors.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { referenceCheckpoint } from '../helpers/reference.js';
import { cutHead } from '../helpers/stages.js';

const MODEL = 'mobilevit_xxs';
const SIZE = ['--size', '128'];
let dir: string, ft10: string, feat: string, emb: string, featInit: string;

function exportFile(name: string, args: string[]): string {
  const out = join(dir, name);
  const r = vitx(['export', MODEL, ...SIZE, ...args, '-o', out, '-q']);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

function verify(args: string[]) {
  return vitx(['verify', MODEL, ...SIZE, '--ep', 'cpu', ...args]);
}

beforeAll(() => {
  dir = tempDir('vitx-verify-head-');
  ft10 = join(dir, 'ft10.safetensors');
  writeFileSync(ft10, writeSafetensors(cutHead(MODEL, referenceCheckpoint(MODEL), 10)));
  feat = exportFile('feat.onnx', ['-w', ft10, '--features', '2,3']);
  emb = exportFile('emb.onnx', ['-w', ft10, '--num-classes', '0']);
  featInit = exportFile('feat-init.onnx', ['--features', '2,3']);
}, 120_000);

describe('vitx verify --features / --num-classes', () => {
  it('an exported --features file against its checkpoint: PASS on both maps', () => {
    const r = verify(['-w', ft10, '--features', '2,3', '--reference', feat]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}cpu\/features\.2 +pass /m);
    expect(r.stdout).toMatch(/^ {2}cpu\/features\.3 +pass /m);
    expect(r.stdout).toMatch(new RegExp(`verify ${MODEL}: PASS on cpu\\n$`));
  });

  it('an exported --num-classes 0 file (embeddings) against its checkpoint: PASS', () => {
    const r = verify(['-w', ft10, '--num-classes', '0', '--reference', emb]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}cpu +pass /m);
    expect(r.stdout).toMatch(/PASS on cpu\n$/);
  });

  it('the same maps from other weights: a mismatch (exit 1), not a pass', () => {
    const r = verify(['-w', ft10, '--features', '2,3', '--reference', featInit]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}cpu\/features\.2 +FAIL /m);
    expect(r.stdout).toMatch(/FAIL on cpu \(mismatch\)\n$/);
  });

  it.each([
    ['other feature indices', () => ['-w', ft10, '--features', '1,2', '--reference', feat],
      /the reference's outputs \(features\.2, features\.3\) are not the model's outputs \(features\.1, features\.2\): features\.1 not in the reference; features\.3 not in the model/],
    ['the checkpoint\'s head instead of the embedding', () => ['-w', ft10, '--reference', emb],
      /the reference's outputs \(embeddings\) are not the model's outputs \(logits\): logits not in the reference; embeddings not in the model/],
    ['another class count', () => ['--num-classes', '0', '--reference', exportFile('logits5.onnx', ['--num-classes', '5'])],
      /the reference's outputs \(logits\) are not the model's outputs \(embeddings\): embeddings not in the reference; logits not in the model/],
  ] as const)('file and flags disagree (%s): one line, exit 1', (_what, args, msg) => {
    const r = verify([...args()]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a class count that differs only in size: one line naming both shapes, exit 1', () => {
    const r = verify(['--num-classes', '7', '--reference', exportFile('logits9.onnx', ['--num-classes', '9'])]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/the reference's output logits is \[1,9\], the model's is \[1,7\]/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    [['--features', '2', '--num-classes', '3'], /--features exports no classifier; drop --num-classes/],
    [['--features', 'x'], /--features takes comma-separated feature indices/],
    [['--num-classes', '-1'], /--num-classes must be an integer from 0/],
  ])('usage mistakes %j: exit 2, one line', (args, msg) => {
    const r = verify(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--features / --num-classes on an .onnx file: exit 2', () => {
    const r = vitx(['verify', feat, '--ep', 'cpu', '--features', '2,3']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--num-classes and --features apply to model names, not \.onnx files/);
  });
});
