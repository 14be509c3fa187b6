/**
 * Mutations for the reader fuzzers, driven by a fast-check random source so every case is
 * reproducible from (seed, path).
 *
 *   bytes      flip / overwrite / insert / delete / truncate / duplicate byte ranges
 *   wire       the protobuf wire format as a tree (tag, wire type, varint | bytes | nested fields):
 *              drop, duplicate or swap a field, set a varint to an edge value (0, 2^31, 2^63−1,
 *              2^64−1, …), change a field's wire type, give a length prefix a wrong value, replace
 *              a payload; then re-encoded with consistent lengths (except where lengths are the
 *              mutation)
 *   structure  done by each fuzzer on the decoded object (ONNX ModelProto, safetensors header,
 *              goldens JSON), see readers.test.ts
 */

export interface Rng {
  int(lo: number, hi: number): number; // inclusive
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

export function rngFrom(next: (lo: number, hi: number) => number): Rng {
  return {
    int: next,
    pick: (xs) => xs[next(0, xs.length - 1)]!,
    chance: (p) => next(0, 999) < p * 1000,
  };
}

// ---------------------------------------------------------------- bytes

export function mutateBytes(src: Uint8Array, r: Rng): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  const n = r.int(1, 4);
  for (let k = 0; k < n; k++) {
    const at = r.int(0, Math.max(0, b.length - 1));
    switch (r.int(0, 5)) {
      case 0: if (b.length) b[at] = b[at]! ^ (1 << r.int(0, 7)); break;
      case 1: if (b.length) b[at] = r.pick([0, 0xff, 0x7f, 0x80, r.int(0, 255)]); break;
      case 2: { const ins = Uint8Array.from({ length: r.int(1, 16) }, () => r.int(0, 255)); b = concat(b.subarray(0, at), ins, b.subarray(at)); break; }
      case 3: b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + r.int(1, 64)))); break;
      case 4: b = b.subarray(0, at); break;
      case 5: { const len = r.int(1, 64); b = concat(b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)); break; }
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

// ---------------------------------------------------------------- protobuf wire format

interface WireField {
  tag: number;
  wt: number; // 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
  varint?: bigint;
  bytes?: Uint8Array;
  /** Length-delimited payload that parses as a message (decoded lazily). */
  nested?: WireField[] | null;
  /** Added to the written length prefix (a wrong length is one of the mutations). */
  lengthSkew?: number;
}

function readVarint(b: Uint8Array, p: { i: number }): bigint | null {
  let v = 0n, shift = 0n;
  while (p.i < b.length) {
    const x = b[p.i++]!;
    v |= BigInt(x & 0x7f) << shift;
    if (!(x & 0x80)) return v;
    shift += 7n;
    if (shift > 63n) return null;
  }
  return null;
}

/** Parses `b` as a sequence of fields; null when it is not one (so it is treated as plain bytes). */
export function parseWire(b: Uint8Array): WireField[] | null {
  const out: WireField[] = [];
  const p = { i: 0 };
  while (p.i < b.length) {
    const key = readVarint(b, p);
    if (key === null || key >> 3n === 0n) return null;
    const tag = Number(key >> 3n), wt = Number(key & 7n);
    if (wt === 0) {
      const v = readVarint(b, p);
      if (v === null) return null;
      out.push({ tag, wt, varint: v });
    } else if (wt === 1 || wt === 5) {
      const n = wt === 1 ? 8 : 4;
      if (p.i + n > b.length) return null;
      out.push({ tag, wt, bytes: b.subarray(p.i, p.i + n) });
      p.i += n;
    } else if (wt === 2) {
      const len = readVarint(b, p);
      if (len === null || p.i + Number(len) > b.length) return null;
      out.push({ tag, wt, bytes: b.subarray(p.i, p.i + Number(len)) });
      p.i += Number(len);
    } else return null;
  }
  return out;
}

function varintBytes(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x) byte |= 0x80;
    out.push(byte);
  } while (x);
  return out;
}

export function encodeWire(fields: readonly WireField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    parts.push(Uint8Array.from(varintBytes(BigInt((f.tag << 3) | f.wt))));
    if (f.wt === 0) parts.push(Uint8Array.from(varintBytes(f.varint ?? 0n)));
    else if (f.wt === 1 || f.wt === 5) parts.push(f.bytes ?? new Uint8Array(f.wt === 1 ? 8 : 4));
    else {
      const payload = f.nested ? encodeWire(f.nested) : (f.bytes ?? new Uint8Array());
      parts.push(Uint8Array.from(varintBytes(BigInt(Math.max(0, payload.length + (f.lengthSkew ?? 0))))), payload);
    }
  }
  return concat(...parts);
}

const EDGE_VARINTS = [0n, 1n, 2n, 7n, 127n, 128n, 255n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];

/** One wire-level mutation somewhere in the message tree (descending into nested messages). */
export function mutateWire(src: Uint8Array, r: Rng): Uint8Array {
  const root = parseWire(src);
  if (!root || root.length === 0) return mutateBytes(src, r);
  let fields = root;
  // descend: nested messages are where tensors, nodes and attributes live
  for (let depth = 0; depth < 6 && r.chance(0.75); depth++) {
    const candidates = fields.filter((f) => f.wt === 2 && f.bytes && f.bytes.length > 0);
    if (!candidates.length) break;
    const f = r.pick(candidates);
    if (f.nested === undefined) f.nested = parseWire(f.bytes!);
    if (!f.nested || f.nested.length === 0) break;
    fields = f.nested;
  }
  const i = r.int(0, fields.length - 1);
  const f = fields[i]!;
  switch (r.int(0, 7)) {
    case 0: fields.splice(i, 1); break;
    case 1: fields.splice(i, 0, structuredClone(f)); break;
    case 2: { const j = r.int(0, fields.length - 1); [fields[i], fields[j]] = [fields[j]!, f]; break; }
    case 3: fields[i] = { tag: f.tag, wt: 0, varint: r.pick(EDGE_VARINTS) }; break;
    case 4: if (f.wt === 0) f.varint = r.chance(0.5) ? r.pick(EDGE_VARINTS) : f.varint! + BigInt(r.int(-3, 3)); else fields[i] = { tag: f.tag, wt: r.pick([0, 1, 2, 5]), varint: 1n, bytes: new Uint8Array(8) }; break;
    case 5: if (f.wt === 2) f.lengthSkew = r.pick([-1, 1, 7, -7, 1 << 20]); else f.tag = r.int(1, 20); break;
    case 6: if (f.wt === 2) { f.nested = undefined; f.bytes = mutateBytes(f.bytes ?? new Uint8Array(), r); } break;
    case 7: fields.push({ tag: r.int(1, 20), wt: 2, bytes: Uint8Array.from({ length: r.int(0, 12) }, () => r.int(0, 255)) }); break;
  }
  return encodeWire(root);
}
