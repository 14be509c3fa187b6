/**
 * ONNX bytes → IR. Reads any model whose ops are single-graph (no subgraph attributes). Types come
 * from the file's inputs / outputs / value_info, and are inferred for values that have none.
 * Parse then serialize reproduces the bytes of a file vitx wrote.
 */
import { type Attr, attr, Graph, type Value, type ValueType } from '../graph/ir.js';
import { INFER, inferTypes, ShapeError } from '../graph/shapes.js';
import { KnownValues, nameUnknownDims, unknownLike } from './known.js';
import { BYTES_PER_ELEMENT, type DType, dtypeFromOnnx, Tensor } from '../graph/tensor.js';
import { onnx, type OnnxNs, toBigInt, toNum } from './proto.js';

import { printable } from '../printable.js';

/** Names from a file may hold any bytes: control and bidi characters are escaped (src/printable.ts). */
export { printable };

export class OnnxParseError extends Error {
  constructor(message: string) { super(printable(message)); }
}

/** A refused external-data reference (location, bounds, checksum); thrown by external.ts's resolver. */
export class ExternalDataError extends Error {
  constructor(message: string) { super(printable(message)); }
}

export interface ParsedModel {
  graph: Graph;
  opset: number;
  irVersion: number;
  producer: string;
}

/**
 * Resolves an external-data reference to exactly `byteSize` bytes (dtype × shape; see external.ts);
 * absent → external data is refused.
 */
export type ExternalResolver = (location: string, offset: number, length: number | null, tensorName: string, byteSize: number) => Uint8Array;

/** A dimension read from the file: a non-negative safe integer, or a parse error naming `what`. */
function dimOf(v: unknown, what: string): number {
  const d = toBigInt(v);
  if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw new OnnxParseError(`${what}: dimension ${d} is not a size (must be 0…2^53)`);
  return Number(d);
}

/**
 * The declared type of a value. A dim the file leaves without value or name (vitx writes `N*64` so)
 * gets a placeholder name, recorded in `unnamed`: nothing can be concluded from two such names differing.
 */
function valueType(vi: OnnxNs.IValueInfoProto, unnamed: Set<string>): ValueType | null {
  const tt = vi.type?.tensorType;
  if (!tt || !tt.elemType) return null;
  const dims = tt.shape?.dim ?? [];
  const placeholder = (i: number) => { const d = `unk_${vi.name}_${i}`; unnamed.add(d); return d; };
  return {
    dtype: dtypeOf(tt.elemType, `value ${vi.name}`),
    shape: dims.map((d, i) => (d.dimParam ? d.dimParam : d.dimValue != null ? dimOf(d.dimValue, `value ${vi.name}`) : placeholder(i))),
  };
}

function dtypeOf(code: number, what: string): DType {
  try {
    return dtypeFromOnnx(code);
  } catch {
    throw new OnnxParseError(`${what}: unsupported element type ${code}`);
  }
}

/** Elements of `shape`, refusing counts beyond 2^53 (no allocation is sized from them unchecked). */
function elementCount(shape: readonly number[], what: string): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (!Number.isSafeInteger(n)) throw new OnnxParseError(`${what}: shape [${shape.join(',')}] has too many elements`);
  return n;
}

/**
 * A TensorProto → Tensor. Every count is checked against the bytes actually present before a
 * buffer is sized from it; `what` names the tensor in errors (an initializer, or a node attribute).
 */
