/**
 * NumPy .npy reader for calibration tensors: format 1.0–3.0, little-endian float32 ('<f4') or
 * float64 ('<f8', converted), C order. Every size is checked against the file before allocating.
 */
export class NpyError extends Error {}

export interface NpyArray { shape: number[]; data: Float32Array }

export function readNpy(bytes: Uint8Array, name: string): NpyArray {
  const fail = (why: string): never => { throw new NpyError(`${name}: ${why}`); };
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) fail('not a .npy file (bad magic)');
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : bytes.length >= 12 ? dv.getUint32(8, true) : fail('truncated header');
  const hstart = major === 1 ? 10 : 12;
  if (major < 1 || major > 3) fail(`unsupported .npy version ${major}`);
  if (hstart + hlen > bytes.length) fail('truncated header');
  const header = new TextDecoder().decode(bytes.subarray(hstart, hstart + hlen));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail('malformed header');
  if (fortran === 'True') fail('Fortran-order arrays are not supported (save with np.ascontiguousarray)');
  if (descr !== '<f4' && descr !== '<f8') fail(`dtype ${descr} is not supported (float32 or float64)`);
  const shape = shapeText!.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : fail(`bad shape (${shapeText})`)));
  const n = shape.reduce((a, b) => a * b, 1);
  const esize = descr === '<f4' ? 4 : 8;
  const off = hstart + hlen;
  if (!Number.isSafeInteger(n * esize) || bytes.length - off !== n * esize) fail(`shape (${shape.join(', ')}) needs ${n * esize} data bytes, the file has ${bytes.length - off}`);
  const copy = new Uint8Array(n * esize); // a copy at offset 0: aligned, and not a view of a pooled Buffer
  copy.set(bytes.subarray(off, off + n * esize));
  const data = esize === 4 ? new Float32Array(copy.buffer) : Float32Array.from(new Float64Array(copy.buffer));
  return { shape, data };
}
