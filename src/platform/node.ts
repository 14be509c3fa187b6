/**
 * The Node host: node:crypto's SHA-256 and node:zlib's CRC-32 (native, same results as the
 * portable ones), and every backend — onnxruntime-node (cpu, webgpu), onnxruntime-web in this
 * process (wasm) and in headless Chromium (browser-webgpu, browser-wasm; one browser per pool).
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
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
  backends: BACKEND_NAMES,
  backendOpener: nodeOpener,
  async openSession(model) {
    const { createSession, runSession } = await import('../runtime/ort.js');
    const s = await createSession(model, { disableOptimizations: true });
    return { run: (feeds, names) => runSession(s, feeds, names), release: () => s.release() };
  },
};
