/**
 * Mutation fuzzing of the readers of untrusted data files beside the ONNX ones (readers.test.ts):
 * PyTorch checkpoints (zip + pickle), `.npy` calibration tensors and calibration photos (PNG,
 * JPEG, decoded and preprocessed). Mutations and generators are in mutate-data.ts and aim at
 * amplification: repeated opcodes and containers, huge counts and dimensions, zlib bombs.
 *
 * The property: each case either reads or throws the reader's own one-line error, and stays
 * within a per-case budget of peak RSS growth and wall time (harness.ts DATA_BUDGET, IMAGE_BUDGET)
 * that the seeds never approach and that the amplification of issue 17 (1.9–4.1 GB, 57 s) exceeds.
 * VITX_FUZZ_RUNS cases per reader kind (CI 1000; `npm run fuzz` 50000), seeded by VITX_FUZZ_SEED.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage, ImageError, preprocessImage } from '../../src/quant/images.js';
import type { PreprocessCfg } from '../../src/quant/pretrained-cfg.js';
import { NpyError, readNpy } from '../../src/quant/npy.js';
import { readCheckpoint } from '../../src/weights/checkpoint.js';
import { CheckpointError } from '../../src/weights/load.js';
import { PickleError } from '../../src/weights/pickle.js';
import { SafetensorsError } from '../../src/weights/safetensors.js';
import { TorchCheckpointError } from '../../src/weights/torch.js';
import { ZipError } from '../../src/weights/zip.js';
import { buildPth, pthFixture, writeZip } from '../helpers/pth.js';
import { FIXTURES } from '../helpers/reference.js';
import { DATA_BUDGET, expectReaderError, IMAGE_BUDGET, params, RUNS, TIMEOUT, withinBudget, withSeededRng } from './harness.js';
import { mutateBytes } from './mutate.js';
import { genStateDict, interlacedPng, mutateJpeg, mutateNpy, mutatePickle, mutatePng } from './mutate-data.js';

// ---------------------------------------------------------------- PyTorch checkpoints

const CHECKPOINT_ERRORS = [CheckpointError, PickleError, TorchCheckpointError, ZipError, SafetensorsError];

/**
 * A fixture's archive: its pickle, and its storages (literal ones; a storage the fixture fills from
 * reference weights is left empty, so that each case stays small: its tensors are refused as
 * shorter than their storage, after the whole pickle was read).
 */
function archiveOf(name: string): { entries: [string, Uint8Array][]; pkl: Uint8Array; pklIndex: number } {
  const { desc, pkl } = pthFixture(name);
  const entries = desc.entries.map((e): [string, Uint8Array] => {
    const rel = e.slice(desc.top.length + 1);
    if (rel === 'data.pkl') return [e, pkl];
    if (rel.startsWith('data/')) {
      const s = desc.storages.find((x) => x.key === rel.slice(5))!;
      return [e, s.fill.hex !== undefined ? new Uint8Array(Buffer.from(s.fill.hex, 'hex')) : new Uint8Array()];
    }
    return [e, new Uint8Array(Buffer.from(desc.files[rel]!, 'latin1'))];
  });
  return { entries, pkl, pklIndex: entries.findIndex(([e]) => e.endsWith('data.pkl')) };
}

function checkCheckpoint(bytes: Uint8Array): void {
  withinBudget('PyTorch checkpoint', DATA_BUDGET, bytes.length, () => {
    try {
      const c = readCheckpoint(bytes, 'fuzz.pth');
      for (const [k, t] of c.tensors) if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`tensor ${k}: ${t.data.length} elements for shape [${t.shape}]`);
    } catch (e) {
      expectReaderError(e, CHECKPOINT_ERRORS);
    }
  });
}

