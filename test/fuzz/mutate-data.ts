/**
 * Mutations and generators for the data-file fuzzers (data-readers.test.ts), aimed at
 * amplification: a small file that makes a reader allocate or work far beyond its size.
 *
 *   pickle   opcode-level (a pickle split into opcodes with their arguments): repeat a range of
 *            opcodes up to 10^4 times (256 kB at most), insert runs of container opcodes (`}` `]`
 *            `)` `(`), MARK + up to 300k items + APPENDS / ADDITEMS / SETITEMS / TUPLE / DICT, memo
 *            gets (also of a memoized 64k-item list) passed to allowed calls (builtins.set,
 *            _codecs.encode, collections.OrderedDict, torch.Size) thousands of times, edge integers
 *            for sizes, strides, offsets and memo indices; and a
 *            generator of state dicts with up to 5000 tensors viewing 1–3 storages (some of 8 MB)
 *   npy      header text: keys repeated or dropped, shapes of edge dimensions, junk literals, deep
 *            nesting, padding past numpy's 10000 characters, version and length fields
 *   png      chunk-level: IHDR size / depth / colour / interlace edits (4000×1, 1×60000, 2^31…),
 *            IDAT replaced by zlib streams of 0 B to 8 MB (bombs), split, dropped, duplicated;
 *            CRCs fixed up most of the time so the decoder reads on
 *   jpeg     segment-level: frame size edits (8192×8192, 4000×1…), component sampling, segments
 *            dropped or repeated, the scan cut short
 */
import { crc32, deflateSync } from 'node:zlib';
import { mutateBytes, type Rng } from './mutate.js';

const EDGE_INTS = [0, 1, 2, 3, 24, 255, 256, 1000, 65535, 65536, 2 ** 24, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53, -1, -(2 ** 31)];

// ---------------------------------------------------------------- pickle: opcodes

/** Argument layout of each opcode: fixed bytes, a length prefix of n bytes, or text lines. */
const FIXED: Record<number, number> = { 0x4b: 1, 0x71: 1, 0x68: 1, 0x80: 1, 0x82: 1, 0x4d: 2, 0x83: 2, 0x4a: 4, 0x72: 4, 0x6a: 4, 0x84: 4, 0x47: 8, 0x95: 8 };
const PREFIXED: Record<number, number> = { 0x55: 1, 0x43: 1, 0x8a: 1, 0x8c: 1, 0x58: 4, 0x54: 4, 0x42: 4, 0x8b: 4, 0x8d: 8, 0x8e: 8, 0x96: 8 };
const LINES: Record<number, number> = { 0x49: 1, 0x4c: 1, 0x46: 1, 0x53: 1, 0x56: 1, 0x70: 1, 0x67: 1, 0x50: 1, 0x63: 2, 0x69: 2 };

