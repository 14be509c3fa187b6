/**
 * ONNX external data: initializers stored in a side file (`<model>.onnx.data`) instead of inside
 * the protobuf, which cannot exceed 2 GB.
 *
 * Writing: tensors of at least `threshold` bytes go to the data file in initializer order; each
 * starts at a multiple of 64 bytes, and tensors of 64 KiB or more at a multiple of 4096 (a page,
 * so onnxruntime can map them). Same graph in, same bytes out (both files).
 *
 * The model records the data file's size and SHA-256 in its metadata (`vitx.external_data`), so a
 * pair from two different exports (an interrupted write) is refused instead of loading wrong weights.
 *
 * Reading: a location must be a relative path that stays inside the model's folder — no absolute
 * paths, no `..` segments, and no symbolic link that resolves outside the folder. Anything else is
 * an `ExternalDataError` with a one-line message, before a byte is read. A tensor reads exactly its
 * dtype × shape bytes (a `length` must equal them), after checking the file is long enough.
 */
import { createHash } from 'node:crypto';
import { DATA_CHECKSUM_KEY, type DataChecksum, PROTOBUF_LIMIT } from './external-data.js';
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ExternalDataError, type ExternalResolver, OnnxParseError, type ParsedModel, parseModelProto, tensorFromProto } from './parse.js';
import { onnx, type OnnxNs } from './proto.js';

export { ExternalDataError };
export { DATA_CHECKSUM_KEY, type DataChecksum, dataLocationFor, EXTERNAL_THRESHOLD, type ExternalSerialized, initializerBytes, PROTOBUF_LIMIT, serializeExternal } from './external-data.js';

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/**
 * Reads a regular file of at most `maxBytes`, refusing directories, devices (`/dev/zero`), FIFOs
 * and sockets before a byte is read, each with one line naming the file (`what path: why`). The
 * file is opened non-blocking so a FIFO cannot hang the reader, and read up to the size fstat gave.
 */
export function readRegularFile(path: string, what: string, maxBytes: number, E: new (m: string) => Error = ModelFileError): Uint8Array {
  const fail = (why: string) => new E(`cannot read ${what} ${path}: ${why}`);
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw fail(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw fail('is a directory');
    if (!st.isFile()) throw fail('not a regular file (a device, FIFO or socket)');
    if (st.size > maxBytes) throw fail(`${st.size} bytes, more than the ${maxBytes} a ${what} can have`);
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const r = readSync(fd, buf, got, st.size - got, got);
      if (r === 0) break;
      got += r;
    }
    return buf.subarray(0, got);
  } catch (e) {
    if (e instanceof E) throw e;
    throw fail((e as Error).message);
  } finally {
    closeSync(fd);
  }
}

function checksumOf(m: OnnxNs.IModelProto): DataChecksum | null {
  const raw = (m.metadataProps ?? []).find((kv) => kv.key === DATA_CHECKSUM_KEY)?.value;
  if (!raw) return null;
  try {
    const c = JSON.parse(raw) as DataChecksum;
    if (typeof c.location === 'string' && Number.isSafeInteger(c.bytes) && typeof c.sha256 === 'string') return c;
  } catch { /* fall through */ }
  throw new ExternalDataError(`metadata ${DATA_CHECKSUM_KEY} is malformed`);
}

function sha256OfFile(fd: number, size: number): string {
  const h = createHash('sha256');
  const chunk = Buffer.allocUnsafe(Math.min(size, 4 << 20) || 1);
  for (let pos = 0; pos < size;) {
    const r = readSync(fd, chunk, 0, Math.min(chunk.length, size - pos), pos);
    if (r === 0) break;
    h.update(chunk.subarray(0, r));
    pos += r;
  }
  return h.digest('hex');
}

/**
 * Resolves external data relative to the folder of `modelPath`, refusing locations that leave it.
 * Reads exactly the tensor's byte size (dtype × shape), after checking the file is long enough.
 * With `checksum` (the model's record of its data file), that file must have the recorded size and
 * SHA-256, so a model never loads with a data file from another export.
 */
