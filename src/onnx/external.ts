/**
 * ONNX external data: initializers stored in a side file (`<model>.onnx.data`) instead of inside
 * the protobuf, which cannot exceed 2 GB.
 *
 * Writing: tensors of at least `threshold` bytes go to the data file in initializer order; each
 * starts at a multiple of 64 bytes, and tensors of 64 KiB or more at a multiple of 4096 (a page,
 * so onnxruntime can map them). Same graph in, same bytes out (both files).
 *
 * Reading: a location must be a relative path that stays inside the model's folder — no absolute
 * paths, no `..` segments, and no symbolic link that resolves outside the folder. Anything else is
 * an `ExternalDataError` with a one-line message, before a byte is read.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Graph } from '../graph/ir.js';
import type { Tensor } from '../graph/tensor.js';
import { type ExternalResolver, OnnxParseError, type ParsedModel, parseOnnx } from './parse.js';
import { serialize } from './serialize.js';

export class ExternalDataError extends Error {}

/** protobuf's hard limit for one message. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;
/** Tensors smaller than this stay inside the .onnx file (onnx's own default). */
export const EXTERNAL_THRESHOLD = 1024;

const alignmentFor = (bytes: number) => (bytes >= 65536 ? 4096 : 64);

export interface ExternalSerialized {
  /** The ModelProto bytes (small: shapes, nodes, small tensors). */
  model: Uint8Array;
  /** The data file's contents as chunks (tensor bytes and zero padding). */
  data: Uint8Array[];
  dataBytes: number;
  location: string;
  tensors: number;
}

/** The data file name next to `modelPath`: `<file>.onnx.data`. */
export function dataLocationFor(modelPath: string): string {
  return `${modelPath.split(/[\\/]/).pop()!}.data`;
}

/** Serializes `g` with large initializers in a side file named `location` (a bare file name). */
export function serializeExternal(g: Graph, o: { opset: number; location: string; threshold?: number }): ExternalSerialized {
  if (!o.location || o.location.includes('/') || o.location.includes('\\') || o.location.startsWith('.')) {
    throw new ExternalDataError(`external data location must be a plain file name, not '${o.location}'`);
  }
  const data: Uint8Array[] = [];
  let offset = 0, tensors = 0;
  const sink = (t: Tensor) => {
    const bytes = t.bytes();
    const align = alignmentFor(bytes.byteLength);
    const pad = (align - (offset % align)) % align;
    if (pad) { data.push(new Uint8Array(pad)); offset += pad; }
    const at = offset;
    data.push(bytes);
    offset += bytes.byteLength;
    tensors++;
    return { offset: at, length: bytes.byteLength };
  };
  const model = serialize(g, { opset: o.opset, externalData: { threshold: o.threshold ?? EXTERNAL_THRESHOLD, location: o.location, sink } });
  return { model, data, dataBytes: offset, location: o.location, tensors };
}

/** Bytes the initializers would take inside one protobuf (a lower bound for the file). */
export function initializerBytes(g: Graph): number {
  let n = 0;
  for (const v of g.initializers.values()) n += v.constant!.data.byteLength;
  return n;
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** Resolves external data relative to the folder of `modelPath`, refusing locations that leave it. */
export function folderResolver(modelPath: string): ExternalResolver {
  const folder = realpathSync(dirname(resolve(modelPath)));
  const files = new Map<string, { fd: number; size: number }>();
  const resolver: ExternalResolver & { close?: () => void } = (location, offset, length, tensor) => {
    const say = (why: string) => new ExternalDataError(`tensor ${tensor}: external data location '${location}' ${why}; vitx reads external data only from the model's folder`);
    if (isAbsolute(location) || /^[A-Za-z]:/.test(location) || location.startsWith('\\')) throw say('is an absolute path');
    if (location.split(/[\\/]/).includes('..')) throw say('leaves the model\'s folder (..)');
    const path = resolve(folder, location);
    if (!inside(folder, path)) throw say('leaves the model\'s folder');
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw new ExternalDataError(`tensor ${tensor}: external data file ${join(dirname(modelPath), location)} does not exist`);
    }
    if (!inside(folder, real)) throw say(`is a link to ${real}, outside the model's folder`);
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== null && (!Number.isSafeInteger(length) || length < 0))) {
      throw new ExternalDataError(`tensor ${tensor}: bad external data offset/length (${offset}, ${length})`);
    }
    let f = files.get(real);
    if (!f) {
      if (!statSync(real).isFile()) throw say('is not a regular file');
      const fd = openSync(real, 'r');
      f = { fd, size: fstatSync(fd).size };
      files.set(real, f);
    }
    const n = length ?? f.size - offset;
    if (offset + n > f.size) throw new ExternalDataError(`tensor ${tensor}: external data [${offset}, ${offset + n}) lies beyond the end of ${location} (${f.size} bytes)`);
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = readSync(f.fd, buf, got, n - got, offset + got);
      if (r === 0) break;
      got += r;
    }
    return buf;
  };
  resolver.close = () => { for (const f of files.values()) closeSync(f.fd); files.clear(); };
  return resolver;
}

export class ModelFileError extends Error {}

/** Reads and parses an .onnx file, with its external data (checked as above). */
export function readOnnxFile(path: string): ParsedModel {
  let bytes: Uint8Array;
  try {
    if (statSync(path).isDirectory()) throw new ModelFileError(`cannot read model ${path}: is a directory`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(`cannot read model ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  const resolver = folderResolver(path) as ExternalResolver & { close(): void };
  try {
    return parseOnnx(bytes, resolver);
  } catch (e) {
    if (e instanceof OnnxParseError) throw new OnnxParseError(`${path}: ${e.message}`);
    throw e;
  } finally {
    resolver.close();
  }
}
