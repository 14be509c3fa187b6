/** A tiny ONNX model (y = Relu(x + x), x: float32[1, 4]) used to check that a backend starts. */
import { Builder } from '../graph/builder.js';
import { serialize } from '../onnx/serialize.js';
import type { Feeds } from './backend.js';

let cached: Uint8Array | null = null;

export function probeModel(): Uint8Array {
  if (cached) return cached;
  const b = Builder.create('vitx_probe');
  const x = b.input('x', { dtype: 'float32', shape: [1, 4] });
  const y = b.relu(b.add(x, x));
  b.g.outputs.push(y);
  b.g.renameValue(y, 'y');
  cached = serialize(b.g, { opset: 17 });
  return cached;
}

export function probeFeeds(): Feeds {
  return { x: { dtype: 'float32', dims: [1, 4], data: Float32Array.of(-1, 0.5, 2, -3) } };
}

/** The probe's expected output. */
export const PROBE_EXPECTED = [0, 1, 4, 0];

export function checkProbe(got: ArrayLike<number> | undefined): boolean {
  return !!got && PROBE_EXPECTED.every((v, i) => got[i] === v);
}
