/**
 * The platform layer (design.md principle 12): what the core needs from its host and must not
 * import itself — hashing, checksums and an onnxruntime. The core calls `platform()`; an entry
 * point installs its host's implementations once (`src/index.ts`: Node, `src/browser.ts`: browser)
 * with `setPlatform`. Every implementation computes the same function (CRC-32, SHA-256,
 * onnxruntime's kernels), so results are the same bytes whichever host runs them; only speed differs.
 *
 * The defaults are pure JavaScript (crc32 below, SHA-256 from @noble/hashes) and have no runtime:
 * code that runs models asks `platform().backendOpener()`, which an entry point provides.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Backend, BackendName, Feeds, Outputs } from '../runtime/backend.js';

/** An incremental SHA-256 (hex digest). */
export interface Sha256 {
  update(bytes: Uint8Array): Sha256;
  hex(): string;
}

export interface Platform {
  /** Which host this is ('node', 'browser', or 'portable' for the pure-JS defaults). */
  readonly name: string;
  sha256(): Sha256;
  /** CRC-32 (ISO-HDLC, as zip and zlib compute it) of `bytes`, continuing from `initial`. */
  crc32(bytes: Uint8Array, initial?: number): number;
  /**
   * A zlib stream inflated, or null when it inflates to more than `maxOutputLength` bytes (it stops
   * there: a decompression bomb costs no more). Throws on corrupt data. Absent where the host has
   * no zlib (PNG photos are then refused: pngjs needs Node's zlib anyway).
   */
  inflate?(bytes: Uint8Array, maxOutputLength: number): Uint8Array | null;
  /** Backends this host can run models on (verify); the first is the reference backend. */
  readonly backends: readonly BackendName[];
  /**
   * A set of backends for one BackendPool: `open` is called once per name, `close` when the pool
   * closes (e.g. the Node host's one headless browser, shared by its two browser backends).
   */
  backendOpener(): BackendOpener;
  /**
   * A session on the host's reference runtime with onnxruntime's own optimizations off (int8
   * calibration runs every sample through one session): onnxruntime-web's WASM in Node and in a
   * page alike, so that calibration gives the same ranges on both (platform/node.ts).
   */
  openSession(model: Uint8Array): Promise<ModelSession>;
}

export interface ModelSession {
  run(feeds: Feeds, outputNames?: readonly string[]): Promise<Outputs>;
  release(): Promise<void>;
}

export interface BackendOpener {
  open(name: BackendName): Promise<Backend>;
  close(): Promise<void>;
}

/** One more thing the host cannot do: one line naming it. */
export class PlatformError extends Error {}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; // reflected polynomial 0x04C11DB7
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 in plain JavaScript, one table lookup per byte (zlib's crc32 without its SIMD). */
export function crc32Portable(bytes: Uint8Array, initial = 0): number {
  let c = ~initial >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export function sha256Portable(): Sha256 {
  const h = nobleSha256.create();
  const api: Sha256 = { update(b) { h.update(b); return api; }, hex: () => bytesToHex(h.digest()) };
  return api;
}

export const PORTABLE: Platform = {
  name: 'portable',
  sha256: sha256Portable,
  crc32: crc32Portable,
  backends: [],
  backendOpener: () => ({
    open: async (name) => { throw new PlatformError(`${name}: no onnxruntime here; import vitx through its Node or browser entry`); },
    close: async () => undefined,
  }),
  openSession: async () => { throw new PlatformError('no onnxruntime here; import vitx through its Node or browser entry'); },
};

let current: Platform = PORTABLE;

/** The host's implementations (the pure-JS defaults until an entry point installs its own). */
export function platform(): Platform {
  return current;
}

/** Installs a host's implementations; entry points call it once when they are imported. */
export function setPlatform(p: Platform): void {
  current = p;
}
