import { describe, expect, it } from 'vitest';
import { Builder } from '../../src/graph/builder.js';
import { printGraph } from '../../src/graph/print.js';
import { verifyGraph } from '../../src/graph/verify.js';
import { Tensor } from '../../src/graph/tensor.js';
import { conv2d } from '../../src/builders/layers.js';

function diamond() {
  const b = Builder.create('t');
  const x = b.input('x', { dtype: 'float32', shape: ['N', 4] });
  const a = b.relu(x);
  const s = b.sigmoid(x);
  const y = b.add(a, s);
  b.g.outputs.push(y);
  return { b, x, a, s, y };
}

describe('graph IR', () => {
  it('keeps use sets in sync through setInput and replaceAllUsesWith', () => {
    const { b, x, a, s, y } = diamond();
    const add = y.producer!;
    expect([...a.uses].map((u) => [u.node, u.slot])).toEqual([[add, 0]]);
    s.replaceAllUsesWith(a);
    expect(add.inputs).toEqual([a, a]);
    expect(a.uses.size).toBe(2);
    expect(s.uses.size).toBe(0);
    add.setInput(1, x);
    expect(a.uses.size).toBe(1);
    expect([...x.uses].length).toBe(3);
    verifyGraph(b.g);
  });

  it('refuses to remove a node whose output is used', () => {
    const { b, a } = diamond();
    expect(() => b.g.removeNode(a.producer!)).toThrow(/still used/);
  });

  it('graph outputs keep their public name when replaced', () => {
    const { b, a, y } = diamond();
    const z = b.tanh(a);
    y.replaceAllUsesWith(z);
    b.g.removeNode(y.producer!);
    expect(b.g.outputs[0]).toBe(z);
    expect(z.name).toBe('Add');
    verifyGraph(b.g);
  });

  it('topological order is deterministic and restores order after appends', () => {
    const { b, a, y } = diamond();
    // insert a node consumed by an earlier node
    const late = b.op('Neg', [a]);
    y.producer!.setInput(1, late);
    b.g.topoSort();
    const order = [...b.g.nodes].map((n) => n.op);
    expect(order.indexOf('Neg')).toBeLessThan(order.indexOf('Add'));
    const again = [...b.g.nodes].map((n) => n.name);
    b.g.topoSort();
    expect([...b.g.nodes].map((n) => n.name)).toEqual(again);
  });

  it('shape inference fails at the op that is wrong, naming its scope', () => {
    const b = Builder.create('t');
    const x = b.input('x', { dtype: 'float32', shape: [1, 3, 8, 8] });
    const y = conv2d(b.child('stem', 'conv'), x, { out: 4, k: 3 });
    expect(() => b.child('blocks', 0).add(y, x)).toThrow(/blocks\.0: Add\(\[1, 4, 8, 8\], \[1, 3, 8, 8\]\): cannot broadcast/);
    expect(() => conv2d(b.child('bad'), y, { out: 4, k: 3, groups: 3 })).toThrow(/bad: .*do not divide into 3 groups/);
  });

  it('symbolic batch flows through reshape', () => {
    const b = Builder.create('t');
    const x = b.input('x', { dtype: 'float32', shape: ['N', 8, 4, 4] });
    const y = b.reshape(x, ['N', 8, 16]);
    expect(y.shape).toEqual(['N', 8, 16]);
    expect(y.producer!.input(1).constant!.toNumbers()).toEqual([-1, 8, 16]);
    const z = b.reshape(y, ['N*8', 16]);
    expect(z.shape).toEqual(['N*8', 16]);
  });

  it('the verifier catches a stale type', () => {
    const { b, a } = diamond();
    a.type = { dtype: 'float32', shape: ['N', 5] };
    expect(() => verifyGraph(b.g)).toThrow(/inference gives float32\[N, 4\]/);
  });

  it('prints a deterministic text form without weights', () => {
    const b = Builder.create('p');
    const x = b.input('x', { dtype: 'float32', shape: [1, 3, 8, 8] });
    b.g.outputs.push(conv2d(b.child('c'), x, { out: 2, k: 1, bias: true }));
    const text = printGraph(b.g);
    expect(text).toBe([
      'graph p',
      '  input x: float32[1, 3, 8, 8]',
      '  init %c.weight: float32[2, 3, 1, 1]',
      '  init %c.bias: float32[2]',
      '  c: float32[1, 2, 8, 8] = Conv(x, %c.weight, %c.bias) {kernel_shape=[1,1] strides=[1,1] pads=[0,0,0,0] dilations=[1,1] group=1}  # c',
      '  outputs c',
      '',
    ].join('\n'));
    expect(Tensor.i64([1, 2]).toNumbers()).toEqual([1, 2]);
  });
});
