/**
 * NumPy .npy reader for calibration tensors: little-endian float32 ('<f4') or float64 ('<f8',
 * converted), C order. Every size is checked against the file before allocating.
 *
 * The format as numpy 1.24's `lib/format.py` reads it (`read_magic`, `_read_array_header`):
 *   magic '\x93NUMPY', version (1, 0) | (2, 0) | (3, 0) (no other minor), header length
 *   (uint16 LE for 1.0, uint32 LE otherwise), header text (latin-1; UTF-8 for 3.0), at most 10000
 *   characters, which `ast.literal_eval` must read as a dict whose keys are exactly 'descr',
 *   'fortran_order' and 'shape': a dtype descriptor, a bool, a tuple of ints. For 1.0 / 2.0 an
 *   'L' after an integer (Python 2) is dropped first. Then the data: product(shape) elements.
 * The header is parsed here as that Python literal (strings, ints, True/False/None, tuples, lists,
 * dicts), not matched with patterns, so what numpy would read differently is refused: a key given
 * twice (Python keeps the last value — a file numpy loads as Fortran order must not be read as C
 * order), a key missing or extra, a shape that is not a tuple of non-negative ints.
 */
export class NpyError extends Error {}

export interface NpyArray { shape: number[]; data: Float32Array }

/** numpy's `_MAX_HEADER_SIZE`: longer headers are refused (literal_eval is not safe on huge input). */
const MAX_HEADER_CHARS = 10000;
const MAX_DEPTH = 32;

type Lit = string | number | boolean | null | { tuple: Lit[] } | { list: Lit[] } | Map<Lit, Lit>;

/** A Python literal in `s` (the subset a header can hold); throws a one-line reason. */
function parseLiteral(s: string, py2Longs: boolean, fail: (why: string) => never): Lit {
  let p = 0;
  const ws = () => { while (p < s.length && ' \t\r\n\f'.includes(s[p]!)) p++; };
  const expect = (c: string) => { ws(); if (s[p] !== c) fail(`malformed header: expected '${c}' at character ${p}`); p++; };
  const items = (close: string, depth: number): Lit[] => {
    const out: Lit[] = [];
    for (ws(); s[p] !== close; ws()) {
      out.push(value(depth + 1));
      ws();
      if (s[p] === ',') p++; else if (s[p] !== close) fail(`malformed header: expected ',' or '${close}' at character ${p}`);
    }
    p++;
    return out;
  };
  const value = (depth: number): Lit => {
    if (depth > MAX_DEPTH) fail('malformed header: nested too deeply');
    ws();
    const c = s[p];
    if (c === "'" || c === '"') {
      let out = '';
      for (p++; s[p] !== c; p++) {
        if (p >= s.length || s[p] === '\n') fail('malformed header: unterminated string');
        if (s[p] === '\\') { p++; if (s[p] !== '\\' && s[p] !== "'" && s[p] !== '"') fail('malformed header: unsupported escape in a string'); }
        out += s[p];
      }
      p++;
      return out;
    }
    if (c === '(') {
      p++;
      const start = p;
      const xs = items(')', depth);
      // (x) is x, not a tuple: only a comma (or nothing) makes one
      if (xs.length === 1 && !/,\s*\)$/.test(s.slice(start, p))) return xs[0]!;
      return { tuple: xs };
    }
    if (c === '[') { p++; return { list: items(']', depth) }; }
    if (c === '{') {
      p++;
      const d = new Map<Lit, Lit>();
      for (ws(); s[p] !== '}'; ws()) {
        const k = value(depth + 1);
        if (typeof k === 'object' && k !== null) fail('malformed header: a dict key that is not a string or number');
        expect(':');
        const v = value(depth + 1);
        if (d.has(k)) fail(`header key ${JSON.stringify(k)} appears twice (numpy would use the last value)`);
        d.set(k, v);
        ws();
        if (s[p] === ',') p++; else if (s[p] !== '}') fail(`malformed header: expected ',' or '}' at character ${p}`);
      }
      p++;
      return d;
    }
    const m = /^([+-]?)(\d(?:_?\d)*)(L?)|^(True|False|None)\b/.exec(s.slice(p, p + 64));
    if (!m || (m[3] && !py2Longs)) fail(`malformed header: unexpected ${JSON.stringify(s.slice(p, p + 12))} at character ${p}`);
    p += m[0].length;
    if (m[4]) return m[4] === 'None' ? null : m[4] === 'True';
    if (/^0\d/.test(m[2]!.replace(/_/g, ''))) fail('malformed header: an integer with a leading zero');
    const n = Number(m[2]!.replace(/_/g, ''));
    return m[1] === '-' ? -n : n;
  };
  const v = value(0);
  ws();
  if (p !== s.length) fail(`malformed header: unexpected text after the dict at character ${p}`);
  return v;
}

/** The header fields, checked as numpy checks them. */
function readHeader(text: string, py2Longs: boolean, fail: (why: string) => never): { descr: string; fortran: boolean; shape: number[] } {
  const d = parseLiteral(text, py2Longs, fail);
  if (!(d instanceof Map)) fail('header is not a dictionary');
  const keys = [...d.keys()].map(String).sort();
  if (keys.join() !== 'descr,fortran_order,shape') fail(`header keys are ${keys.join(', ')}; numpy needs exactly descr, fortran_order, shape`);
  const shape = d.get('shape'), fortran = d.get('fortran_order'), descr = d.get('descr');
  const dims = shape !== null && typeof shape === 'object' && 'tuple' in shape ? shape.tuple : null;
  if (!dims || !dims.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) fail('shape is not a tuple of non-negative integers');
  if (typeof fortran !== 'boolean') fail('fortran_order is not True or False');
  if (typeof descr !== 'string') fail('dtype is not a plain descriptor (a structured dtype?); float32 or float64 only');
  return { descr: descr as string, fortran: fortran as boolean, shape: dims as number[] };
}

export function readNpy(bytes: Uint8Array, name: string): NpyArray {
  const fail = (why: string): never => { throw new NpyError(`${name}: ${why}`); };
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) fail('not a .npy file (bad magic)');
  const major = bytes[6]!, minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) fail(`unsupported .npy version ${major}.${minor} (numpy writes 1.0, 2.0, 3.0)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hstart = major === 1 ? 10 : 12;
  if (bytes.length < hstart) fail('truncated header');
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (hstart + hlen > bytes.length) fail('truncated header');
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(bytes.subarray(hstart, hstart + hlen));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (text.length > MAX_HEADER_CHARS) fail(`header of ${text.length} characters is longer than numpy reads (${MAX_HEADER_CHARS})`);
  const { descr, fortran, shape } = readHeader(text, major < 3, fail);
  if (fortran) fail('Fortran-order arrays are not supported (save with np.ascontiguousarray)');
  if (descr !== '<f4' && descr !== '<f8') fail(`dtype ${descr} is not supported (float32 or float64)`);
  const n = shape.reduce((a, b) => a * b, 1);
  const esize = descr === '<f4' ? 4 : 8;
  const off = hstart + hlen;
  if (!Number.isSafeInteger(n * esize) || bytes.length - off !== n * esize) fail(`shape (${shape.join(', ')}) needs ${n * esize} data bytes, the file has ${bytes.length - off}`);
  const copy = new Uint8Array(n * esize); // a copy at offset 0: aligned, and not a view of a pooled Buffer
  copy.set(bytes.subarray(off, off + n * esize));
  const data = esize === 4 ? new Float32Array(copy.buffer) : Float32Array.from(new Float64Array(copy.buffer));
  return { shape, data };
}
