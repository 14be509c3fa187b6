/**
 * Browser stand-in for `node:crypto`'s createHash('sha256'), for src/onnx/external.ts (the external
 * data checksum; synchronous there, which Web Crypto is not). FIPS 180-4 SHA-256. See README.md.
 */
import { Sha256 } from '../src/sha256.js';

export function createHash(algorithm: string): Sha256 {
  if (algorithm !== 'sha256') throw new Error(`hash ${algorithm} is not available in the browser build`);
  return new Sha256();
}
