/**
 * Writing ONNX external data (platform-free; reading it from a folder is external.ts, Node's):
 * initializers stored in a side file (`<model>.onnx.data`) instead of inside the protobuf, which
 * cannot exceed 2 GB. Tensors of at least `threshold` bytes go to the data file in initializer
 * order; each starts at a multiple of 64 bytes, and tensors of 64 KiB or more at a multiple of
 * 4096 (a page, so onnxruntime can map them). Same graph in, same bytes out (both files).
 *
 * The model records the data file's size and SHA-256 in its metadata (`vitx.external_data`), so a
 * pair from two different exports (an interrupted write) is refused instead of loading wrong weights.
 */
import type { Graph } from '../graph/ir.js';
import type { Tensor } from '../graph/tensor.js';
import { platform } from '../platform/index.js';
import { ExternalDataError } from './parse.js';
import { onnx } from './proto.js';
import { toModelProto } from './serialize.js';

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
  const proto = toModelProto(g, { opset: o.opset, externalData: { threshold: o.threshold ?? EXTERNAL_THRESHOLD, location: o.location, sink } });
  // The model records its data file's size and SHA-256: a reader refuses a data file from another
  // export (e.g. an export killed between renaming the data file and the model).
  const h = platform().sha256();
  for (const c of data) h.update(c);
  const checksum: DataChecksum = { location: o.location, bytes: offset, sha256: h.hex() };
  const props = (proto.metadataProps ?? []).filter((kv) => kv.key !== DATA_CHECKSUM_KEY);
  props.push(onnx.StringStringEntryProto.create({ key: DATA_CHECKSUM_KEY, value: JSON.stringify(checksum) }));
  props.sort((a, b) => (a.key! < b.key! ? -1 : a.key! > b.key! ? 1 : 0));
  proto.metadataProps = props;
  const model = onnx.ModelProto.encode(proto).finish();
  return { model, data, dataBytes: offset, location: o.location, tensors };
}

/** Bytes the initializers would take inside one protobuf (a lower bound for the file). */
export function initializerBytes(g: Graph): number {
  let n = 0;
  for (const v of g.initializers.values()) n += v.constant!.data.byteLength;
  return n;
}

/** Metadata key recording the data file a model was written with: {"location", "bytes", "sha256"}. */
export const DATA_CHECKSUM_KEY = 'vitx.external_data';

export interface DataChecksum { location: string; bytes: number; sha256: string }

