/**
 * vitx — the package's front door in Node (`import { exportModel } from 'vitx'`). The browser
 * entry (src/browser.ts, the "browser" condition of the package's `exports`) exposes the same
 * functions; only the host behind them differs (platform/node.ts here: onnxruntime-node for the
 * cpu / webgpu backends and int8 calibration, onnxruntime-web for wasm, headless Chromium for
 * browser-*; node:crypto and node:zlib for SHA-256 and CRC-32).
 *
 *   listModels()                          registered models (`vitx list --json`); listPretrained(): the tags
 *   readCheckpoint(bytes, {model?, key?}) a .safetensors / PyTorch checkpoint's tensors under timm's names
 *   exportModel(model, options)           → { bytes, external, graph, findings, passes, int8, … }  (`vitx export`)
 *   quantizeModel(onnxBytes, {calibration}) → { bytes, report }                                    (`vitx quantize`)
 *   verify(model | onnxBytes, options)    → report per backend                                     (`vitx verify`)
 *   inspect(onnxBytes, {target?})         → params, MACs, ops, lint                                 (`vitx inspect`)
 *
 * Bytes in, bytes out: nothing here reads or writes files (the CLI does that around them).
 * onnxruntime-node is an optional peer dependency: install it for the cpu / webgpu backends and int8.
 */
import { setPlatform } from './platform/index.js';
import { NODE_PLATFORM } from './platform/node.js';

setPlatform(NODE_PLATFORM);

export * from './api.js';
