/**
 * The Node host: node:crypto's SHA-256 and node:zlib's CRC-32 (native, same results as the
 * portable ones), node:zlib's inflate with an output limit (PNG photos), the reference session on
 * onnxruntime-web's WebAssembly, and every backend — onnxruntime-node (cpu, webgpu), onnxruntime-web
 * in this process (wasm) and in headless Chromium (browser-webgpu, browser-wasm; one browser per pool).
 */
import { createHash } from 'node:crypto';
import { crc32, inflateSync } from 'node:zlib';
import { type Backend, BACKEND_NAMES, BackendUnavailableError, firstLine } from '../runtime/backend.js';
import type { BackendOpener, Platform, Sha256 } from './index.js';

function sha256Node(): Sha256 {
  const h = createHash('sha256');
  const api: Sha256 = { update(b) { h.update(b); return api; }, hex: () => h.digest('hex') };
  return api;
}

function nodeOpener(): BackendOpener {
  let browserHost: Promise<import('../runtime/browser.js').BrowserHost> | null = null;
  return {
    async open(name): Promise<Backend> {
      switch (name) {
        case 'cpu': case 'webgpu': return (await import('../runtime/node.js')).openNodeBackend(name);
        case 'wasm': return (await import('../runtime/wasm.js')).openWasmBackend();
        case 'browser-webgpu': case 'browser-wasm': {
          const { BrowserHost } = await import('../runtime/browser.js');
          browserHost ??= BrowserHost.start();
          browserHost.catch(() => undefined);
          let host;
          try {
            host = await browserHost;
          } catch (e) {
            throw new BackendUnavailableError(`${name}: ${firstLine(e)}`);
          }
          return host.backend(name === 'browser-webgpu' ? 'webgpu' : 'wasm');
        }
      }
    },
    async close() {
      const h = await browserHost?.catch(() => null);
      browserHost = null;
      await h?.close();
    },
  };
}

export const NODE_PLATFORM: Platform = {
  name: 'node',
  sha256: sha256Node,
  crc32: (bytes, initial = 0) => crc32(bytes, initial),
  inflate(bytes, maxOutputLength) {
    try {
      return inflateSync(bytes, { maxOutputLength: Math.max(1, maxOutputLength) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return null;
      throw e;
    }
  },
  backends: BACKEND_NAMES,
  backendOpener: nodeOpener,
  /**
   * onnxruntime-web's WebAssembly build (one thread), not onnxruntime-node's CPU kernels: the same
   * binary computes the same activations bit for bit here and in any browser (checked on every
   * tensor of mobileone_s0 and mobilevit_xxs), so int8 calibration gives the same ranges and the
   * same int8 bytes from the CLI and the web app; the CPU kernels differ from WASM (and between
   * machines, AVX2 / AVX-512) in the last bits, which move the quantization scales.
   */
  async openSession(model) {
    const { openWasmSession } = await import('../runtime/wasm.js');
    return openWasmSession(model);
  },
};
