/**
 * Browser stand-in for `node:crypto`'s createHash('sha256'), for src/onnx/external.ts (the external
 * data checksum; synchronous there, which Web Crypto is not). FIPS 180-4 SHA-256. See README.md.
 */
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

class Sha256 {
  private readonly h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  private readonly block = new Uint8Array(64);
  private readonly w = new Uint32Array(64);
  private fill = 0;
  private length = 0;

  update(data: Uint8Array): this {
    this.length += data.length;
    let i = 0;
    while (i < data.length) {
      const n = Math.min(64 - this.fill, data.length - i);
      this.block.set(data.subarray(i, i + n), this.fill);
      this.fill += n; i += n;
      if (this.fill === 64) { this.compress(); this.fill = 0; }
    }
    return this;
  }

  digest(_encoding: 'hex'): string {
    const bits = this.length * 8;
    this.update(new Uint8Array([0x80]));
    while (this.fill !== 56) this.update(new Uint8Array(1));
    const tail = new Uint8Array(8);
    new DataView(tail.buffer).setUint32(0, Math.floor(bits / 2 ** 32));
    new DataView(tail.buffer).setUint32(4, bits >>> 0);
    this.update(tail);
    return Array.from(this.h, (x) => x.toString(16).padStart(8, '0')).join('');
  }

  private compress(): void {
    const w = this.w, b = this.block, h = this.h;
    for (let t = 0; t < 16; t++) w[t] = (b[4 * t]! << 24) | (b[4 * t + 1]! << 16) | (b[4 * t + 2]! << 8) | b[4 * t + 3]!;
    const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15]!, y = w[t - 2]!;
      w[t] = (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10)) + w[t - 7]! + (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + w[t - 16]!;
    }
    let [a, bb, c, d, e, f, g, hh] = h as unknown as number[];
    for (let t = 0; t < 64; t++) {
      const t1 = (hh! + (rotr(e!, 6) ^ rotr(e!, 11) ^ rotr(e!, 25)) + ((e! & f!) ^ (~e! & g!)) + K[t]! + w[t]!) | 0;
      const t2 = ((rotr(a!, 2) ^ rotr(a!, 13) ^ rotr(a!, 22)) + ((a! & bb!) ^ (a! & c!) ^ (bb! & c!))) | 0;
      hh = g; g = f; f = e; e = (d! + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
    }
    h[0]! += a!; h[1]! += bb!; h[2]! += c!; h[3]! += d!; h[4]! += e!; h[5]! += f!; h[6]! += g!; h[7]! += hh!;
  }
}

export function createHash(algorithm: string): Sha256 {
  if (algorithm !== 'sha256') throw new Error(`hash ${algorithm} is not available in the browser build`);
  return new Sha256();
}
