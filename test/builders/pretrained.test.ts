/**
 * Pretrained tags as model names (src/builders/pretrained.ts), against timm's pretrained_cfg in
 * fixtures/zoo: resolution of tags and bare names, the default tag, and refusals.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/builders/index.js';
import { listPretrainedTags, resolveModelName } from '../../src/builders/pretrained.js';
import { UnknownModelError } from '../../src/builders/registry.js';
import { prepareModel } from '../../src/pipeline.js';
import { FIXTURES } from '../helpers/reference.js';

const zoo = (arch: string) => JSON.parse(readFileSync(join(FIXTURES, 'zoo', `${arch}.json`), 'utf8')) as { pretrained_tags: Record<string, Record<string, unknown>> };
const defaults = JSON.parse(readFileSync(join(FIXTURES, 'zoo', 'default-tags.json'), 'utf8')) as Record<string, string | null>;

describe('resolveModelName', () => {
  it('a tag → its architecture and timm pretrained_cfg (hf_hub_id included)', () => {
    const r = resolveModelName('nextvit_small.bd_in1k_384');
    expect(r.arch).toBe('nextvit_small');
    expect(r.tag).toBe('nextvit_small.bd_in1k_384');
    expect(r.cfg).toEqual(zoo('nextvit_small').pretrained_tags['nextvit_small.bd_in1k_384']);
    expect(r.cfg!.hf_hub_id).toBe('timm/nextvit_small.bd_in1k_384');
  });

  it('a bare architecture → timm\'s default tag; EdgeViT (not in timm) → none', () => {
    for (const arch of ['nextvit_small', 'mobilevit_xxs', 'fastvit_t8', 'mobileone_s0', 'maxvit_tiny_tf_224']) {
      expect(resolveModelName(arch).tag).toBe(defaults[arch]);
    }
    expect(resolveModelName('edgevit_xxs')).toEqual({ arch: 'edgevit_xxs', tag: null, cfg: null });
  });

  it('every listed tag resolves to itself', () => {
    for (const { tag, arch } of listPretrainedTags()) expect(resolveModelName(tag)).toMatchObject({ arch, tag });
  });

  it('unknown names and tags are usage errors with suggestions', () => {
    expect(() => resolveModelName('fastvit_t8.apple_in1')).toThrow(UnknownModelError);
    expect(() => resolveModelName('fastvit_t8.apple_in1')).toThrow(/fastvit_t8\.apple_in1k/);
    expect(() => resolveModelName('fastvt_t8.apple_in1k')).toThrow(/did you mean fastvit_t8/);
    expect(() => resolveModelName('edgevit_xxs.in1k')).toThrow(/timm has no pretrained tags for it/);
  });

  it('the tag sets the default size and classes; explicit options win', () => {
    const g = prepareModel('maxvit_base_tf_224.in21k');
    expect(g.outputs[0]!.shape).toEqual([1, 21843]);
    expect(g.metadata.get('vitx.pretrained_tag')).toBe('maxvit_base_tf_224.in21k');
    const n = prepareModel('nextvit_small.bd_in1k_384', { size: [256, 256], numClasses: 3 });
    expect(n.inputs[0]!.shape).toEqual([1, 3, 256, 256]);
    expect(n.outputs[0]!.shape).toEqual([1, 3]);
    expect(n.metadata.get('vitx.input_size')).toBe('256x256');
  });
});