/** Splits a pickle into opcodes (each with its argument bytes); null when it does not parse. */
export function splitOps(b: Uint8Array): Uint8Array[] | null {
  const ops: Uint8Array[] = [];
  for (let p = 0; p < b.length;) {
    const op = b[p]!;
    let end = p + 1;
    if (FIXED[op] !== undefined) end += FIXED[op]!;
    else if (PREFIXED[op] !== undefined) {
      const n = PREFIXED[op]!;
      if (end + n > b.length) return null;
      let len = 0;
      for (let i = n - 1; i >= 0; i--) len = len * 256 + b[end + i]!;
      end += n + len;
    } else if (LINES[op] !== undefined) {
      for (let k = 0; k < LINES[op]!; k++) { const nl = b.indexOf(0x0a, end); if (nl < 0) return null; end = nl + 1; }
    }
    if (end > b.length) return null;
    ops.push(b.subarray(p, end));
    p = end;
  }
  return ops;
}

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const u32 = (n: number) => String.fromCharCode(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** An int opcode for `n` (BININT1 / BININT2 / BININT / LONG1). */
function intOp(n: number): Uint8Array {
  if (n >= 0 && n < 256) return Uint8Array.of(0x4b, n);
  if (n >= 0 && n < 65536) return Uint8Array.of(0x4d, n & 0xff, n >> 8);
  if (n >= -(2 ** 31) && n < 2 ** 31) return latin1(`J${u32(n >>> 0)}`);
  let v = BigInt(n);
  const bytes: number[] = [];
  for (let i = 0; i < 8; i++) { bytes.push(Number(v & 0xffn)); v >>= 8n; }
  return Uint8Array.of(0x8a, 8, ...bytes);
}

const CALLS = ['cbuiltins\nset\n', 'c_codecs\nencode\n', 'ccollections\nOrderedDict\n', 'ctorch\nSize\n', 'cbuiltins\nfrozenset\n', 'ctorch._utils\n_rebuild_tensor_v2\n'];

/** One amplification-minded edit of an opcode list. */
function mutateOps(ops: Uint8Array[], r: Rng): Uint8Array[] {
  const at = r.int(0, Math.max(0, ops.length - 1));
  const runOf = (s: string, n: number) => latin1(s.repeat(n));
  switch (r.int(0, 10)) {
    case 0: { // repeat a range of opcodes many times
      const len = r.int(1, Math.min(40, ops.length - at));
      const times = r.pick([2, 10, 100, 1000, 10_000]);
      const range = concat(ops.slice(at, at + len));
      const k = Math.max(1, Math.min(times, Math.floor((1 << 18) / Math.max(1, range.length))));
      const repeated = range.length ? Buffer.alloc(range.length * (k - 1)).fill(range) : range; // k − 1 more copies
      return [...ops.slice(0, at + len), repeated, ...ops.slice(at + len)];
    }
    case 1: return [...ops.slice(0, at), runOf(r.pick(['}', ']', ')', '(', 'N', '\x8f', '\x88']), r.pick([10, 1000, 100_000, 1 << 18])), ...ops.slice(at)];
    case 2: { // MARK, many items, a container opcode
      const n = r.pick([2, 1000, 65536, 300_000]);
      const close = r.pick(['e', '\x90', 'u', 't', 'l', 'd', '\x91']);
      const prefix = close === 'e' ? ']' : close === '\x90' ? '\x8f' : close === 'u' ? '}' : '';
      const item = r.pick(['N', 'K\x01', 'h\x00']);
      return [...ops.slice(0, at), latin1(`${prefix}(${item.repeat(n)}${close}`), ...ops.slice(at)];
    }
    case 3: { // a memoized value passed to an allowed call, many times
      const idx = r.int(0, 8);
      const call = r.pick(CALLS);
      const one = `${call}h${String.fromCharCode(idx)}\x85R${r.chance(0.5) ? '0' : ''}`;
      return [...ops.slice(0, at), runOf(one, r.pick([1, 100, 1000, 20_000])), ...ops.slice(at)];
    }
    case 4: { // an int argument to an edge value
      const ints = ops.map((o, i) => [o, i] as const).filter(([o]) => [0x4b, 0x4d, 0x4a, 0x8a].includes(o[0]!));
      if (!ints.length) return ops;
      const [, i] = r.pick(ints);
      const out = [...ops];
      out[i] = intOp(r.pick(EDGE_INTS));
      return out;
    }
    case 5: { // a memo index changed
      const memo = ops.map((o, i) => [o, i] as const).filter(([o]) => [0x71, 0x68, 0x72, 0x6a].includes(o[0]!));
      if (!memo.length) return ops;
      const [o, i] = r.pick(memo);
      const out = [...ops];
      out[i] = o[0] === 0x71 || o[0] === 0x68 ? Uint8Array.of(o[0], r.int(0, 255)) : latin1(`${String.fromCharCode(o[0]!)}${u32(r.pick([0, 1, 1000, 2 ** 32 - 1]))}`);
      return out;
    }
    case 6: return ops.filter((_, i) => i !== at);
    case 7: { const out = [...ops]; out.splice(at, 0, ops[r.int(0, ops.length - 1)]!); return out; }
    case 8: { const out = [...ops]; const j = r.int(0, ops.length - 1); [out[at], out[j]] = [out[j]!, out[at]!]; return out; }
    case 10: { // a big list memoized, then passed to a copying call many times
      const list = `](${'N'.repeat(r.pick([100, 4096, 65536]))}eq\x0a0`;
      return [...ops.slice(0, at), latin1(list), runOf(`${r.pick(CALLS)}h\x0a\x85R`, r.pick([10, 1000, 5000])), ...ops.slice(at)];
    }
    default: { // a long string memoized, then encoded many times
      const s = `X${u32(1 << 16)}${'a'.repeat(1 << 16)}q\x09`;
      return [...ops.slice(0, at), latin1(s), runOf(`c_codecs\nencode\nh\x09X${u32(6)}latin1\x86R`, r.pick([1, 100, 5000])), ...ops.slice(at)];
    }
  }
}

/** A mutated pickle: opcode-level edits (1–3), or byte mutations when it does not split. */
export function mutatePickle(pkl: Uint8Array, r: Rng): Uint8Array {
  let ops = splitOps(pkl);
  if (!ops || r.chance(0.15)) return mutateBytes(pkl, r);
  for (let k = r.int(1, 3); k > 0; k--) ops = mutateOps(ops, r);
  return concat(ops);
}

// ---------------------------------------------------------------- pickle: state-dict generator

const STORAGES = [['FloatStorage', 4], ['HalfStorage', 2], ['BFloat16Storage', 2], ['LongStorage', 8], ['DoubleStorage', 8]] as const;

/**
 * A torch.save-like checkpoint: a state dict of up to 5000 tensors viewing 1–3 storages (some of
 * 8 MB). Most cases are valid — every view fits its storage (random rank, sizes, strides, offset)
 * — so the reader goes all the way (where work per tensor that grows with the storage shows);
 * in one case of four, a few tensors, storages or counts get edge values instead.
 */
export function genStateDict(r: Rng): { pkl: Uint8Array; storages: [string, Uint8Array][] } {
  const broken = r.chance(0.25);
  const edge = () => broken && r.chance(0.05);
  const k = r.int(1, 3);
  const storages = Array.from({ length: k }, (_, i) => {
    const [type, el] = r.pick(STORAGES);
    const numel = r.chance(0.1) ? (8 << 20) / el : r.pick([1, 6, 24, 1000]);
    const bytes = new Uint8Array(Math.max(0, numel * el - (edge() ? 1 : 0)));
    return { key: String(i), type, numel, declared: edge() ? r.pick(EDGE_INTS) : numel, bytes };
  });
  const n = r.pick([0, 1, 5, 50, 500, 2000, 5000]);
  const parts: string[] = ['\x80\x02'];
  const wrap = r.chance(0.3);
  if (wrap) parts.push(`}X${u32(10)}state_dict`);
  parts.push('ccollections\nOrderedDict\nq\x00)R(');
  parts.push('ctorch._utils\n_rebuild_tensor_v2\nq\x010');
  const seen = new Set<number>();
  const ints = (xs: number[]) => xs.map((x) => Buffer.from(intOp(x)).toString('latin1')).join('');
  for (let i = 0; i < n; i++) {
    const key = `t${i}`;
    const s = r.int(0, k - 1), st = storages[s]!;
    // a view that fits: sizes whose product is at most the storage, C-order strides (or 0), an offset within
    const rank = r.int(0, 3);
    const size: number[] = [];
    let room = st.numel;
    for (let d = 0; d < rank; d++) { const x = r.int(1, Math.max(1, Math.min(6, room))); size.push(x); room = Math.floor(room / x); }
    const stride = size.map((_, d) => (r.chance(0.1) ? 0 : size.slice(d + 1).reduce((a, b) => a * b, 1)));
    let offset = r.int(0, Math.max(0, st.numel - size.reduce((a, b) => a * b, 1)));
    if (edge()) size[r.int(0, Math.max(0, rank - 1))] = r.pick(EDGE_INTS);
    if (edge()) stride[r.int(0, Math.max(0, rank - 1))] = r.pick(EDGE_INTS);
    if (edge()) offset = r.pick(EDGE_INTS);
    const pid = seen.has(s) ? `h${String.fromCharCode(2 + s)}` : `(X${u32(7)}storagectorch\n${st.type}\nX${u32(st.key.length)}${st.key}X${u32(3)}cpu${ints([st.declared])}tQq${String.fromCharCode(2 + s)}`;
    seen.add(s);
    parts.push(`X${u32(key.length)}${key}h\x01(${pid}${ints([offset])}(${ints(size)}t(${ints(stride)}t\x89h\x00)RtR`);
  }
  parts.push('u');
  if (wrap) parts.push('s');
  parts.push('.');
  return { pkl: latin1(parts.join('')), storages: storages.map((s) => [s.key, s.bytes]) };
}

// ---------------------------------------------------------------- npy

const NPY_VALUES = ["'<f4'", "'<f8'", "'>f4'", "'|u1'", 'True', 'False', '0', '()', '(3,)', '(2, 3)', '[2, 3]', "{'a': 1}", 'None', "'x'", '((((((((1,),),),),),),),)', '(1L, 2L)', '(2, 3.0)', '-1', '1_0'];
const NPY_KEYS = ["'descr'", "'fortran_order'", "'shape'", "'extra'", '"shape"', '1'];

/** A .npy file whose header text or fields were edited. */
export function mutateNpy(file: Uint8Array, r: Rng): Uint8Array {
  if (r.chance(0.2)) return mutateBytes(file, r);
  const major = file[6]!, hstart = major === 1 ? 10 : 12;
  const hlen = major === 1 ? file[8]! | (file[9]! << 8) : Buffer.from(file).readUInt32LE(8);
  let text = Buffer.from(file.subarray(hstart, hstart + hlen)).toString('latin1').trimEnd();
  let data = file.subarray(hstart + hlen);
  const shape = () => `(${Array.from({ length: r.int(0, 4) }, () => r.pick([...EDGE_INTS.filter((x) => x >= 0), 2, 3, 4, 5])).join(', ')}${r.chance(0.5) ? ',' : ''})`;
  for (let k = r.int(1, 3); k > 0; k--) {
    switch (r.int(0, 7)) {
      case 0: text = text.replace(/}\s*$/, `${r.pick(NPY_KEYS)}: ${r.pick(NPY_VALUES)}, }`); break; // a key again, or another
      case 1: text = text.replace(/'shape':\s*\([^)]*\)/, `'shape': ${shape()}`); break;
      case 2: { const key = r.pick(["'descr'", "'fortran_order'", "'shape'"]); text = text.replace(new RegExp(`${key}:\\s*('[^']*'|True|False|\\([^)]*\\))`), `${key}: ${r.pick(NPY_VALUES)}`); break; }
      case 3: text = text.replace(new RegExp(`${r.pick(["'descr'", "'fortran_order'", "'shape'"])}:\\s*('[^']*'|True|False|\\([^)]*\\)),?`), ''); break;
      case 4: text += ' '.repeat(r.pick([1, 100, 10_001])); break;
      case 5: text = r.pick(['(', '[', '{']).repeat(r.pick([10, 1000, 5000])) + text; break;
      case 6: data = data.subarray(0, r.int(0, data.length)); break;
      case 7: data = new Uint8Array(Buffer.concat([data, Buffer.alloc(r.pick([1, 4, 1 << 20]))])); break;
    }
  }
  const version = r.chance(0.1) ? r.pick([[0, 0], [1, 1], [2, 0], [3, 0], [4, 0]]) : [major, 0];
  const h = Buffer.from(`${text}\n`, version[0] === 3 ? 'utf8' : 'latin1');
  const head = Buffer.alloc(version[0] === 1 ? 10 : 12);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version[0]!, version[1]!]).copy(head);
  const len = r.chance(0.05) ? r.pick([0, 1, 65535, 2 ** 32 - 1]) : h.length;
  if (version[0] === 1) head.writeUInt16LE(len & 0xffff, 8); else head.writeUInt32LE(len >>> 0, 8);
  return new Uint8Array(Buffer.concat([head, h, data]));
}

