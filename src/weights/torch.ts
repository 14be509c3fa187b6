/**
 * PyTorch checkpoints as `torch.save` writes them since 1.6: a zip archive
 *
 *   <top>/data.pkl       the pickled object (protocol 2); tensors refer to storages by persistent id
 *                        ('storage', torch.FloatStorage, '<key>', 'cpu', numel)
 *   <top>/data/<key>     each storage's raw elements (byte order in <top>/byteorder, default little)
 *   <top>/version        format version
 *
 * (`<top>` is the archive's name, e.g. `archive`). A tensor is
 * `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`: element [i0, i1, …] is
 * storage[offset + Σ i_k·stride_k]. Tensors stay lazy (`TensorRef`) until a caller materializes
 * the ones it uses, so an optimizer state next to the weights is never read.
 */
import { BYTES_PER_ELEMENT, type DType, numel, Tensor } from '../graph/tensor.js';
import { asInt, printable, type CallHandler, dictSet, NumpyDtype, Opaque, PickleError, PyBytes, PyDict, PyGlobal, PyTuple, type PyValue, unpickle } from './pickle.js';
import { looksLikeZip, ZipReader } from './zip.js';

export class TorchCheckpointError extends Error {
  constructor(message: string) { super(printable(message)); }
}

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
  LongStorage: 'int64', IntStorage: 'int32', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool', UntypedStorage: 'uint8',
};

export class StorageRef {
  constructor(readonly key: string, readonly typeName: string, readonly dtype: DType | null, readonly numel: number | null) {}
}

export class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: PyValue, readonly size: PyValue, readonly stride: PyValue) {}
}

/** pickle v2 magic number that the legacy (pre-1.6) torch.save writes first: LONG1 0x1950a86a20f9469cfc6c. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
export function looksLikeLegacyTorch(b: Uint8Array): boolean {
  if (LEGACY_MAGIC.every((x, i) => b[i] === x)) return true;
  // the even older tar format: a ustar header at byte 257
  return b.byteLength > 262 && new TextDecoder().decode(b.subarray(257, 262)) === 'ustar';
}
export const LEGACY_ADVICE = 'it is in the legacy (pre-1.6) torch.save format; convert it with a current PyTorch: ' +
  'python -c "import torch,sys; torch.save(torch.load(sys.argv[1], map_location=\'cpu\'), sys.argv[2])" old.pth new.pth';

function tupleItems(v: PyValue): PyValue[] | null {
  return v instanceof PyTuple ? v.items : Array.isArray(v) ? v : null;
}

/** The callables a state-dict checkpoint needs, as plain-data constructors (nothing else is called). */
function allowedCalls(): Map<string, CallHandler> {
  const calls = new Map<string, CallHandler>();
  const rebuild: CallHandler = (a) => {
    const s = a[0];
    return s instanceof StorageRef ? new TensorRef(s, a[1] ?? null, a[2] ?? null, a[3] ?? null) : new Opaque('torch._utils._rebuild_tensor_v2 (without a storage)');
  };
  calls.set('torch._utils._rebuild_tensor_v2', rebuild);
  calls.set('torch._utils._rebuild_tensor', rebuild);
  const param: CallHandler = (a) => a[0] ?? null;
  calls.set('torch._utils._rebuild_parameter', param);
  calls.set('torch._utils._rebuild_parameter_with_state', param);
  calls.set('torch.nn.parameter.Parameter', param);
  // a tensor subclass: _rebuild_from_type_v2(func, type, args, state) is func(*args) (the type ignored)
  calls.set('torch._tensor._rebuild_from_type_v2', (a) => {
    const fn = a[0], args = tupleItems(a[2] ?? null);
    const h = fn instanceof PyGlobal && fn.qualified !== 'torch._tensor._rebuild_from_type_v2' ? calls.get(fn.qualified) : undefined;
    return h && args ? h(args) : new Opaque('torch._tensor._rebuild_from_type_v2');
  });
  calls.set('collections.OrderedDict', (a) => {
    const d = new PyDict('OrderedDict');
    for (const pair of tupleItems(a[0] ?? null) ?? []) {
      const kv = tupleItems(pair);
      if (kv && kv.length === 2) dictSet(d, kv[0]!, kv[1]!);
    }
    return d;
  });
  calls.set('torch.Size', (a) => new PyTuple(tupleItems(a[0] ?? null) ?? []));
  calls.set('argparse.Namespace', (_a, kw) => {
    const d = new PyDict('Namespace');
    if (kw) for (const [k, v] of kw.map) if (typeof k === 'string') d.attrs.set(k, v);
    return d;
  });
  calls.set('torch.device', (a) => a.map(String).join(':'));
  calls.set('builtins.set', (a) => [...(tupleItems(a[0] ?? null) ?? [])]);
  calls.set('builtins.frozenset', (a) => [...(tupleItems(a[0] ?? null) ?? [])]);
  // protocol 2 pickles bytes as _codecs.encode(<latin-1 text>, 'latin1')
  calls.set('_codecs.encode', (a) => {
    const s = a[0];
    if (typeof s !== 'string' || (a[1] !== 'latin1' && a[1] !== 'latin-1')) return new Opaque('_codecs.encode');
    const out = new Uint8Array(s.length); // each character's low byte (the unpickler charges the copy)
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
    return new PyBytes(out);
  });
  const dtype: CallHandler = (a) => typeof a[0] === 'string' ? new NumpyDtype(a[0]) : new Opaque('numpy.dtype');
  const scalar: CallHandler = (a) => numpyScalar(a[0] ?? null, a[1] ?? null);
  for (const m of ['numpy', 'numpy.core.multiarray', 'numpy._core.multiarray']) {
    calls.set(`${m}.dtype`, dtype);
    calls.set(`${m}.scalar`, scalar);
  }
  return calls;
}

