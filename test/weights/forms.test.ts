import { describe, expect, it } from 'vitest';
import { getModel } from '../../src/builders/index.js';
import { Tensor } from '../../src/graph/tensor.js';
import { prepareModel } from '../../src/pipeline.js';
import { detectCheckpointForm } from '../../src/weights/forms.js';
import { CheckpointError } from '../../src/weights/load.js';
import { loadReference } from '../helpers/reference.js';

describe('checkpoint form detection (train-time vs fused)', () => {
  const model = 'fastvit_t8';
  const { keys } = loadReference(model);
  const train = keys.float_tensors.map((e) => e.name);
  const fused = keys.state_dict_reparam!.map((e) => e.name); // with num_batches_tracked, like a timm file

  it('reads the form off the keys', () => {
    expect(detectCheckpointForm(getModel(model), train)).toBe('train');
    expect(detectCheckpointForm(getModel(model), [...train, ...keys.integer_buffers.map((b) => b.name)])).toBe('train');
    expect(detectCheckpointForm(getModel(model), fused)).toBe('fused');
    expect(detectCheckpointForm(getModel('mobileone_s0'), loadReference('mobileone_s0').keys.state_dict_reparam!.map((e) => e.name))).toBe('fused');
  });

  it('a checkpoint mixing both forms is one clear error naming the expected form', () => {
    const mixed = [...train.filter((k) => !k.startsWith('stem.0.')), 'stem.0.reparam_conv.weight', 'stem.0.reparam_conv.bias'];
    expect(() => detectCheckpointForm(getModel(model), mixed, 'weights.safetensors')).toThrow(CheckpointError);
    expect(() => detectCheckpointForm(getModel(model), mixed, 'weights.safetensors')).toThrow(
      /^weights\.safetensors mixes the two forms of fastvit_t8: \d+ keys of the train-time form \(.*\) and 2 of the fused form \(stem\.0\.reparam_conv\.weight, stem\.0\.reparam_conv\.bias\); expected the train-time form throughout$/,
    );
    const mostlyFused = [...fused, 'stem.0.conv_kxk.0.conv.weight'];
    expect(() => detectCheckpointForm(getModel(model), mostlyFused)).toThrow(/expected the fused \(reparameterized\) form throughout/);
  });

  it('prepareModel reports a fused checkpoint with missing keys against the fused form', () => {
    const { keys: k } = loadReference('mobileone_s0');
    const ck = new Map(k.state_dict_reparam!.filter((e) => e.dtype !== 'int64' && e.name !== 'head.fc.bias').map((e) => [e.name, new Tensor('float32', e.shape)]));
    expect(() => prepareModel('mobileone_s0', { checkpoint: ck, checkpointName: 's0_fused.safetensors' })).toThrow(
      /^s0_fused\.safetensors \(fused form\) does not match the model: 1 missing: head\.fc\.bias$/,
    );
  });
});
