/**
 * contrib-gelu (`--target ort` only, float32, opset < 20): GELU as one onnxruntime contrib node
 * instead of the standard-op arithmetic that legalization writes below opset 20.
 *
 *   Gelu(approximate = none) = 0.5·x·(1 + erf(x/√2))                       → com.microsoft.Gelu
 *   Gelu(approximate = tanh) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))  → com.microsoft.FastGelu
 *
 * Same function (onnxruntime's kernels compute exactly these formulas). Measured (CPU time per run,
 * interleaved, onnxruntime CPU with its optimizations on, 2 threads): maxvit_tiny_tf_224 float32
 * 114 → 90 ms and int8 96 → 61 ms (onnxruntime does not fuse the tanh arithmetic itself); fastvit_t8
 * int8 9.1 → 8.2 ms, edgevit_xxs int8 9.9 → 9.4 ms (their Q/DQ pairs hide the erf pattern from
 * onnxruntime's own GELU fusion); float32 FastViT / EdgeViT unchanged (onnxruntime fuses the erf form).
 *
 *   Before:  x ─Gelu(tanh)─► y          (legalize: 9 standard ops)
 *   After:   x ─com.microsoft.FastGelu─► y   (same node and value names)
 */
import type { Graph } from '../graph/ir.js';
import type { Pass, PassStats } from './driver.js';

export const contribGelu: Pass = {
  name: 'contrib-gelu',
  run(g: Graph): PassStats {
    let n = 0;
    for (const node of [...g.nodes]) {
      if (node.op !== 'Gelu' || node.domain !== '' || node.output.dtype !== 'float32') continue;
      const op = node.attrString('approximate', 'none') === 'tanh' ? 'FastGelu' : 'Gelu';
      const y = node.output, name = node.name, yName = y.name;
      const m = g.addNode(op, [node.input(0)], [y.type], { name: `${name}_contrib`, domain: 'com.microsoft' });
      y.replaceAllUsesWith(m.output); // a graph output keeps its name here
      g.removeNode(node);
      if (m.output.name !== yName) g.renameValue(m.output, yName);
      g.renameNode(m, name);
      n++;
    }
    return { counts: { 'contrib-gelu': n }, folded: 0, removed: 0, rounds: 1 };
  },
};
