/**
 * vitx — the package's front door in browsers and Web Workers (the "browser" condition of the
 * package's `exports`: a bundler resolves `import … from 'vitx'` here). The same functions as the
 * Node entry (src/index.ts), on the browser host (platform/browser.ts): onnxruntime-web's `wasm`
 * (the reference backend and int8 calibration) and `webgpu` backends; SHA-256 and CRC-32 in
 * JavaScript. Nothing below imports a Node built-in (test/platform/browser-bundle.test.ts).
 *
 *   listModels(), listPretrained()             the model table and pretrained tags (instant)
 *   readCheckpoint(bytes, {model?, key?})      dropped .safetensors / .pth bytes → tensors under timm's names
 *   exportModel(model, {weights, onProgress…}) → { bytes, findings, passes, int8, … } (same bytes as `vitx export`)
 *   quantizeModel(onnxBytes, {calibration})    → { bytes, report }
 *   verify(model | onnxBytes, {backends})      backends 'wasm' | 'webgpu'; reference on wasm
 *   inspect(onnxBytes, {target?})              the `vitx inspect` report
 *
 * To serve onnxruntime-web's .wasm files from your own path, call
 * `useBrowserPlatform({ loadOrt: async () => { const ort = await import('onnxruntime-web'); ort.env.wasm.wasmPaths = '/ort/'; return ort; } })`
 * before the first verify / int8 export.
 */
import { setPlatform } from './platform/index.js';
import { browserPlatform, type BrowserPlatformOptions } from './platform/browser.js';

setPlatform(browserPlatform());

/** Reinstalls the browser host with options (e.g. how onnxruntime-web is loaded). */
export function useBrowserPlatform(o: BrowserPlatformOptions): void {
  setPlatform(browserPlatform(o));
}

export type { BrowserPlatformOptions };
export * from './api.js';
