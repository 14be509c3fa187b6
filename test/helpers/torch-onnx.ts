/**
 * torch.onnx.export files of registered models (fixtures/torch-onnx/*.onnx.graph, written by
 * fixtures/torch-onnx/gen.py) with their weights restored: every initializer the generator
 * stripped (external location "vitx-recipe") gets the tensor of the same name from vitx's own
 * train-time graph with deterministic init — the weights `vitx export <model>` writes — since the
 * initializer names torch kept are timm's state_dict keys.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel } from '../../src/builders/index.js';
import { onnx } from '../../src/onnx/proto.js';
import { initDeterministic } from '../../src/weights/load.js';
import { ROOT } from './cli.js';

export const TORCH_ONNX_DIR = join(ROOT, 'fixtures', 'torch-onnx');

/** The export's bytes with weights restored; `tamper` adds 1 to the first element of that tensor. */
export function torchOnnxBytes(model: string, axes: 'static' | 'dynamic', tamper?: string): Uint8Array {
  const m = onnx.ModelProto.decode(readFileSync(join(TORCH_ONNX_DIR, `${model}.${axes}.onnx.graph`)));
  const g = buildModel(model);
  initDeterministic(g);
  for (const t of m.graph!.initializer ?? []) {
    const loc = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
    if (loc !== 'vitx-recipe') continue;
    const v = g.initializers.get(t.name ?? '');
    if (!v?.constant) throw new Error(`${model}: torch initializer ${t.name} is not in vitx's graph`);
    const bytes = new Uint8Array(v.constant.bytes());
    if (t.name === tamper) new Float32Array(bytes.buffer)[0]! += 1;
    t.rawData = bytes;
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    t.externalData = [];
  }
  return onnx.ModelProto.encode(m).finish();
}

/** Writes the restored export to `dir` and returns its path. */
export function writeTorchOnnx(dir: string, model: string, axes: 'static' | 'dynamic', tamper?: string): string {
  const path = join(dir, `${model}.torch.${axes}${tamper ? '.tampered' : ''}.onnx`);
  writeFileSync(path, torchOnnxBytes(model, axes, tamper));
  return path;
}
