"""PyTorch-checkpoint fixtures for vitx's .pth reader (fixtures/pth/<case>/).

For each case this builds a real checkpoint object, writes it with torch.save (zip format) and keeps
only what is small: the pickle `data.pkl` exactly as torch wrote it, and `archive.json` describing
the archive (top folder, entry order, version) and, for every storage `data/<key>`, how to rebuild
its bytes from the reference weights (fixtures/reference: recipe + bn_stats). The generator checks
every such description against the bytes torch wrote. Tests rebuild the zip from these (CI has no
torch). Run:

  PYTHONPATH=/work/scratch/timm:/work/scratch/pystub:scripts:/work/scratch/pth-official /usr/bin/python3 scripts/gen-pth-fixtures.py

(/work/scratch/pth-official holds the official repositories' model files, see fixtures/pth/README.md.)
"""
import argparse
import hashlib
import io
import json
import os
import pickle
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import torch
import timm

import pth_recipe as R

OUT = os.path.join(R.ROOT, 'fixtures', 'pth')
torch.manual_seed(0)


class _T:  # a tensor as the pickle describes it
    def __init__(self, key, off, size, stride):
        self.key, self.off, self.size, self.stride = key, off, tuple(size), tuple(stride)


class _Reader(pickle.Unpickler):
    def find_class(self, mod, name):
        if (mod, name) == ('torch._utils', '_rebuild_tensor_v2'):
            return lambda st, off, size, stride, *a: _T(st, off, size, stride)
        if (mod, name) == ('torch._utils', '_rebuild_parameter'):
            return lambda t, *a: t
        return super().find_class(mod, name)

    def persistent_load(self, pid):
        return pid[2]


def walk(obj, path=()):
    if isinstance(obj, _T):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, path + (k,))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from walk(v, path + (i,))


DT = {torch.float32: 'float32', torch.float16: 'float16', torch.bfloat16: 'bfloat16', torch.int64: 'int64'}


