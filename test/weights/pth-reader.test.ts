/**
 * The PyTorch checkpoint reader on torch.save's own pickles (fixtures/pth, written by
 * scripts/gen-pth-fixtures.py with torch 1.13) and on hostile input: every failure is one line of a
 * known error class, nothing named in a pickle runs, memory stays bounded. Includes a fuzz test.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/weights/load.js';
import { readCheckpoint } from '../../src/weights/checkpoint.js';
import { PickleError, type PyDict, unpickle } from '../../src/weights/pickle.js';
import { SafetensorsError } from '../../src/weights/safetensors.js';
import { TorchArchive, TorchCheckpointError } from '../../src/weights/torch.js';
import { ZipError } from '../../src/weights/zip.js';
import { FIXTURES } from '../helpers/reference.js';
import { buildPth, pthFixture, writeZip } from '../helpers/pth.js';
import { tempDir } from '../helpers/cli.js';

const KNOWN = [CheckpointError, PickleError, SafetensorsError, TorchCheckpointError, ZipError];

/** Runs `f`; returns null on success, else the error message, after checking it is one known-class line. */
function oneLineError(f: () => unknown): string | null {
  try { f(); return null; } catch (e) {
    if (!KNOWN.some((k) => e instanceof k)) throw new Error(`raw error escaped the reader: ${(e as Error)?.stack ?? String(e)}`);
    const msg = (e as Error).message;
    if (msg.includes('\n') || msg.length === 0 || msg.length > 2000) throw new Error(`not a one-line message: ${JSON.stringify(msg.slice(0, 300))}`);
    return msg;
  }
}