export function tensorFromProto(t: OnnxNs.ITensorProto, resolve?: ExternalResolver, what = `tensor ${t.name ?? ''}`): Tensor {
  const dtype = dtypeOf(t.dataType ?? 0, what);
  const shape = (t.dims ?? []).map((d) => dimOf(d, what));
  const n = elementCount(shape, what);
  const byteSize = n * BYTES_PER_ELEMENT[dtype];
  const name = t.name ?? '';
  const wrong = (got: string) => new OnnxParseError(`${what}: ${dtype}[${shape.join(',')}] needs ${byteSize} bytes (${n} values), ${got}`);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    if (!resolve) throw new OnnxParseError(`${what} uses external data, which this reader was not given a folder for`);
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (!location) throw new OnnxParseError(`${what}: external data without a location`);
    const num = (k: string) => (/^\d+$/.test(kv.get(k)!) ? Number(kv.get(k)) : NaN);
    const offset = kv.has('offset') ? num('offset') : 0;
    const length = kv.has('length') ? num('length') : null;
    if (!Number.isSafeInteger(offset) || (length !== null && !Number.isSafeInteger(length))) {
      throw new OnnxParseError(`${what}: bad external data offset/length ('${kv.get('offset') ?? ''}', '${kv.get('length') ?? ''}')`);
    }
    if (length !== null && length !== byteSize) throw wrong(`the external data has length ${length}`);
    return Tensor.fromBytes(dtype, shape, resolve(location, offset, length, name, byteSize));
  }
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== byteSize) throw wrong(`got ${t.rawData.length}`);
    return Tensor.fromBytes(dtype, shape, t.rawData);
  }
  const typed = (count: number) => { if (count !== n) throw wrong(`the file holds ${count} values`); };
  switch (dtype) {
    case 'float32': typed(t.floatData?.length ?? 0); return new Tensor(dtype, shape, Float32Array.from(t.floatData ?? []));
    case 'float64': typed(t.doubleData?.length ?? 0); return new Tensor(dtype, shape, Float64Array.from(t.doubleData ?? []));
    case 'int64': typed(t.int64Data?.length ?? 0); return new Tensor(dtype, shape, BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt.asIntN(64, toBigInt(v)))));
    case 'int32': typed(t.int32Data?.length ?? 0); return new Tensor(dtype, shape, Int32Array.from(t.int32Data ?? []));
    case 'float16': case 'bfloat16': typed(t.int32Data?.length ?? 0); return new Tensor(dtype, shape, Uint16Array.from(t.int32Data ?? []));
    case 'int8': typed(t.int32Data?.length ?? 0); return new Tensor(dtype, shape, Int8Array.from(t.int32Data ?? []));
    case 'uint8': case 'bool': typed(t.int32Data?.length ?? 0); return new Tensor(dtype, shape, Uint8Array.from(t.int32Data ?? []));
  }
}

function attrFromProto(a: OnnxNs.IAttributeProto, node: string, resolve?: ExternalResolver): Attr {
  const A = onnx.AttributeProto.AttributeType;
  const what = `${node} attribute ${a.name ?? ''}`;
  switch (a.type) {
    case A.INT: return attr.int(toNum(a.i ?? 0));
    case A.INTS: return attr.ints((a.ints ?? []).map(toNum));
    case A.FLOAT: return attr.float(a.f ?? 0);
    case A.FLOATS: return attr.floats(a.floats ?? []);
    case A.STRING: return attr.string(new TextDecoder().decode(a.s ?? new Uint8Array()));
    case A.STRINGS: return attr.strings((a.strings ?? []).map((s) => new TextDecoder().decode(s)));
    case A.TENSOR:
      if (!a.t) throw new OnnxParseError(`${what}: TENSOR attribute without a tensor`);
      return attr.tensor(tensorFromProto(a.t, resolve, what));
    default: throw new OnnxParseError(`${what}: type ${a.type} (subgraphs, sparse tensors) is not supported`);
  }
}

