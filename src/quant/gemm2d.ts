/**
 * ort / web, before QDQ placement: a Linear on tokens, MatMul(x[d0, …, K], W[K, N]) + b[N] with x of
 * rank ≥ 3, becomes
 *
 *   Reshape(x, [−1, K]) → Gemm(·, W, b) → Reshape(·, [d0, …, N])
 *
 * and with x already [rows, K] (the `--target ort` layout rewrites flatten tokens so) the Gemm alone.
 *
 * the same dot products and the same bias (exact in float32). onnxruntime fuses a 2-D Gemm with
 * its bias and the Q/DQ pairs into one QGemm (int32 bias, requantized output); the 3-D MatMul only
 * fuses into QLinearMatMul, whose output then goes through DequantizeLinear and a float Add for the
 * bias. The Reshapes run on uint8 (their Q/DQ pairs are dropped, growRegions). At most one leading
 * dimension may be symbolic (it becomes −1).
 */
import { attr, type Graph, type Value } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';

const isConstF32 = (v: Value | null): v is Value => v !== null && v.isConstant && v.dtype === 'float32';

/** Rewrites `g` in place; returns how many MatMul + Add pairs became Gemms (2-D ones measured 2–5 % faster int8: mobilevit_xxs, edgevit_xxs, maxvit_tiny_tf_224). */
export function linearsToGemm(g: Graph): number {
  let n = 0;
  for (const mm of [...g.nodes]) {
    if (mm.op !== 'MatMul') continue;
    const [x, w] = mm.inputs;
    if (!x || x.isConstant || x.dtype !== 'float32' || !isConstF32(w ?? null) || w!.shape.length !== 2 || x.shape.length < 2) continue;
    const y = mm.outputs[0]!;
    const uses = [...y.uses];
    if (uses.length !== 1 || y.isGraphOutput) continue;
    const add = uses[0]!.node;
    if (add.op !== 'Add') continue;
    const b = add.inputs[1 - uses[0]!.slot] ?? null;
    const [k, cols] = w!.shape.map(Number) as [number, number];
    if (!isConstF32(b) || b.constant!.size !== cols || b.shape[b.shape.length - 1] !== cols) continue;
    const out = add.outputs[0]!;
    if (out.shape.join() !== y.shape.join()) continue;
    const lead = x.shape.slice(0, -1);
    if (lead.filter((d) => typeof d !== 'number').length > 1) continue;
    const flatRows = x.shape.length === 2; // already rows × K (flatten-tokens' form): the Gemm alone
    const known = lead.filter((d): d is number => typeof d === 'number').reduce((a, c) => a * c, 1);
    const sym = lead.find((d) => typeof d === 'string');
    const rows = flatRows ? lead[0]! : sym === undefined ? known : `${sym}*${known}`;
    const flat = flatRows ? x : g.addNode('Reshape', [x, g.addConstant(`${mm.name}.flatten_shape`, Tensor.i64([-1, k]))], [{ dtype: 'float32', shape: [rows, k] }], { name: `${mm.name}/flatten` }).output;
    const bias = b.shape.length === 1 ? b : g.addConstant(`${b.name}_1d`, new Tensor('float32', [cols], b.constant!.data as Float32Array));
    const gemmNode = g.addNode('Gemm', [flat, w!, bias], [{ dtype: 'float32', shape: [rows, cols] }], { name: mm.name, attrs: { transB: attr.int(0) } });
    const gemm = gemmNode.output;
    const back = Tensor.i64([...lead.map((d) => (typeof d === 'number' ? d : -1)), cols]);
    const r = flatRows ? gemm : g.addNode('Reshape', [gemm, g.addConstant(`${mm.name}.unflatten_shape`, back)], [{ dtype: 'float32', shape: out.shape }], { name: `${mm.name}/unflatten` }).output;
    out.replaceAllUsesWith(r);
    g.removeNode(add);
    const name = mm.name;
    g.removeNode(mm);
    g.renameNode(gemmNode, name);
    if (b.uses.size === 0 && !b.isGraphOutput) g.removeInitializer(b);
    n++;
  }
  if (n) g.topoSort();
  return n;
}
