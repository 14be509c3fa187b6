/**
 * Element types and constant tensors.
 *
 * A `Tensor` is an immutable-by-convention constant: a dtype, a static shape and its elements in
 * C order. float16 / bfloat16 elements are stored as their raw 16-bit patterns (Uint16Array).
 */

export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/** ONNX TensorProto.DataType numbers (onnx.proto3, enum DataType). */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, bfloat16: 16,
};

export function dtypeFromOnnx(code: number): DType {
  for (const [k, v] of Object.entries(ONNX_DTYPE)) if (v === code) return k as DType;
  throw new Error(`unsupported ONNX element type ${code}`);
}

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1,
};

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function allocate(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'float16': case 'bfloat16': return new Uint16Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'int32': return new Int32Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
  }
}

export class Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;

  constructor(dtype: DType, shape: readonly number[], data?: TensorData) {
    const n = numel(shape);
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data ?? allocate(dtype, n);
    if (this.data.length !== n) throw new Error(`tensor of shape [${shape}] needs ${n} elements, got ${this.data.length}`);
  }

  static f32(shape: readonly number[], values?: ArrayLike<number>): Tensor {
    return new Tensor('float32', shape, values ? Float32Array.from(values) : undefined);
  }

  static i64(values: readonly number[], shape: readonly number[] = [values.length]): Tensor {
    return new Tensor('int64', shape, BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  static scalarF32(v: number): Tensor {
    return new Tensor('float32', [], Float32Array.of(v));
  }

  get size(): number { return this.data.length; }

  /** Elements as plain numbers (int64 converted; throws beyond 2^53). */
  toNumbers(): number[] {
    if (this.data instanceof BigInt64Array) {
      return Array.from(this.data, (v) => {
        const n = Number(v);
        if (!Number.isSafeInteger(n)) throw new Error(`int64 value ${v} does not fit a JS number`);
        return n;
      });
    }
    if (this.dtype === 'float16') return Array.from(this.data as Uint16Array, halfToFloat);
    if (this.dtype === 'bfloat16') return Array.from(this.data as Uint16Array, bf16ToFloat);
    return Array.from(this.data as ArrayLike<number>);
  }

  /** float32 view of any floating tensor (converts half types). */
  toFloat32(): Float32Array {
    if (this.data instanceof Float32Array) return this.data;
    return Float32Array.from(this.toNumbers());
  }

  /** Raw little-endian bytes (this platform is little-endian; checked at module load). */
  bytes(): Uint8Array {
    return new Uint8Array(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }

  static fromBytes(dtype: DType, shape: readonly number[], bytes: Uint8Array): Tensor {
    const n = numel(shape);
    const want = n * BYTES_PER_ELEMENT[dtype];
    if (bytes.byteLength !== want) throw new Error(`expected ${want} bytes for ${dtype}[${shape}], got ${bytes.byteLength}`);
    const copy = new Uint8Array(want);
    copy.set(bytes);
    const buf = copy.buffer;
    const data: TensorData = (() => {
      switch (dtype) {
        case 'float32': return new Float32Array(buf);
        case 'float64': return new Float64Array(buf);
        case 'float16': case 'bfloat16': return new Uint16Array(buf);
        case 'int64': return new BigInt64Array(buf);
        case 'int32': return new Int32Array(buf);
        case 'int8': return new Int8Array(buf);
        case 'uint8': case 'bool': return new Uint8Array(buf);
      }
    })();
    return new Tensor(dtype, shape, data);
  }

  reshape(shape: readonly number[]): Tensor {
    return new Tensor(this.dtype, shape, this.data);
  }
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('vitx requires a little-endian platform');

// ---- half-precision conversions (IEEE 754 binary16 and bfloat16), round to nearest even ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function floatToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40; // NaN
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

export function bf16ToFloat(b: number): number {
  u32[0] = b << 16;
  return f32[0]!;
}