/** Runs `f`, turning any error that is not already the reader's own into one naming `what`. */
function within<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OnnxParseError || e instanceof ExternalDataError) throw e;
    throw new OnnxParseError(`${what}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
}

/** The declared type with inference's static dims where the file has a symbol. */
function merged(declared: ValueType, inferred: ValueType): ValueType {
  return { dtype: declared.dtype, shape: declared.shape.map((d, i) => (typeof inferred.shape[i] === 'number' ? inferred.shape[i]! : d)) };
}

const typeText = (t: ValueType) => `${t.dtype}[${t.shape.join(',')}]`;

/** A declared output type must agree with inference: same dtype and rank, same static dims. */
function agrees(declared: ValueType, inferred: ValueType): boolean {
  return declared.dtype === inferred.dtype && declared.shape.length === inferred.shape.length
    && declared.shape.every((d, i) => typeof d !== 'number' || typeof inferred.shape[i] !== 'number' || d === inferred.shape[i]);
}

export function parseModelProto(m: OnnxNs.ModelProto, resolve?: ExternalResolver): ParsedModel {
  const gp = m.graph;
  if (!gp) throw new OnnxParseError('model has no graph');
  const g = new Graph(gp.name ?? 'graph');
  const opset = toNum((m.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0);
  if (!opset) throw new OnnxParseError('model imports no default-domain opset');
  for (const kv of m.metadataProps ?? []) g.metadata.set(kv.key ?? '', kv.value ?? '');

  const known = new KnownValues();
  const unnamed = new Set<string>();
  const types = new Map<string, ValueType>();
  for (const vi of [...(gp.input ?? []), ...(gp.output ?? []), ...(gp.valueInfo ?? [])]) {
    const t = valueType(vi, unnamed);
    // an output or value_info without a shape says nothing about the rank: inference decides
    if (t && vi.name && (vi.type?.tensorType?.shape || gp.input?.includes(vi))) types.set(vi.name, t);
  }
  for (const t of gp.initializer ?? []) {
    if (!t.name) throw new OnnxParseError('initializer without a name');
    const what = `initializer ${t.name}`;
    within(what, () => g.addInitializer(t.name!, tensorFromProto(t, resolve, what)));
  }
  for (const vi of gp.input ?? []) {
    if (!vi.name || g.initializers.has(vi.name)) continue; // old-style initializer-as-input
    const t = types.get(vi.name);
    if (!t) throw new OnnxParseError(`graph input ${vi.name} has no tensor type`);
    within(`graph input ${vi.name}`, () => g.addInput(vi.name!, t));
  }
  for (const [index, np] of (gp.node ?? []).entries()) {
    const op = np.opType ?? '';
    // a node without a name is named by its position and op: `node #12 (Conv)`
    const label = np.name ? `node ${np.name}` : `node #${index} (${op})`;
    const labelOp = np.name ? `${label} (${op})` : label;
    const inputs: (Value | null)[] = (np.input ?? []).map((name) => {
      if (!name) return null;
      const v = g.value(name);
      if (!v) throw new OnnxParseError(`${label} reads ${name}, which is not defined before it`);
      return v;
    });
    const attrs: Record<string, Attr> = {};
    for (const a of np.attribute ?? []) attrs[a.name ?? ''] = attrFromProto(a, label, resolve);
    const outNames = np.output ?? [];
    const declared = outNames.map((n) => types.get(n) ?? null);
    let outTypes = declared;
    if (np.domain) {
      // a contrib op (com.microsoft ops in an onnxruntime-optimized file …): vitx's rules are for the default domain only
      if (declared.some((t) => t === null)) {
        const like = inputs.find((v) => v)?.type;
        if (!like) throw new OnnxParseError(`${label}: no type for its outputs and no shape rule for ${np.domain}.${op}`);
        outTypes = declared.map((t) => t ?? unknownLike(like));
      }
    } else if (Object.hasOwn(INFER, op)) {
      // Inference from the inputs (with values known at read time: Constant nodes, shape chains) fills
      // values the file gives no type, and must agree with those it does.
      const inferred = within(labelOp, () => {
        try {
          return inferTypes(op, inputs.map((v) => ({ type: v?.type ?? null, constant: v ? known.valueOf(v) : null })), attrs);
        } catch (e) {
          // inference that cannot relate two of the file's unnamed dims (placeholders meeting in a
          // broadcast) leaves the types the file declares for every output standing
          if (e instanceof ShapeError && declared.every((d) => d !== null) && inputs.some((v) => v?.type.shape.some((d) => typeof d === 'string' && unnamed.has(d)))) return null;
          if (e instanceof ShapeError) throw new OnnxParseError(`${labelOp}: ${e.message}`);
          if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
          // a shape rule that met inputs it does not expect (e.g. a rank it assumes): say so, not the JS text
          throw new OnnxParseError(`${labelOp}: its inputs (${inputs.map((v) => (v ? typeText(v.type) : 'none')).join(', ')}) do not fit ${op}'s shape rule`);
        }
      });
      if (inferred) outTypes = declared.map((t, i) => {
        const u = nameUnknownDims(inferred[i], outNames[i] ?? '');
        if (!u) throw new OnnxParseError(`${labelOp}: output ${outNames[i]} has no type (the op gives ${inferred.length} outputs)`);
        if (t && !agrees(t, u)) throw new OnnxParseError(`${labelOp}: the file types output ${outNames[i]} as ${typeText(t)} but its inputs give ${typeText(u)}`);
        return t ? merged(t, u) : u;
      });
    } else if (declared.some((t) => t === null)) {
      throw new OnnxParseError(`${label}: no type for its outputs and no shape rule for ${op}`);
    }
    for (const n of outNames) if (n && g.value(n)) throw new OnnxParseError(`value ${n} is defined twice`);
    const node = within(label, () => g.addNode(op, inputs, outTypes as ValueType[], { name: np.name || op, attrs, outputNames: outNames, domain: np.domain ?? '' }));
    if (!np.name) node.unnamedIndex = index;
    known.add(node);
  }
  for (const vi of gp.output ?? []) {
    const v = g.value(vi.name ?? '');
    if (!v) throw new OnnxParseError(`graph output ${vi.name} is not produced`);
    g.outputs.push(v);
  }
  return { graph: g, opset, irVersion: toNum(m.irVersion ?? 0), producer: m.producerName ?? '' };
}

export function parseOnnx(bytes: Uint8Array, resolve?: ExternalResolver): ParsedModel {
  let m: OnnxNs.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxParseError(`not a valid ONNX file (${(e as Error).message})`);
  }
  return parseModelProto(m, resolve);
}
