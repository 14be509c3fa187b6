/**
 * IR → ONNX ModelProto bytes.
 *
 * Deterministic by construction: nodes in topological order (ties by creation order), initializers
 * in order of first use (unread ones are not written), value_info in node order, metadata sorted by key, raw little-endian tensor data.
 * Same graph in, same bytes out.
 */
import { isUnknown } from '../graph/ops/infer-util.js';
import type { Attr, Graph, Value } from '../graph/ir.js';
import { ONNX_DTYPE, type Tensor } from '../graph/tensor.js';
import { irVersionForOpset, onnx, type OnnxNs } from './proto.js';

export { VITX_VERSION } from '../version.js';
import { VITX_VERSION } from '../version.js';

export interface SerializeOptions {
  opset: number;
  /** Write value_info for intermediate values (default true). */
  valueInfo?: boolean;
  /**
   * Floating-point tensors at or above this many bytes go to external data (see external.ts);
   * integer tensors (shapes, axes, indices) always stay inline, where shape inference reads them.
   */
  externalData?: { threshold: number; location: string; sink: (t: Tensor) => { offset: number; length: number } };
}

const SIMPLE_DIM = /^[A-Za-z_][A-Za-z0-9_]*$/;

function typeProto(v: Value): OnnxNs.ITypeProto {
  return {
    tensorType: {
      elemType: ONNX_DTYPE[v.dtype],
      shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : SIMPLE_DIM.test(d) ? { dimParam: d } : {})) },
    },
  };
}

export function tensorProto(name: string, t: Tensor, opts?: SerializeOptions['externalData']): OnnxNs.ITensorProto {
  const base: OnnxNs.ITensorProto = { dims: [...t.shape], dataType: ONNX_DTYPE[t.dtype], name };
  const floating = t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'bfloat16' || t.dtype === 'float64';
  if (opts && floating && t.data.byteLength >= opts.threshold) {
    const { offset, length } = opts.sink(t);
    return {
      ...base,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: opts.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ],
    };
  }
  return { ...base, rawData: t.bytes() };
}

const A = onnx.AttributeProto.AttributeType;

function attrProto(name: string, a: Attr): OnnxNs.IAttributeProto {
  switch (a.kind) {
    case 'int': return { name, type: A.INT, i: a.value };
    case 'ints': return { name, type: A.INTS, ints: [...a.value] };
    case 'float': return { name, type: A.FLOAT, f: a.value };
    case 'floats': return { name, type: A.FLOATS, floats: [...a.value] };
    case 'string': return { name, type: A.STRING, s: new TextEncoder().encode(a.value) };
    case 'strings': return { name, type: A.STRINGS, strings: a.value.map((s) => new TextEncoder().encode(s)) };
    case 'tensor': return { name, type: A.TENSOR, t: tensorProto('', a.value) };
  }
}

/**
 * Initializers in order of first use, without those nothing reads: every file vitx writes (export,
 * quantize, io-wrap, the copies verify and diff run) is free of dead initializers, whichever pass left
 * one behind (onnxruntime warns about each on load, and they cost file size).
 */
function liveInitializers(g: Graph): Value[] {
  return g.initializersInUseOrder().filter((v) => v.uses.size > 0 || v.isGraphOutput);
}

export function toModelProto(g: Graph, o: SerializeOptions): OnnxNs.ModelProto {
  g.topoSort();
  const nodes = [...g.nodes];
  const outputs = new Set(g.outputs);
  const valueInfo: OnnxNs.IValueInfoProto[] = [];
  if (o.valueInfo ?? true) {
    // dims the reader could not know ('?…', see onnx/known.ts) are not asserted to the runtime
    for (const n of nodes) for (const v of n.outputs) if (!outputs.has(v) && !v.shape.some(isUnknown)) valueInfo.push({ name: v.name, type: typeProto(v) });
  }
  const domains = new Map<string, number>([['', o.opset]]);
  for (const n of nodes) if (n.domain && !domains.has(n.domain)) domains.set(n.domain, 1);
  const graph: OnnxNs.IGraphProto = {
    name: g.name,
    node: nodes.map((n) => ({
      name: n.name,
      opType: n.op,
      domain: n.domain || undefined,
      input: n.inputs.map((v) => v?.name ?? ''),
      output: n.outputs.map((v) => v.name),
      attribute: Object.entries(n.attrs).map(([k, a]) => attrProto(k, a)),
    })),
    initializer: liveInitializers(g).map((v) => tensorProto(v.name, v.constant!, o.externalData)),
    input: g.inputs.map((v) => ({ name: v.name, type: typeProto(v) })),
    output: g.outputs.map((v) => ({ name: v.name, type: typeProto(v) })),
    valueInfo,
  };
  return onnx.ModelProto.fromObject({
    irVersion: irVersionForOpset(o.opset),
    producerName: 'vitx',
    producerVersion: VITX_VERSION,
    opsetImport: [...domains.entries()].map(([domain, version]) => ({ domain, version })),
    graph,
    metadataProps: [...g.metadata.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([key, value]) => ({ key, value })),
  });
}

export function serialize(g: Graph, o: SerializeOptions): Uint8Array {
  return onnx.ModelProto.encode(toModelProto(g, o)).finish();
}
