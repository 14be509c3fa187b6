import { readFileSync } from 'node:fs';
import { listCases } from './test/helpers/onnx-testdata.js';
import { parseOnnx } from './src/onnx/parse.js';
const reasons = new Map<string, string[]>();
let ok = 0;
for (const c of listCases()) {
  if (!c.model) { (reasons.get('nomodel') ?? reasons.set('nomodel', []).get('nomodel')!).push(c.name); continue; }
  try { parseOnnx(readFileSync(c.model)); ok++; } catch (e) {
    const err = e as Error;
    const key = `${err.constructor.name}: ${err.message.replace(/[0-9]+/g, 'N').slice(0, 90)}`;
    (reasons.get(key) ?? reasons.set(key, []).get(key)!).push(c.name);
  }
}
console.log('ok', ok);
for (const [k, v] of [...reasons].sort((a, b) => b[1].length - a[1].length)) console.log(v.length, k, v.slice(0, 3).join(' '));
