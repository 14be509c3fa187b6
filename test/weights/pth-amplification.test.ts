/**
 * Issue 17 §3: checkpoints that amplify. A few bytes can make a dict (`}`) or pass a memoized
 * million-element container to an allowed call that copies it (`builtins.set`, `_codecs.encode`),
 * as often as they are repeated; the unpickler charges what it builds against a budget
 * proportional to the pickle's length and refuses past it, in one line naming the file. Container
 * opcodes with 300k items (ADDITEMS, APPENDS) are loops, not argument spreads that overflow the stack.
 * The zip reader checks each entry's CRC-32 once, however many tensors view its storage.
 * Each crafted file is generated here; the peak memory and time of each read are bounded.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/weights/checkpoint.js';
import { PickleError, unpickle, valueBudget } from '../../src/weights/pickle.js';
import { measure } from '../helpers/budget.js';
import { tempDir, vitx } from '../helpers/cli.js';
import { writeZip } from '../helpers/pth.js';

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const archive = (pkl: Uint8Array) => writeZip([['archive/data.pkl', pkl], ['archive/version', latin1('3\n')]]);
const u32 = (n: number) => String.fromCharCode(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);

/** Reads `pkl` as a checkpoint: it must be refused for its budget, in one line, quickly and in bounded memory. */
function expectRefused(pkl: Uint8Array, name: string): void {
  const m = measure(() => readCheckpoint(archive(pkl), name));
  expect(m.error, 'the pickle was not refused').toBeInstanceOf(PickleError);
  const msg = (m.error as Error).message;
  expect(msg).toMatch(new RegExp(`^${name.replace('.', '\\.')} \\(data\\.pkl\\): the pickle builds more than \\d+ MB of values from its ${pkl.length} bytes .*refused$`));
  expect(msg).not.toContain('\n');
  if (m.peakGrowthMB !== null) expect(m.peakGrowthMB).toBeLessThan(512);
  expect(m.ms).toBeLessThan(20_000);
}

describe('pickle amplification is refused against a budget proportional to the pickle', () => {
  it('4 MB of EMPTY_DICT opcodes (before: 1.9 GB); through the CLI: one line, exit 1, no output file', () => {
    const pkl = latin1(`\x80\x02${'}'.repeat(4 << 20)}.`);
    expectRefused(pkl, 'dicts.pth');
    const dir = tempDir('vitx-pkl-');
    writeFileSync(join(dir, 'dicts.pth'), archive(pkl));
    const r = vitx(['export', 'mobileone_s0', '-w', join(dir, 'dicts.pth'), '-o', join(dir, 'm.onnx')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^vitx: error: weights file .*dicts\.pth \(data\.pkl\): the pickle builds more than \d+ MB of values from its \d+ bytes [^\n]*refused\n$/);
    expect(existsSync(join(dir, 'm.onnx'))).toBe(false);
  });

  it('a memoized million-element list passed to builtins.set 300 times, the copies kept on the stack (before: gigabytes)', () => {
    // [None] * 1e6 as memo 0, builtins.set as memo 1, then 300 × set(memo 0)
    const list = `]q\x00(${'N'.repeat(1_000_000)}e0`;
    const calls = 'h\x01h\x00\x85R'.repeat(300);
    expectRefused(latin1(`\x80\x02${list}cbuiltins\nset\nq\x010${calls}}.`), 'sets.pth');
  });

  it('a memoized 1 MB string encoded by _codecs.encode 300 times', () => {
    const text = `X${u32(1 << 20)}${'a'.repeat(1 << 20)}q\x000`;
    const calls = `h\x01h\x00X${u32(6)}latin1\x86R`.repeat(300);
    expectRefused(latin1(`\x80\x02${text}c_codecs\nencode\nq\x010${calls}}.`), 'codecs.pth');
  });

  it('the budget leaves room: a 300k-element list and a 1 MB string read once are accepted', () => {
    const pkl = latin1(`\x80\x02](${'K\x01'.repeat(300_000)}eX${u32(1 << 20)}${'b'.repeat(1 << 20)}\x86.`);
    const v = unpickle(pkl, { what: 'ok.pkl', calls: new Map() }) as { items: unknown[] };
    expect((v.items[0] as number[]).length).toBe(300_000);
    expect((v.items[1] as string).length).toBe(1 << 20);
    expect(valueBudget(pkl.length)).toBe(32 * pkl.length + 16 * 2 ** 20);
  });
});

describe('300k-item container opcodes', () => {
  it('ADDITEMS and APPENDS with 300k items build the containers (before: stack overflow, "internal error")', () => {
    const items = 'N'.repeat(300_000);
    for (const [what, pkl] of [['ADDITEMS', `\x80\x04\x8f(${items}\x90.`], ['APPENDS', `\x80\x02](${items}e.`]] as const) {
      const v = unpickle(latin1(pkl), { what, calls: new Map() });
      expect(Array.isArray(v) && v.length, what).toBe(300_000);
    }
  });
});

describe('the zip reader', () => {
  it('20,000 one-element views of one 8 MB storage read in linear time (before: the CRC of the storage per view, ~1 min)', () => {
    const n = 20_000, numel = 2 << 20;
    const storage = new Float32Array(numel).map((_, i) => i);
    // memo 1: _rebuild_tensor_v2, 2: the storage (BINPERSID), 3: OrderedDict
    let pkl = `\x80\x02}q\x00(ctorch._utils\n_rebuild_tensor_v2\nq\x010(X${u32(7)}storagectorch\nFloatStorage\nX${u32(1)}0X${u32(3)}cpuJ${u32(numel)}tQq\x020ccollections\nOrderedDict\nq\x030`;
    for (let i = 0; i < n; i++) {
      const key = `w${i}`;
      pkl += `X${u32(key.length)}${key}h\x01(h\x02J${u32(i * 97)}(K\x01t(K\x01t\x89h\x03)RtR`;
    }
    pkl += 'u.';
    const file = writeZip([['archive/data.pkl', latin1(pkl)], ['archive/data/0', new Uint8Array(storage.buffer)], ['archive/version', latin1('3\n')]]);
    let tensors: ReturnType<typeof readCheckpoint>['tensors'] | undefined;
    const m = measure(() => { tensors = readCheckpoint(file, 'views.pth').tensors; });
    expect(m.error).toBe(null);
    expect(tensors!.size).toBe(n);
    for (const i of [0, 1, 12_345, n - 1]) expect(tensors!.get(`w${i}`)!.toNumbers()).toEqual([i * 97]);
    expect(m.ms).toBeLessThan(10_000);
  });
});