export function folderResolver(modelPath: string, checksum: DataChecksum | null = null): ExternalResolver & { close(): void } {
  const folder = realpathSync(dirname(resolve(modelPath)));
  const files = new Map<string, { fd: number; size: number }>();
  const resolver = (location: string, offset: number, length: number | null, tensor: string, byteSize: number): Uint8Array => {
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
      let fd: number;
      try {
        fd = openSync(real, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
      } catch (e) {
        throw new ExternalDataError(`tensor ${tensor}: cannot open external data ${location} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const st = fstatSync(fd);
      if (!st.isFile()) { closeSync(fd); throw say('is not a regular file'); }
      f = { fd, size: st.size };
      files.set(real, f);
      if (checksum && checksum.location === location) {
        const stale = `the model was written with a different ${location}`;
        if (f.size !== checksum.bytes) throw new ExternalDataError(`external data ${location} is ${f.size} bytes but ${stale} (${checksum.bytes} bytes): an interrupted or mixed export; export again`);
        if (sha256OfFile(f.fd, f.size) !== checksum.sha256) throw new ExternalDataError(`external data ${location} does not match its SHA-256 in the model: ${stale} (an interrupted or mixed export); export again`);
      }
    }
    if (offset + byteSize > f.size) throw new ExternalDataError(`tensor ${tensor}: external data [${offset}, ${offset + byteSize}) lies beyond the end of ${location} (${f.size} bytes)`);
    const buf = new Uint8Array(byteSize);
    let got = 0;
    while (got < byteSize) {
      const r = readSync(f.fd, buf, got, byteSize - got, offset + got);
      if (r === 0) throw new ExternalDataError(`tensor ${tensor}: external data ${location} ended early`);
      got += r;
    }
    return buf;
  };
  return Object.assign(resolver, { close: () => { for (const f of files.values()) closeSync(f.fd); files.clear(); } });
}

export class ModelFileError extends Error {}

function decodeModel(bytes: Uint8Array): OnnxNs.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxParseError(`not a valid ONNX file (${(e as Error).message})`);
  }
}

/** Prefixes the reader's errors with the model file's path (one line, naming the file). */
function inFile<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OnnxParseError) throw new OnnxParseError(`${path}: ${e.message}`);
    if (e instanceof ExternalDataError) throw new ExternalDataError(`${path}: ${e.message}`);
    throw e;
  }
}

/** The model's tensors (initializers and node attributes) stored as external data. */
function externalTensors(m: OnnxNs.IModelProto): OnnxNs.ITensorProto[] {
  const all: OnnxNs.ITensorProto[] = [...(m.graph?.initializer ?? [])];
  for (const n of m.graph?.node ?? []) for (const a of n.attribute ?? []) if (a.t) all.push(a.t);
  return all.filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
}

/** Reads the bytes of an .onnx file (a regular file within protobuf's 2 GB limit). */
export function readModelBytes(path: string, what = 'model'): Uint8Array {
  return readRegularFile(path, what, PROTOBUF_LIMIT);
}

/** Reads and parses an .onnx file, with its external data (checked as above). */
export function readOnnxFile(path: string): ParsedModel {
  const bytes = readModelBytes(path);
  return inFile(path, () => {
    const m = decodeModel(bytes);
    const resolver = folderResolver(path, externalTensors(m).length ? checksumOf(m) : null);
    try {
      const parsed = parseModelProto(m, resolver);
      parsed.graph.metadata.delete(DATA_CHECKSUM_KEY); // describes the data file, not the graph
      return parsed;
    } finally {
      resolver.close();
    }
  });
}

/**
 * The model at `path` as one self-contained protobuf for onnxruntime: external tensors are read
 * from the model's folder (checked as above) and put inline, so onnxruntime, which gets bytes and
 * not a path, never resolves a location itself (it would resolve it against the current
 * directory). Without external data the file's bytes are returned unchanged.
 */
export function selfContainedModel(path: string, bytes: Uint8Array): Uint8Array {
  return inFile(path, () => {
    const m = decodeModel(bytes);
    const tensors = externalTensors(m);
    if (!tensors.length) return bytes;
    const resolver = folderResolver(path, checksumOf(m));
    let total = bytes.byteLength;
    try {
      for (const t of tensors) {
        const data = tensorFromProto(t, resolver).bytes();
        total += data.byteLength;
        if (total > PROTOBUF_LIMIT) throw new ExternalDataError(`the model with its external data is over 2 GB, more than one protobuf (which vitx hands to onnxruntime) can hold`);
        t.rawData = data;
        t.externalData = [];
        t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
      }
    } finally {
      resolver.close();
    }
    return onnx.ModelProto.encode(m).finish();
  });
}
