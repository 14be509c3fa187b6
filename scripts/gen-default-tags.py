"""Writes fixtures/zoo/default-tags.json: timm v1.0.28's default pretrained tag of each
architecture (the first tag of its default_cfgs entry; null for architectures timm lists only as
'untrained'). Run with timm importable:
  PYTHONPATH=<timm v1.0.28 checkout> /usr/bin/python3 scripts/gen-default-tags.py
"""
import json
import os

from timm.models._registry import _model_default_cfgs

root = os.path.join(os.path.dirname(__file__), '..')
index = json.load(open(os.path.join(root, 'fixtures', 'zoo', 'index.json')))
out = {}
for arch in sorted(index):
    tags = list(_model_default_cfgs[arch].tags)
    out[arch] = f'{arch}.{tags[0]}' if tags and tags[0] and tags[0] != 'untrained' else None
    assert (out[arch] is None) == (not index[arch]['pretrained_tags']), arch
with open(os.path.join(root, 'fixtures', 'zoo', 'default-tags.json'), 'w') as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write('\n')