/** numpy.core.multiarray.scalar(dtype, raw bytes) → a number for the numeric dtypes metrics use. */
function numpyScalar(dt: PyValue, raw: PyValue): PyValue {
  if (!(dt instanceof NumpyDtype) || !(raw instanceof PyBytes)) return new Opaque('numpy scalar');
  const b = raw.data, little = dt.order !== '>';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const kinds: Record<string, [number, (o: number) => number | bigint]> = {
    f8: [8, (o) => dv.getFloat64(o, little)], f4: [4, (o) => dv.getFloat32(o, little)],
    i8: [8, (o) => dv.getBigInt64(o, little)], i4: [4, (o) => dv.getInt32(o, little)],
    u8: [8, (o) => dv.getBigUint64(o, little)], u4: [4, (o) => dv.getUint32(o, little)],
    b1: [1, (o) => dv.getUint8(o)],
  };
  const k = kinds[dt.str];
  if (!k || b.byteLength !== k[0]) return new Opaque(`numpy scalar of dtype ${dt.str}`);
  const v = k[1](0);
  return typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export class TorchArchive {
  readonly root: PyValue;
  private readonly zip: ZipReader;
  private readonly prefix: string;
  private readonly bigEndian: boolean;
  private readonly storages = new Map<string, StorageRef>();

  constructor(bytes: Uint8Array, private readonly what: string) {
    if (!looksLikeZip(bytes)) throw new TorchCheckpointError(`${what}: not a zip archive`);
    this.zip = new ZipReader(bytes, what);
    const pkls = [...this.zip.entries.keys()].filter((n) => /^([^/]+\/)?data\.pkl$/.test(n));
    if (pkls.length !== 1) throw new TorchCheckpointError(`${what}: a zip archive but not a PyTorch checkpoint (${pkls.length === 0 ? 'no' : 'more than one'} <archive>/data.pkl)`);
    this.prefix = pkls[0]!.slice(0, -'data.pkl'.length);
    if ([...this.zip.entries.keys()].some((n) => n.startsWith(`${this.prefix}code/`) || n === `${this.prefix}constants.pkl`)) {
      throw new TorchCheckpointError(`${what}: a TorchScript archive (torch.jit.save), not a checkpoint; save its weights with torch.save(model.state_dict(), f)`);
    }
    const order = this.zip.entries.has(`${this.prefix}byteorder`) ? new TextDecoder().decode(this.zip.entryData(`${this.prefix}byteorder`)).trim() : 'little';
    if (order !== 'little' && order !== 'big') throw new TorchCheckpointError(`${what}: unknown byte order ${JSON.stringify(order.slice(0, 20))}`);
    this.bigEndian = order === 'big';
    this.root = unpickle(this.zip.entryData(`${this.prefix}data.pkl`), {
      what: `${what} (data.pkl)`, calls: allowedCalls(), persistentLoad: (pid) => this.storage(pid),
    });
  }

  private storage(pid: PyValue): PyValue {
    const t = tupleItems(pid);
    if (!t || t[0] !== 'storage' || t.length < 3) throw new PickleError(`${this.what} (data.pkl): persistent id is not a torch storage reference`);
    const [, type, key, , count] = t;
    const k = typeof key === 'string' ? key : asInt(key ?? null)?.toString();
    if (k === undefined || !/^\w+$/.test(k)) throw new PickleError(`${this.what} (data.pkl): storage key ${String(key)} is not a plain name`);
    const typeName = type instanceof PyGlobal ? type.name : String(type);
    const n = asInt(count ?? null);
    const prev = this.storages.get(k);
    if (prev) return prev;
    const ref = new StorageRef(k, typeName, STORAGE_DTYPES[typeName] ?? null, n !== null && n >= 0 ? n : null);
    this.storages.set(k, ref);
    return ref;
  }

  /** The tensor's elements in C order (a copy), after checking every index against its storage. */
  tensor(ref: TensorRef, name: string): Tensor {
    const fail = (m: string): never => { throw new TorchCheckpointError(`${this.what}: tensor ${name}: ${m}`); };
    const s = ref.storage;
    if (!s.dtype) fail(`unsupported storage type ${s.typeName}`);
    const dtype = s.dtype!;
    const el = BYTES_PER_ELEMENT[dtype];
    const shape = ints(ref.size), stride = ints(ref.stride), offset = asInt(ref.offset);
    if (!shape || shape.some((d) => d < 0) || shape.length > 8) fail('bad size');
    if (!stride || stride.length !== shape!.length || stride.some((d) => d < 0)) fail('bad stride');
    if (offset === null || offset < 0) fail('bad storage offset');
    const data = this.zip.entries.has(`${this.prefix}data/${s.key}`) ? this.zip.entryData(`${this.prefix}data/${s.key}`) : fail(`its storage data/${s.key} is missing from the archive`);
    if (data.byteLength % el !== 0) fail(`storage data/${s.key} has ${data.byteLength} bytes, not a whole number of ${dtype} elements`);
    const have = data.byteLength / el;
    if (s.numel !== null && s.numel !== have) fail(`storage data/${s.key} declares ${s.numel} elements but holds ${have}`);
    const n = numel(shape!);
    // a view may repeat elements (stride 0) but not ask for unbounded memory: at most its storage or 16 M elements
    if (n > Math.max(have, 1 << 24)) fail(`shape [${shape}] has ${n} elements, more than its storage (${have})`);
    if (n > 0) {
      let last = offset!;
      for (let i = 0; i < shape!.length; i++) last += (shape![i]! - 1) * stride![i]!;
      if (last >= have) fail(`needs storage element ${last} but data/${s.key} holds ${have} (storage shorter than the tensor)`);
    }
    const out = new Uint8Array(n * el);
    if (isContiguous(shape!, stride!)) out.set(data.subarray(offset! * el, (offset! + n) * el));
    else gather(data, out, el, shape!, stride!, offset!);
    if (this.bigEndian && el > 1) for (let i = 0; i < out.length; i += el) out.subarray(i, i + el).reverse();
    return Tensor.fromBytes(dtype, shape!, out);
  }
}

function ints(v: PyValue): number[] | null {
  const t = tupleItems(v);
  if (!t) return null;
  const out: number[] = [];
  for (const x of t) { const n = asInt(x); if (n === null) return null; out.push(n); }
  return out;
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) return false;
    expect *= shape[i]!;
  }
  return true;
}

/** Copies a strided view into C order, one element (el bytes) at a time. */
function gather(src: Uint8Array, dst: Uint8Array, el: number, shape: number[], stride: number[], offset: number): void {
  const n = numel(shape), rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let pos = offset;
  for (let i = 0; i < n; i++) {
    dst.set(src.subarray(pos * el, pos * el + el), i * el);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      pos += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      pos -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

export { PyDict, PyTuple, Opaque };
