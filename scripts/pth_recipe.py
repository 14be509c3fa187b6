"""Reference weights of fixtures/reference/<model> in Python (recipe vitx-fnv1a-golden-v1 + bn_stats),
for the PyTorch-checkpoint fixture generator (scripts/gen-pth-fixtures.py). Needs numpy and torch only."""
import json
import os
import struct

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
REF = os.path.join(ROOT, 'fixtures', 'reference')


def fnv1a32(s):
    h = 0x811c9dc5
    for b in s.encode('utf-8'):
        h ^= b
        h = (h * 0x01000193) & 0xffffffff
    return h


def det_u(name, k):
    j = np.arange(k, dtype=np.uint64)
    v = (j * np.uint64(2654435761) + np.uint64(fnv1a32(name))) & np.uint64(0xffffffff)
    return (v >> np.uint64(16)).astype(np.float64) / 65536.0 - 0.5


def recipe(rule, name, shape):
    k = int(np.prod(shape)) if shape else 1
    u = det_u(name, k)
    if rule == 'affine_weight':
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        s = 2.0 / np.sqrt(fan_in)
        out = u * s
    elif rule in ('affine_bias', 'norm_bias'):
        out = 0.1 * u
    elif rule == 'norm_weight':
        out = 1.0 + 0.2 * u
    elif rule == 'layer_scale':
        out = 0.5 + 0.5 * u
    elif rule in ('rel_pos_table', 'other'):
        out = u
    else:
        raise ValueError(rule)
    return out.astype(np.float32).reshape(shape)


def read_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, e in h.items():
        if k == '__metadata__':
            continue
        s, t = e['data_offsets']
        assert e['dtype'] == 'F32'
        out[k] = np.frombuffer(b[8 + n + s:8 + n + t], dtype='<f4').reshape(e['shape']).copy()
    return out


def reference_state_dict(model):
    """timm-keyed state dict (float tensors + num_batches_tracked counters = 0), in state_dict order."""
    d = os.path.join(REF, model)
    keys = json.load(open(os.path.join(d, 'keys.json')))
    bn = read_safetensors(os.path.join(d, 'bn_stats.safetensors'))
    floats = {e['name']: torch.from_numpy(bn[e['name']] if e['name'] in bn else recipe(e['rule'], e['name'], e['shape']))
              for e in keys['float_tensors']}
    return floats, keys, json.load(open(os.path.join(d, 'expected.json')))


def reference_input(expected):
    h, w = expected['resolution']
    return torch.from_numpy((4 * det_u('input', 3 * h * w)).astype(np.float32).reshape(1, 3, h, w))