const tiny = () => buildPth('tiny');
const { desc: tinyDesc, pkl: tinyPkl } = pthFixture('tiny');
const archiveWith = (pkl: Uint8Array, extra: [string, Uint8Array][] = []) => writeZip([['archive/data.pkl', pkl], ...extra, ['archive/version', new TextEncoder().encode('3\n')]]);
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('torch.save checkpoints', () => {
  it('reads every tensor form of the tiny fixture exactly (float32, float16, bfloat16, strided views, offsets)', () => {
    const expected = JSON.parse(readFileSync(join(FIXTURES, 'pth', 'tiny', 'expected.json'), 'utf8')) as { values: Record<string, number[]>; shapes: Record<string, number[]> };
    const c = readCheckpoint(tiny(), 'tiny.pth');
    expect(c.key).toBe('state_dict');
    expect(c.stripped).toEqual([['module.', 6]]);
    expect([...c.tensors.keys()]).toEqual(Object.keys(expected.values).map((k) => k.replace('module.', '')));
    for (const [k, want] of Object.entries(expected.values)) {
      const t = c.tensors.get(k.replace('module.', ''))!;
      expect(t.shape, k).toEqual(expected.shapes[k]);
      expect(t.toNumbers(), k).toEqual(want);
    }
    expect(c.tensors.get('h.weight')!.dtype).toBe('float16');
    expect(c.tensors.get('b.weight')!.dtype).toBe('bfloat16');
  });

  it('training-checkpoint values beside the weights are plain data: argparse.Namespace, numpy scalars', () => {
    const root = new TorchArchive(tiny(), 'tiny.pth').root as PyDict;
    const args = root.get('args') as PyDict;
    expect(args.kind).toBe('Namespace');
    expect(Object.fromEntries(args.attrs)).toEqual({ model: 'tiny', lr: 0.5 });
    expect(root.get('metric')).toBe(1.5); // numpy.core.multiarray.scalar(numpy.dtype('f8'), <8 bytes>)
    expect(root.get('epoch')).toBe(3);
  });

  it('chooses the state dict as timm does: EMA first, None skipped, nested entries; prefixes removed in order', () => {
    // pickles written here in protocol 0 text, every tensor a view of tiny's storage 0 (24 float32)
    const t = (n: number) => `ctorch._utils\n_rebuild_tensor_v2\n((S'storage'\nctorch\nFloatStorage\nS'0'\nS'cpu'\nI24\ntQI${n}\n(I2\nt(I1\ntI00\nccollections\nOrderedDict\n)RtR`;
    const sd = (prefix: string, n: number) => `ccollections\nOrderedDict\n)R(S'${prefix}w'\n${t(n)}u`;
    const data = tinyDesc.storages.filter((x) => x.key === '0').map((x): [string, Uint8Array] => [`archive/data/${x.key}`, new Uint8Array(Buffer.from(x.fill.hex!, 'hex'))]);
    const read = (pkl: string, key?: string) => readCheckpoint(archiveWith(ascii(pkl), data), 'c.pth', { key });
    const first = (c: ReturnType<typeof read>) => [...c.tensors.values()][0]!.toNumbers()[0];
    // base[k] = k/8 - 1: the first element tells which tensor was read
    let c = read(`(S'model'\n${sd('', 0)}S'model_ema'\n${sd('', 8)}d.`);
    expect([c.key, first(c)]).toEqual(['model_ema', 0]);
    c = read(`(S'state_dict_ema'\nNS'model'\n${sd('module._orig_mod.', 16)}d.`);
    expect([c.key, first(c), [...c.tensors.keys()]]).toEqual(['model', 1, ['w']]);
    expect(c.stripped).toEqual([['module.', 1], ['_orig_mod.', 1]]);
    c = read(`(S'model'\n(S'state_dict'\n${sd('_orig_mod.module.', 0)}dd.`);
    expect([c.key, [...c.tensors.keys()]]).toEqual(['model/state_dict', ['module.w']]); // timm removes module. first, then _orig_mod.
    c = read(`(S'model'\n${sd('', 0)}S'model_ema'\n${sd('', 8)}d.`, 'model');
    expect([c.key, first(c)]).toEqual(['model', -1]);
    // a subclassed tensor (torch._tensor._rebuild_from_type_v2) is read as its base tensor
    c = read(`(S'w'\nctorch._tensor\n_rebuild_from_type_v2\n(ctorch._utils\n_rebuild_tensor_v2\nctorch.nn.parameter\nParameter\n((S'storage'\nctorch\nFloatStorage\nS'0'\nS'cpu'\nI24\ntQI4\n(I2\nt(I1\ntI00\nccollections\nOrderedDict\n)Rt(dtRd.`);
    expect(c.tensors.get('w')!.toNumbers()).toEqual([-0.5, -0.375]);
  });

  it('--checkpoint-key: a missing entry lists the ones there are', () => {
    expect(oneLineError(() => readCheckpoint(tiny(), 'tiny.pth', { key: 'state_dict_ema' })))
      .toMatch(/tiny\.pth has no entry 'state_dict_ema' at the top level; entries: state_dict, args, metric, epoch/);
    expect(oneLineError(() => readCheckpoint(tiny(), 'tiny.pth', { key: 'args' }))).toMatch(/entry 'args' is not a state dict of tensors \(it is a Namespace/);
  });

  it('the legacy (pre-1.6) format and other non-checkpoints get a clear one-line error', () => {
    const legacy = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
    expect(oneLineError(() => readCheckpoint(legacy, 'old.pth'))).toMatch(/legacy \(pre-1\.6\) torch\.save format; convert it .*torch\.save\(torch\.load/);
    expect(oneLineError(() => readCheckpoint(ascii('hello world, not a checkpoint'), 'x.bin'))).toMatch(/not a checkpoint vitx reads: not a PyTorch zip checkpoint, and as safetensors: header length/);
    const script = writeZip([['m/data.pkl', tinyPkl], ['m/code/__torch__.py', ascii('x')], ['m/constants.pkl', ascii('')]]);
    expect(oneLineError(() => readCheckpoint(script, 'm.pt'))).toMatch(/TorchScript archive/);
  });
});

describe('hostile checkpoints', () => {
  const marker = join(tempDir(), 'pwned');
  const evil: [string, string][] = [
    ['os.system', `cos\nsystem\n(S'touch ${marker}'\ntR.`],
    ['posix.system', `cposix\nsystem\n(S'touch ${marker}'\ntR.`],
    ['builtins.eval', `cbuiltins\neval\n(S'__import__("os").system("touch ${marker}")'\ntR.`],
    ['__builtin__.exec', `c__builtin__\nexec\n(S'open("${marker}","w")'\ntR.`],
    ['subprocess.Popen', `csubprocess\nPopen\n((S'touch'\nS'${marker}'\nltR.`],
    ['builtins.getattr', `cbuiltins\ngetattr\n(cbuiltins\ndict\nS'get'\ntR.`],
    ['importlib.import_module', `cimportlib\nimport_module\n(S'os'\ntR.`],
    ['os.system', `\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x13touch ${marker}\x85R.`.replace('\x8c\x13', `\x8c${String.fromCharCode(6 + marker.length)}`)], // protocol 4 STACK_GLOBAL
    ['nt.system', `(cnt\nsystem\nS'touch ${marker}'\no.`], // OBJ
    ['subprocess.call', `(S'touch'\nisubprocess\ncall\n.`], // INST
  ];
  for (const [what, program] of evil) {
    it(`refuses a pickle that names ${what}, without running it`, () => {
      for (const bytes of [archiveWith(ascii(program)), archiveWith(ascii(`\x80\x02}q\x00X\x0a\x00\x00\x00state_dictq\x01${program.slice(0, -1)}s.`))]) {
        const msg = oneLineError(() => readCheckpoint(bytes, 'evil.pth'));
        expect(msg).toMatch(new RegExp(`evil\\.pth \\(data\\.pkl\\): refuses to load ${what.replace('.', '\\.')}`));
      }
      expect(existsSync(marker)).toBe(false);
    });
  }

  it('a call that is not allowed becomes an inert placeholder off the tensor path and a refusal on it', () => {
    const storages = tinyDesc.storages.map((x): [string, Uint8Array] => [`archive/data/${x.key}`, new Uint8Array(Buffer.from(x.fill.hex!, 'hex'))]);
    // tiny's pickle with root['hook'] = collections.Counter('x') added before STOP: loads, the call is not made
    const hook = ascii(`X\x04\x00\x00\x00hookccollections\nCounter\n(S'x'\ntRs.`);
    const withHook = Uint8Array.from([...tinyPkl.subarray(0, tinyPkl.length - 1), ...hook]);
    expect(readCheckpoint(archiveWith(withHook, storages), 'p.pth').tensors.size).toBe(6);
    // on the path: the state dict itself is the call's result
    expect(oneLineError(() => readCheckpoint(archiveWith(ascii(`\x80\x02}X\x05\x00\x00\x00modelctimm.models.fastvit\nFastVit\n)\x81s.`)), 'm.pth')))
      .toMatch(/m\.pth: entry 'model' is a call to timm\.models\.fastvit\.FastVit \(not performed\), not a state dict of tensors \(a pickled Python object/);
  });

  it('each malformed archive is one line: truncated, zip bomb, storage too short, deep nesting, huge memo index', () => {
    const good = tiny();
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated', good.subarray(0, good.length - 100), /truncated zip archive|central directory/],
      ['truncated to the header', good.subarray(0, 40), /truncated zip archive/],
      ['not a state dict', archiveWith(ascii(`ccollections\nCounter\n(S'x'\ntR.`)), /its top-level object is a call to collections\.Counter \(not performed\)/],
      ['deep nesting', archiveWith(ascii('('.repeat(0) + ']'.repeat(200_000) + 'a'.repeat(199_999) + '.')), /no state dict|top-level object is a list/],
      ['huge memo index', archiveWith(ascii('\x80\x02j\xff\xff\xff\xff.')), /memo index 4294967295 was never stored/],
      ['LONG4 of 2 GB', archiveWith(ascii('\x80\x02\x8b\xff\xff\xff\x7f.')), /truncated pickle/],
      ['BINUNICODE of 4 GB', archiveWith(ascii('\x80\x02X\xff\xff\xff\xff.')), /truncated pickle/],
    ];
    // zip bomb: an entry declaring 1 TB of data in a small file
    const bomb = new Uint8Array(good);
    const dv = new DataView(bomb.buffer);
    const end = bomb.length - 22, cd = dv.getUint32(end + 16, true);
    dv.setUint32(cd + 20, 0xfffffff0, true); dv.setUint32(cd + 24, 0xfffffff0, true); // data.pkl's sizes
    cases.push(['zip bomb', bomb, /entry archive\/data\.pkl declares 4294967280 bytes .* beyond the end of the file/]);
    const compressed = new Uint8Array(good);
    new DataView(compressed.buffer).setUint16(cd + 10, 8, true);
    cases.push(['deflated entry', compressed, /entry archive\/data\.pkl is compressed \(method 8\)/]);
    // a storage shorter than its tensor: drop the last 4 bytes of storage 0 (the 4×6 float32 base)
    const short = writeZip(tinyDesc.entries.map((e) => {
      const rel = e.slice(tinyDesc.top.length + 1);
      if (rel === 'data.pkl') return [e, tinyPkl];
      if (rel.startsWith('data/')) {
        const s = tinyDesc.storages.find((x) => x.key === rel.slice(5))!;
        const b = Buffer.from(s.fill.hex!, 'hex');
        return [e, new Uint8Array(s.key === '0' ? b.subarray(0, b.length - 4) : b)];
      }
      return [e, ascii(tinyDesc.files[rel]!)];
    }));
    cases.push(['short storage', short, /tensor module\.a\.weight: storage data\/0 declares 24 elements but holds 23/]);
    for (const [what, bytes, want] of cases) {
      const msg = oneLineError(() => readCheckpoint(bytes, 'bad.pth'));
      expect(msg, what).toMatch(want);
    }
  });

  it('tensors that repeat a storage (stride 0, shared) cannot take unbounded memory', () => {
    // {'w<i>': _rebuild_tensor_v2(storage 0 of tiny, 0, (16777216,), (0,), False, OrderedDict()) for i < 12}: 12 × 64 MB
    const storage = `(S'storage'\nctorch\nFloatStorage\nS'0'\nS'cpu'\nI24\ntQ`;
    const tensor = `ctorch._utils\n_rebuild_tensor_v2\n(${storage}I0\n(I16777216\nt(I0\ntI00\nccollections\nOrderedDict\n)RtR`;
    let pkl = `}(S'w0'\n${tensor}p0\n`;
    for (let i = 1; i < 12; i++) pkl += `S'w${i}'\ng0\n`;
    pkl += 'u.';
    const data = [...tinyDesc.storages].filter((x) => x.key === '0').map((x): [string, Uint8Array] => [`archive/data/${x.key}`, new Uint8Array(Buffer.from(x.fill.hex!, 'hex'))]);
    expect(oneLineError(() => readCheckpoint(archiveWith(ascii(pkl), data), 'rep.pth'))).toMatch(/rep\.pth: its tensors would take more than \d+ bytes, over twice the file's size \(\d+ bytes\); at w1/);
    const stretched = `}(S'w'\nctorch._utils\n_rebuild_tensor_v2\n(${storage}I0\n(I16777217\nt(I0\ntI00\nccollections\nOrderedDict\n)RtRu.`;
    expect(oneLineError(() => readCheckpoint(archiveWith(ascii(stretched), data), 'big.pth'))).toMatch(/tensor w: shape \[16777217\] has 16777217 elements, more than its storage \(24\)/);
  });

  it('fuzz: mutated pickles and archives fail with one known-class line or load', () => {
    const good = tiny();
    const bytesArb = (src: Uint8Array) => fc.array(fc.record({ at: fc.nat(src.length - 1), v: fc.integer({ min: 0, max: 255 }), kind: fc.constantFrom('set', 'insert', 'delete', 'truncate') }), { minLength: 1, maxLength: 6 })
      .map((muts) => {
        let b = Array.from(src);
        for (const m of muts) {
          const at = Math.min(m.at, b.length);
          if (m.kind === 'set' && at < b.length) b[at] = m.v;
          else if (m.kind === 'insert') b.splice(at, 0, m.v);
          else if (m.kind === 'delete') b.splice(at, 1);
          else b = b.slice(0, at);
        }
        return Uint8Array.from(b);
      });
    let loaded = 0;
    const calls = new Map();
    // the pickle alone (2000 runs): the unpickler with the checkpoint's calls
    fc.assert(fc.property(bytesArb(tinyPkl), (pkl) => {
      oneLineError(() => unpickle(pkl, { what: 'fuzz', calls, persistentLoad: (p) => p }));
    }), { numRuns: 2000, seed: 11 });
    // the pickle inside an archive, through the whole reader (1500 runs)
    fc.assert(fc.property(bytesArb(tinyPkl), (pkl) => {
      const entries = tinyDesc.entries.map((e): [string, Uint8Array] => {
        const rel = e.slice(tinyDesc.top.length + 1);
        if (rel === 'data.pkl') return [e, pkl];
        if (rel.startsWith('data/')) return [e, new Uint8Array(Buffer.from(tinyDesc.storages.find((x) => x.key === rel.slice(5))!.fill.hex!, 'hex'))];
        return [e, ascii(tinyDesc.files[rel]!)];
      });
      if (oneLineError(() => readCheckpoint(writeZip(entries), 'fuzz.pth')) === null) loaded++;
    }), { numRuns: 1500, seed: 12 });
    // the zip bytes (1500 runs)
    fc.assert(fc.property(bytesArb(good), (zip) => {
      if (oneLineError(() => readCheckpoint(zip, 'fuzz.pth')) === null) loaded++;
    }), { numRuns: 1500, seed: 13 });
    expect(loaded).toBeGreaterThan(0); // some mutations are harmless (e.g. in padding): the reader is not just refusing everything
  });
});
