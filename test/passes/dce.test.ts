/** Dead-code removal on nodes read from files, whose input counts the file decides. */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { removeDeadFrom } from '../../src/passes/dce.js';

describe('removeDeadFrom', () => {
  it('removes a dead node with 300k inputs (before: its inputs spread into push(), a stack overflow)', () => {
    const g = new Graph('wide');
    const x = g.addInput('x', { dtype: 'float32', shape: [1] });
    const keep = g.addNode('Relu', [x], [{ dtype: 'float32', shape: [1] }], { name: 'keep' });
    g.outputs.push(keep.outputs[0]!);
    const parts = Array.from({ length: 300_000 }, (_, i) => g.addInitializer(`c${i}`, Tensor.f32([1], [i])));
    const wide = g.addNode('Concat', parts, [{ dtype: 'float32', shape: [300_000] }], { name: 'wide', attrs: { axis: { kind: 'int', value: 0 } } });
    expect(removeDeadFrom(g, [wide.outputs[0]!])).toBe(300_001); // the node and every constant only it read
    expect([...g.nodes].map((n) => n.name)).toEqual(['keep']);
    expect(g.initializers.size).toBe(0);
  });
});