// ---------------------------------------------------------------- png

interface Chunk { type: string; data: Buffer; crc?: number }

function pngChunks(b: Uint8Array): Chunk[] | null {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const out: Chunk[] = [];
  for (let p = 8; p + 12 <= buf.length;) {
    const len = buf.readUInt32BE(p);
    if (p + 12 + len > buf.length) return null;
    out.push({ type: buf.toString('latin1', p + 4, p + 8), data: Buffer.from(buf.subarray(p + 8, p + 8 + len)) });
    p += 12 + len;
  }
  return out;
}

export function writePng(chunks: readonly Chunk[]): Uint8Array {
  const parts: Buffer[] = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  for (const c of chunks) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(c.data.length, 0);
    head.write(c.type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(c.crc ?? (crc32(Buffer.concat([Buffer.from(c.type, 'latin1'), c.data])) >>> 0));
    parts.push(head, c.data, crc);
  }
  return new Uint8Array(Buffer.concat(parts));
}

const SIZES = [0, 1, 2, 7, 64, 4000, 60000, 8192, 65535, 2 ** 31 - 1, 2 ** 32 - 1];

export function mutatePng(file: Uint8Array, r: Rng): Uint8Array {
  const chunks = pngChunks(file);
  if (!chunks || r.chance(0.2)) return mutateBytes(file, r);
  for (let k = r.int(1, 3); k > 0; k--) {
    const ihdr = chunks.find((c) => c.type === 'IHDR' && c.data.length === 13);
    const i = r.int(0, chunks.length - 1);
    switch (r.int(0, 7)) {
      case 0: if (ihdr) { ihdr.data = Buffer.from(ihdr.data); ihdr.data.writeUInt32BE(r.pick(SIZES), 0); } break;
      case 1: if (ihdr) { ihdr.data = Buffer.from(ihdr.data); ihdr.data.writeUInt32BE(r.pick(SIZES), 4); } break;
      case 2: if (ihdr) { ihdr.data = Buffer.from(ihdr.data); ihdr.data[r.pick([8, 9, 10, 11, 12])] = r.pick([0, 1, 2, 3, 4, 6, 8, 16, 255]); } break;
      case 3: { // the image data replaced by a zlib stream of n zero bytes (a bomb when n is large)
        const idat = chunks.findIndex((c) => c.type === 'IDAT');
        if (idat >= 0) chunks[idat] = { type: 'IDAT', data: deflateSync(Buffer.alloc(r.pick([0, 1, 100, 4096, 1 << 20, 8 << 20]))) };
        break;
      }
      case 4: chunks.splice(i, 0, { ...chunks[r.int(0, chunks.length - 1)]! }); break;
      case 5: chunks.splice(i, 1); break;
      case 6: { const c = chunks[i]!; if (c.data.length > 1) { const cut = r.int(1, c.data.length - 1); chunks.splice(i, 1, { type: c.type, data: c.data.subarray(0, cut) }, { type: c.type, data: c.data.subarray(cut) }); } break; }
      case 7: chunks[i] = { ...chunks[i]!, crc: r.int(0, 2 ** 32 - 1) }; break;
    }
  }
  return writePng(chunks);
}

