/**
 * All five backends start on this machine (cpu, WebGPU on SwiftShader, WASM in Node, WebGPU and
 * WASM in headless Chromium) and agree with onnxruntime CPU on a small model; backends that cannot
 * start say why in one line.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BACKEND_NAMES, BackendPool, BackendUnavailableError, parseBackendList } from '../../src/runtime/backend.js';
import { packTensors, unpackTensors } from '../../src/runtime/pack.js';
import { compareOutputs } from '../../src/verify/compare.js';
import { seededInputs, readSignature } from '../../src/verify/inputs.js';
import { needs } from '../helpers/prerequisites.js';
import { tinyVisionOnnx } from '../helpers/tiny-model.js';

const pool = new BackendPool();
afterAll(() => pool.close());

describe('backends', () => {
  const model = tinyVisionOnnx(16, 2);
  const feeds = seededInputs(readSignature(model), { seed: 7, batch: 2 });
  let reference: Awaited<ReturnType<Awaited<ReturnType<BackendPool['get']>>['run']>>;

  it('cpu runs the model', async () => {
    reference = await (await pool.get('cpu')).run(model, feeds);
    expect(reference['logits']!.dims).toEqual([2, 10]);
  });

  for (const name of BACKEND_NAMES.filter((n) => n !== 'cpu')) {
    it(`${name} agrees with cpu (atol 1e-5, rtol 1e-4)`, async (ctx) => {
      if (name !== 'wasm') needs(ctx, 'chromium'); // WebGPU on SwiftShader, or the browser
      const backend = await pool.get(name);
      expect(backend.description).toMatch(name.startsWith('browser') ? /headless Chromium/ : name === 'wasm' ? /onnxruntime-web/ : /WebGPU/);
      const got = await backend.run(model, feeds);
      const [c] = compareOutputs(got, reference, { atol: 1e-5, rtol: 1e-4 });
      expect(c!.pass, `max |Δ| ${c!.abs.max}`).toBe(true);
      expect(c!.classes!.argmaxAgree).toBe(2);
      // fetching a subset of outputs by name works on every backend
      const only = await backend.run(model, feeds, ['logits']);
      expect(Object.keys(only)).toEqual(['logits']);
    });
  }

  it('packs named tensors of every width into one message and back (8-byte aligned)', () => {
    const t = {
      a: { dtype: 'uint8' as const, dims: [3], data: Uint8Array.of(1, 2, 3) },
      b: { dtype: 'float32' as const, dims: [1, 2], data: Float32Array.of(0.5, -Infinity) },
      c: { dtype: 'int64' as const, dims: [1], data: BigInt64Array.of(-(2n ** 40n)) },
      d: { dtype: 'float16' as const, dims: [0], data: new Uint16Array(0) },
    };
    const back = unpackTensors(packTensors(t));
    expect(Object.keys(back)).toEqual(['a', 'b', 'c', 'd']);
    for (const [k, v] of Object.entries(t)) {
      expect(back[k]!.dtype).toBe(v.dtype);
      expect(back[k]!.dims).toEqual(v.dims);
      expect(Array.from(back[k]!.data as ArrayLike<unknown>)).toEqual(Array.from(v.data as ArrayLike<unknown>));
      expect(back[k]!.data.byteOffset % 8).toBe(0);
    }
    expect(() => unpackTensors(packTensors(t).subarray(0, 40))).toThrow(/runs past the end|truncated/);
  });

  it('parses --ep lists', () => {
    expect(parseBackendList('cpu, wasm,cpu')).toEqual(['cpu', 'wasm']);
    expect(parseBackendList('all')).toEqual([...BACKEND_NAMES]);
    expect(parseBackendList('cpu,gpu')).toEqual({ unknown: 'gpu' });
  });

  it('a browser backend without Chromium is unavailable, with one line saying why', async () => {
    const saved = process.env['VITX_CHROMIUM'];
    process.env['VITX_CHROMIUM'] = '/nonexistent/chromium';
    const p = new BackendPool();
    try {
      const e = await p.get('browser-wasm').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BackendUnavailableError);
      expect((e as Error).message).toBe('browser-wasm: no Chromium at /nonexistent/chromium — install chromium (apt-get install chromium) or set VITX_CHROMIUM');
      expect(await p.get('cpu')).toBeTruthy(); // the others still start
    } finally {
      if (saved === undefined) delete process.env['VITX_CHROMIUM']; else process.env['VITX_CHROMIUM'] = saved;
      await p.close();
    }
  });
});