def fill_bytes(fill, ref, dtype, numel):
    if 'hex' in fill:
        return bytes.fromhex(fill['hex'])
    if 'int' in fill:
        return np.full(numel, fill['int'], dtype='<i8').tobytes()
    if 'zeros' in fill:
        return bytes(numel * {'float32': 4, 'float16': 2, 'bfloat16': 2, 'int64': 8}[dtype])
    t = ref[fill['ref']].clone() * fill.get('scale', 1.0)
    t = t.to({'float32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16}[dtype]).contiguous()
    assert t.numel() == numel
    return t.view(torch.int16).numpy().tobytes() if t.dtype != torch.float32 else t.numpy().tobytes()


def save_case(name, obj, fill_for, ref):
    """fill_for(path, storage_dtype) -> fill spec for the tensor found at `path` inside obj."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    names = z.namelist()
    top = names[0].split('/')[0]
    pkl = z.read(f'{top}/data.pkl')
    tree = _Reader(io.BytesIO(pkl)).load()
    # storage dtype per key, from the persistent ids (pickle order)
    dtypes = {}
    class _P(_Reader):
        def persistent_load(self, pid):
            dtypes[pid[2]] = pid[1]
            return pid[2]
    _P(io.BytesIO(pkl)).load()
    storages = {}
    for path, t in walk(tree):
        st = dtypes[t.key]
        dtype = {'FloatStorage': 'float32', 'HalfStorage': 'float16', 'BFloat16Storage': 'bfloat16', 'LongStorage': 'int64'}[st.__name__]
        if t.key in storages:
            continue
        data = z.read(f'{top}/data/{t.key}')
        numel = len(data) // {'float32': 4, 'float16': 2, 'bfloat16': 2, 'int64': 8}[dtype]
        fill = fill_for(path, dtype) or {'hex': data.hex()}
        # 'tensor' fills (fused weights) are computed by the test; gen_pth_official checks them by value
        assert 'tensor' in fill or fill_bytes(fill, ref, dtype, numel) == data, (name, path, fill)
        storages[t.key] = {'dtype': dtype, 'numel': numel, 'fill': fill, 'sha256': hashlib.sha256(data).hexdigest()}
    other = [n for n in names if n != f'{top}/data.pkl' and not n.startswith(f'{top}/data/')]
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, 'data.pkl'), 'wb').write(pkl)
    desc = {
        'case': name, 'top': top, 'entries': names,
        'files': {n[len(top) + 1:]: z.read(n).decode('latin1') for n in other},
        'storages': [dict(key=k, **v) for k, v in storages.items()],
    }
    json.dump(desc, open(os.path.join(d, 'archive.json'), 'w'), separators=(',', ':'))
    print(f'{name}: {len(pkl)} bytes of pickle, {len(storages)} storages, {len(buf.getvalue())} bytes as saved')


def timm_reference(model):
    floats, keys, expected = R.reference_state_dict(model)
    m = timm.create_model(model, num_classes=1000).eval()
    m.load_state_dict(floats, strict=False)
    return m, floats, keys, expected


def training_checkpoint(model):
    """timm train.py's CheckpointSaver layout; 'state_dict' under DDP (module. prefix) holds weights
    different from the EMA's (every float tensor halved), so that which one was loaded is observable."""
    m, ref, keys, expected = timm_reference(model)
    ema = m.state_dict()  # the reference weights (+ num_batches_tracked counters)
    train_model = timm.create_model(model, num_classes=1000)
    with torch.no_grad():
        train_model.load_state_dict({k: (v * 0.5 if v.is_floating_point() else v) for k, v in ema.items()})
    ddp = torch.nn.DataParallel(train_model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    for p in ddp.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    args = argparse.Namespace(model=model, lr=0.1, epochs=300, batch_size=128, model_ema=True, model_ema_decay=0.9998,
                              mean=None, std=None, input_size=None, smoothing=0.1, amp=True, opt='sgd', momentum=0.9,
                              sched='cosine', decay_milestones=[90, 180, 270], output='', experiment='')
    ckpt = OrderedDict(epoch=41, arch=model, state_dict=ddp.state_dict(), optimizer=opt.state_dict(), version=2,
                       args=args, amp_scaler={'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5,
                                              'growth_interval': 2000, '_growth_tracker': 17},
                       state_dict_ema=ema, metric=np.float64(71.25))

    def fill(path, dtype):
        if path[0] == 'optimizer':
            return {'zeros': True}
        name = path[-1].replace('module.', '', 1)
        if dtype == 'int64':
            return {'int': 0}
        return {'ref': name, 'scale': 0.5} if path[0] == 'state_dict' else {'ref': name}
    save_case(f'{model}_train', ckpt, fill, ref)


def plain_checkpoint(model, dtype, case):
    """A bare state dict (no nesting) in float16 / bfloat16, and the PyTorch logits of those rounded
    weights (computed in float32), the oracle for vitx's conversion."""
    m, ref, keys, expected = timm_reference(model)
    sd = OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in m.state_dict().items())
    save_case(case, sd, lambda path, dt: {'int': 0} if dt == 'int64' else {'ref': path[-1]}, ref)
    m.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
    with torch.no_grad():
        y = m(R.reference_input(expected))[0]
    ref_logits = torch.tensor(expected['logits'])
    json.dump({'model': model, 'dtype': str(dtype), 'logits': [float(v) for v in y],
               'max_abs_diff_from_float32_reference': float((y - ref_logits).abs().max()),
               'reference_max_abs': float(ref_logits.abs().max())},
              open(os.path.join(OUT, case, 'logits.json'), 'w'))


def tiny_checkpoint():
    """A small training-style checkpoint that exercises every tensor form the reader handles: float32,
    float16, bfloat16, int64, a transposed (non-contiguous) view, a view at a storage offset, two
    tensors sharing one storage, and Namespace / numpy scalars beside them. `expected` holds each
    tensor's values in C order as torch sees them (float32)."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
    sd = OrderedDict()
    sd['module.a.weight'] = base                      # contiguous
    sd['module.a.t'] = base.t()                       # strides (1, 6)
    sd['module.a.slice'] = base[1:3, 2:5]             # offset 8, strides (6, 1)
    sd['module.h.weight'] = torch.linspace(-2, 2, 10).to(torch.float16)
    sd['module.b.weight'] = torch.linspace(-3, 3, 7).to(torch.bfloat16)
    sd['module.bn.num_batches_tracked'] = torch.tensor(5)
    ckpt = {'state_dict': sd, 'args': argparse.Namespace(model='tiny', lr=0.5), 'metric': np.float64(1.5), 'epoch': 3}
    save_case('tiny', ckpt, lambda path, dt: None, {})
    exp = {k: [float(x) for x in v.float().flatten()] for k, v in sd.items()}
    shapes = {k: list(v.shape) for k, v in sd.items()}
    json.dump({'values': exp, 'shapes': shapes}, open(os.path.join(OUT, 'tiny', 'expected.json'), 'w'))


if __name__ == '__main__':
    which = sys.argv[1:] or ['tiny', 'train', 'half', 'official']
    if 'tiny' in which:
        tiny_checkpoint()
    if 'train' in which:
        training_checkpoint('mobilevit_xxs')
        training_checkpoint('fastvit_t8')
    if 'half' in which:
        plain_checkpoint('mobilevit_xxs', torch.float16, 'mobilevit_xxs_fp16')
        plain_checkpoint('mobilevit_xxs', torch.bfloat16, 'mobilevit_xxs_bf16')
    if 'official' in which:
        import gen_pth_official
        gen_pth_official.main(save_case)