/** An Adam7-interlaced 8-bit RGB PNG of w×h (filter 0 on every row of every pass). */
export function interlacedPng(w: number, h: number, pixel: (x: number, y: number) => [number, number, number]): Uint8Array {
  const rows: number[] = [];
  for (const [x0, y0, dx, dy] of [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const) {
    for (let y = y0; y < h; y += dy) {
      if (x0 >= w) break;
      rows.push(0);
      for (let x = x0; x < w; x += dx) rows.push(...pixel(x, y));
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2; ihdr[12] = 1;
  return writePng([{ type: 'IHDR', data: ihdr }, { type: 'IDAT', data: deflateSync(Buffer.from(rows)) }, { type: 'IEND', data: Buffer.alloc(0) }]);
}

// ---------------------------------------------------------------- jpeg

/** Segments up to the scan: [marker, bytes incl. marker and length], then the rest (scan + EOI). */
function jpegSegments(b: Uint8Array): { segments: Buffer[]; rest: Buffer } | null {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const segments: Buffer[] = [];
  let p = 2;
  while (p + 4 <= buf.length && buf[p] === 0xff) {
    const m = buf[p + 1]!;
    if (m === 0xda) break;
    const len = buf.readUInt16BE(p + 2);
    if (p + 2 + len > buf.length) return null;
    segments.push(Buffer.from(buf.subarray(p, p + 2 + len)));
    p += 2 + len;
  }
  return { segments, rest: Buffer.from(buf.subarray(p)) };
}

const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

export function mutateJpeg(file: Uint8Array, r: Rng): Uint8Array {
  const parsed = jpegSegments(file);
  if (!parsed || r.chance(0.2)) return mutateBytes(file, r);
  const { segments } = parsed;
  let { rest } = parsed;
  for (let k = r.int(1, 3); k > 0; k--) {
    const sof = segments.find((s) => isSof(s[1]!));
    const i = r.int(0, segments.length - 1);
    switch (r.int(0, 6)) {
      case 0: if (sof) { sof.writeUInt16BE(r.pick([0, 1, 24, 1000, 4000, 8192, 65535]), 5); } break; // height
      case 1: if (sof) { sof.writeUInt16BE(r.pick([0, 1, 32, 1000, 4000, 8192, 65535]), 7); } break; // width
      case 2: if (sof && sof.length > 11) { sof[11] = r.pick([0x11, 0x22, 0x44, 0x00, 0xff]); } break; // first component's sampling
      case 3: segments.splice(i, 1); break;
      case 4: segments.splice(i, 0, Buffer.from(segments[r.int(0, segments.length - 1)]!)); break;
      case 5: rest = rest.subarray(0, r.int(0, rest.length)); break;
      case 6: rest = Buffer.concat([rest, Buffer.alloc(r.pick([1, 100, 10_000]), r.pick([0, 0xff]))]); break;
    }
  }
  return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8]), ...segments, rest]));
}
