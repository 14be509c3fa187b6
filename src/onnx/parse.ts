/**
 * ONNX bytes → IR. Reads any model whose ops are single-graph (no subgraph attributes). Types come
 * from the file's inputs / outputs / value_info, and are inferred for values that have none.
 * Parse then serialize reproduces the bytes of a file vitx wrote.
 */
import { type Attr, attr, Graph, type Value, type ValueType } from '../graph/ir.js';
import { INFER, inferTypes, ShapeError } from '../graph/shapes.js';
import { KnownValues, nameUnknownDims, unknownLike } from './known.js';
import { dtypeFromOnnx, Tensor } from '../graph/tensor.js';
import { onnx, type OnnxNs, toNum } from './proto.js';

export class OnnxParseError extends Error {}

export interface ParsedModel {
  graph: Graph;
  opset: number;
  irVersion: number;
  producer: string;
}

/** Resolves an external-data reference to bytes (see external.ts); absent → external data is refused. */
export type ExternalResolver = (location: string, offset: number, length: number | null, tensorName: string) => Uint8Array;

function valueType(vi: OnnxNs.IValueInfoProto): ValueType | null {
  const tt = vi.type?.tensorType;
  if (!tt || !tt.elemType) return null;
  const dims = tt.shape?.dim ?? [];
  return {
    dtype: dtypeFromOnnx(tt.elemType),
    shape: dims.map((d, i) => (d.dimParam ? d.dimParam : d.dimValue != null && toNum(d.dimValue) > 0 ? toNum(d.dimValue) : d.dimValue != null ? toNum(d.dimValue) : `unk_${vi.name}_${i}`)),
  };
}

export function tensorFromProto(t: OnnxNs.ITensorProto, resolve?: ExternalResolver): Tensor {
  const dtype = dtypeFromOnnx(t.dataType ?? 0);
  const shape = (t.dims ?? []).map(toNum);
  const name = t.name ?? '';
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    if (!resolve) throw new OnnxParseError(`tensor ${name} uses external data, which this reader was not given a folder for`);
    const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (!location) throw new OnnxParseError(`tensor ${name}: external data without a location`);
    const offset = Number(kv.get('offset') ?? 0);
    const length = kv.has('length') ? Number(kv.get('length')) : null;
    return Tensor.fromBytes(dtype, shape, resolve(location, offset, length, name));
  }
  if (t.rawData && t.rawData.length > 0) return Tensor.fromBytes(dtype, shape, t.rawData);
  switch (dtype) {
    case 'float32': return new Tensor(dtype, shape, Float32Array.from(t.floatData ?? []));
    case 'float64': return new Tensor(dtype, shape, Float64Array.from(t.doubleData ?? []));
    case 'int64': return new Tensor(dtype, shape, BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(toNum(v)))));
    case 'int32': return new Tensor(dtype, shape, Int32Array.from(t.int32Data ?? []));
    case 'float16': case 'bfloat16': return new Tensor(dtype, shape, Uint16Array.from(t.int32Data ?? []));
    case 'int8': return new Tensor(dtype, shape, Int8Array.from(t.int32Data ?? []));
    case 'uint8': case 'bool': return new Tensor(dtype, shape, Uint8Array.from(t.int32Data ?? []));
  }
  throw new OnnxParseError(`tensor ${name}: unsupported storage`);
}

function attrFromProto(a: OnnxNs.IAttributeProto, resolve?: ExternalResolver): Attr {
  const A = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case A.INT: return attr.int(toNum(a.i ?? 0));
    case A.INTS: return attr.ints((a.ints ?? []).map(toNum));
    case A.FLOAT: return attr.float(a.f ?? 0);
    case A.FLOATS: return attr.floats(a.floats ?? []);
    case A.STRING: return attr.string(new TextDecoder().decode(a.s ?? new Uint8Array()));
    case A.STRINGS: return attr.strings((a.strings ?? []).map((s) => new TextDecoder().decode(s)));
    case A.TENSOR: return attr.tensor(tensorFromProto(a.t!, resolve));
    default: throw new OnnxParseError(`attribute ${a.name}: type ${a.type} (subgraphs, sparse tensors) is not supported`);
  }
}

export function parseModelProto(m: OnnxNs.ModelProto, resolve?: ExternalResolver): ParsedModel {
  const gp = m.graph;
  if (!gp) throw new OnnxParseError('model has no graph');
  const g = new Graph(gp.name ?? 'graph');
  const opset = toNum((m.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0);
  if (!opset) throw new OnnxParseError('model imports no default-domain opset');
  for (const kv of m.metadataProps ?? []) g.metadata.set(kv.key ?? '', kv.value ?? '');

  const known = new KnownValues();
  const types = new Map<string, ValueType>();
  for (const vi of [...(gp.input ?? []), ...(gp.output ?? []), ...(gp.valueInfo ?? [])]) {
    const t = valueType(vi);
    // an output or value_info without a shape says nothing about the rank: inference decides
    if (t && vi.name && (vi.type?.tensorType?.shape || gp.input?.includes(vi))) types.set(vi.name, t);
  }
  for (const t of gp.initializer ?? []) {
    if (!t.name) throw new OnnxParseError('initializer without a name');
    g.addInitializer(t.name, tensorFromProto(t, resolve));
  }
  for (const vi of gp.input ?? []) {
    if (!vi.name || g.initializers.has(vi.name)) continue; // old-style initializer-as-input
    const t = types.get(vi.name);
    if (!t) throw new OnnxParseError(`graph input ${vi.name} has no tensor type`);
    g.addInput(vi.name, t);
  }
  for (const np of gp.node ?? []) {
    const op = np.opType ?? '';
    const inputs: (Value | null)[] = (np.input ?? []).map((name) => {
      if (!name) return null;
      const v = g.value(name);
      if (!v) throw new OnnxParseError(`node ${np.name ?? op} reads ${name}, which is not defined before it`);
      return v;
    });
    const attrs: Record<string, Attr> = {};
    for (const a of np.attribute ?? []) attrs[a.name ?? ''] = attrFromProto(a, resolve);
    const outNames = np.output ?? [];
    let outTypes = outNames.map((n) => types.get(n) ?? null);
    if (outTypes.some((t) => t === null)) {
      let inferred: ValueType[];
      if (np.domain) {
        // a contrib op (com.microsoft ops in an onnxruntime-optimized file …): vitx's rules are for the default domain only
        const like = inputs.find((v) => v)?.type;
        if (!like) throw new OnnxParseError(`node ${np.name || op}: no type for its outputs and no shape rule for ${np.domain ? `${np.domain}.` : ''}${op}`);
        inferred = outNames.map(() => unknownLike(like));
      } else if (!INFER[op]) {
        throw new OnnxParseError(`node ${np.name || op}: no type for its outputs and no shape rule for ${op}`);
      } else try {
        inferred = inferTypes(op, inputs.map((v) => ({ type: v?.type ?? null, constant: v ? known.valueOf(v) : null })), attrs);
      } catch (e) {
        if (!(e instanceof ShapeError)) throw e;
        throw new OnnxParseError(`node ${np.name || op} (${op}): ${e.message}`);
      }
      outTypes = outTypes.map((t, i) => t ?? nameUnknownDims(inferred[i], outNames[i] ?? '') ?? null);
    }
    if (g.value(outNames[0] ?? '')) throw new OnnxParseError(`value ${outNames[0]} is defined twice`);
    const node = g.addNode(op, inputs, outTypes as ValueType[], { name: np.name || op, attrs, outputNames: outNames, domain: np.domain ?? '' });
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