describe('fuzz: PyTorch checkpoint reader (zip + pickle)', () => {
  // torch 1.13's own pickles: the tiny fixture (every tensor form) and Apple's fused MobileOne release
  const seeds = ['tiny', 'mobileone_s0_official_fused'].map(archiveOf);
  it('the seeds read', () => {
    expect(readCheckpoint(buildPth('tiny'), 'tiny.pth').tensors.size).toBe(6);
    expect(readCheckpoint(writeZip(seeds[0]!.entries), 'seed.pth').tensors.size).toBe(6);
    expect(() => readCheckpoint(writeZip(seeds[1]!.entries), 'seed.pth')).toThrow(/storage data\/\d+ declares \d+ elements but holds 0/);
  });
  it('opcode-level pickle mutations', () => {
    fc.assert(withSeededRng((r) => {
      const s = r.pick(seeds);
      const entries = [...s.entries];
      entries[s.pklIndex] = [entries[s.pklIndex]![0], mutatePickle(s.pkl, r)];
      checkCheckpoint(writeZip(entries));
    }), params);
  }, TIMEOUT);
  it('generated state dicts: up to 5000 views of 1–3 storages, edge sizes, strides and offsets', () => {
    fc.assert(withSeededRng((r) => {
      const g = genStateDict(r);
      checkCheckpoint(writeZip([['archive/data.pkl', g.pkl], ...g.storages.map(([k, b]): [string, Uint8Array] => [`archive/data/${k}`, b]), ['archive/version', Uint8Array.of(0x33, 0x0a)]]));
    }), { ...params, numRuns: Math.ceil(RUNS / 2) });
  }, TIMEOUT);
  it('byte mutations of the archive', () => {
    const files = seeds.map((s) => writeZip(s.entries));
    fc.assert(withSeededRng((r) => checkCheckpoint(mutateBytes(r.pick(files), r))), { ...params, numRuns: Math.ceil(RUNS / 2) });
  }, TIMEOUT);
});

// ---------------------------------------------------------------- .npy

describe('fuzz: .npy reader', () => {
  const numpy = new Uint8Array(readFileSync(join(FIXTURES, 'images', 'small.npy'))); // written by numpy
  const f8 = (() => {
    const h = Buffer.from(`{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }`.padEnd(117, ' ') + '\n', 'latin1');
    const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0, 0]);
    head.writeUInt32LE(h.length, 8);
    return new Uint8Array(Buffer.concat([head, h, Buffer.from(new Float64Array([1, 2, 3, 4, 5, 6]).buffer)]));
  })();
  const check = (bytes: Uint8Array) => withinBudget('.npy', DATA_BUDGET, bytes.length, () => {
    try {
      const a = readNpy(bytes, 'fuzz.npy');
      expect(a.data.length).toBe(a.shape.reduce((x, y) => x * y, 1));
    } catch (e) {
      expectReaderError(e, [NpyError]);
    }
  });
  it('the seeds read', () => { expect(readNpy(numpy, 'a').shape).toEqual([2, 3, 4, 5]); expect(Array.from(readNpy(f8, 'b').data)).toEqual([1, 2, 3, 4, 5, 6]); });
  it('header and byte mutations', () => { fc.assert(withSeededRng((r) => check(mutateNpy(r.pick([numpy, f8]), r))), params); }, TIMEOUT);
});

// ---------------------------------------------------------------- calibration photos

describe('fuzz: calibration photos (decode + preprocess)', () => {
  const cfg: PreprocessCfg = { size: [112, 112], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], cropPct: 0.875, cropMode: 'center', interpolation: 'bicubic', source: 'fuzz' };
  const px = (x: number, y: number): [number, number, number] => [(x * 37 + y * 11) & 255, (x * 5) & 255, (y * 29) & 255];
  const rgba = (w: number, h: number) => Buffer.from(Array.from({ length: w * h }, (_, i) => [...px(i % w, Math.floor(i / w)), 255]).flat());
  const pngs = [
    PNG.sync.write(Object.assign(new PNG({ width: 24, height: 16 }), { data: rgba(24, 16) }), { colorType: 2 }),
    PNG.sync.write(Object.assign(new PNG({ width: 9, height: 31 }), { data: rgba(9, 31) }), { colorType: 0, inputColorType: 6, bitDepth: 16 }),
    Buffer.from(interlacedPng(13, 11, px)),
  ].map((b) => new Uint8Array(b));
  const jpegs = [jpeg.encode({ width: 32, height: 24, data: rgba(32, 24) }, 50).data, jpeg.encode({ width: 8, height: 40, data: rgba(8, 40) }, 90).data].map((b) => new Uint8Array(b));
  const check = (bytes: Uint8Array) => withinBudget('image', IMAGE_BUDGET, bytes.length, () => {
    try {
      const x = preprocessImage(decodeImage(bytes, 'fuzz.img'), cfg);
      expect(x.length).toBe(3 * 112 * 112);
    } catch (e) {
      expectReaderError(e, [ImageError]);
    }
  });
  it('the seeds decode', () => { for (const b of [...pngs, ...jpegs]) expect(preprocessImage(decodeImage(b, 'seed'), cfg).length).toBe(3 * 112 * 112); });
  it('PNG: chunk-level and byte mutations', () => { fc.assert(withSeededRng((r) => check(mutatePng(r.pick(pngs), r))), params); }, TIMEOUT);
  it('JPEG: segment-level and byte mutations', () => { fc.assert(withSeededRng((r) => check(mutateJpeg(r.pick(jpegs), r))), params); }, TIMEOUT);
});
