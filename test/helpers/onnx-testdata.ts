/**
 * The ONNX project's backend test data as Debian ships it (libonnx-testdata, ONNX 1.12):
 * <category>/<test>/model.onnx with test_data_set_N/{input,output}_K.pb (serialized TensorProtos).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../../src/graph/tensor.js';
import { tensorFromProto } from '../../src/onnx/parse.js';
import { onnx } from '../../src/onnx/proto.js';

export const TESTDATA = '/usr/share/libonnx-testdata/data';
export const CATEGORIES = ['node', 'simple', 'pytorch-converted', 'pytorch-operator', 'real'] as const;

export interface TestCase { category: string; name: string; dir: string; model: string | null }
export interface DataSet { inputs: { name: string; tensor: Tensor }[]; outputs: { name: string; tensor: Tensor }[] }

export function listCases(): TestCase[] {
  return CATEGORIES.flatMap((category) => {
    const root = join(TESTDATA, category);
    if (!existsSync(root)) return [];
    return readdirSync(root).sort().map((name) => {
      const dir = join(root, name);
      const model = join(dir, 'model.onnx');
      return { category, name, dir, model: existsSync(model) ? model : null };
    });
  });
}

function readTensors(dir: string, kind: 'input' | 'output'): { name: string; tensor: Tensor }[] {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${kind}_`) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(kind.length + 1, -3)) - Number(b.slice(kind.length + 1, -3)));
  return files.map((f) => {
    const p = onnx.TensorProto.decode(readFileSync(join(dir, f)));
    return { name: p.name ?? '', tensor: tensorFromProto(p) };
  });
}

/** The test's data sets (inputs/outputs in file order; names as the .pb files give them). */
export function dataSets(c: TestCase): DataSet[] {
  return readdirSync(c.dir).filter((d) => d.startsWith('test_data_set_')).sort().map((d) => ({
    inputs: readTensors(join(c.dir, d), 'input'), outputs: readTensors(join(c.dir, d), 'output'),
  }));
}
