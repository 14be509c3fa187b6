/**
 * A checkpoint's bytes → its tensors under timm's names and the one-line summary `vitx export`
 * prints: read by content (safetensors or PyTorch, weights/checkpoint.ts), the state dict chosen
 * (`key`), an official layout remapped (`layout`, default detected). The CLI (cli/weights.ts) and
 * the web app share it.
 */
import { getModel } from '../builders/registry.js';
import type { Tensor } from '../graph/tensor.js';
import { describeCheckpoint, readCheckpoint } from './checkpoint.js';
import { type LayoutChoice, remapCheckpoint } from './layouts.js';

export function openCheckpoint(model: string, bytes: Uint8Array, what: string, o: { key?: string; layout?: LayoutChoice } = {}): { tensors: Map<string, Tensor>; summary: string } {
  const c = readCheckpoint(bytes, what, { key: o.key });
  const r = remapCheckpoint(getModel(model), c.tensors, o.layout ?? 'auto', what);
  const summary = describeCheckpoint(c) + (r.layout ? `, official ${r.layout} layout → timm names` : '');
  return { tensors: r.tensors, summary };
}
