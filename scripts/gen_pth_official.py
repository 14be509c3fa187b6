"""Official-layout checkpoints (scripts/gen-pth-fixtures.py 'official'): the reference weights loaded
into the official repositories' model code, whose state_dict() gives the official key set (the
oracle for vitx's remaps). Each official model must reproduce the reference logits with these
weights, which checks the key correspondence value by value. Needs on PYTHONPATH a folder with
  nextvit_official.py, utils.py     bytedance/Next-ViT classification/{nextvit,utils}.py
  mobileone_official.py             apple/ml-mobileone mobileone.py
  fastvit/models/...                apple/ml-fastvit models/
  einops/                           a stand-in with Next-ViT's two rearrange patterns (no einops here)
"""
import copy
import re
import sys

import torch
import timm

import pth_recipe as R


def check_logits(name, model, expected):
    with torch.no_grad():
        y = model.eval()(R.reference_input(expected))[0]
    d = float((y - torch.tensor(expected['logits'])).abs().max())
    assert d <= expected['tolerance_abs'], (name, d)
    print(f'{name}: official model reproduces the reference logits (max diff {d:.2e})')


def official_state(model, timm_key, ref):
    """state_dict of an official model filled from timm-named reference weights."""
    sd = model.state_dict()
    out = {}
    for k, v in sd.items():
        if k.endswith('num_batches_tracked'):
            out[k] = torch.zeros_like(v)
            continue
        t = ref[timm_key(k)]
        assert tuple(t.shape) == tuple(v.shape), (k, timm_key(k), t.shape, v.shape)
        out[k] = t
    model.load_state_dict(out, strict=True)
    return sd.keys()


def fused_fill(official_fused, timm_fused_sd, timm_key, what):
    """Fill specs for an official fused checkpoint: tensors named by their timm fused key, taken by the
    test from vitx's own fusion; here checked against timm's reparameterize_model() values."""
    specs = {}
    for k, v in official_fused.items():
        if k.endswith('num_batches_tracked'):
            continue
        tk = timm_key(k)
        t = timm_fused_sd[tk]
        assert tuple(t.shape) == tuple(v.shape), (what, k, tk)
        assert torch.allclose(t, v, rtol=1e-4, atol=1e-5), (what, k, tk, float((t - v).abs().max()))
        specs[k] = tk
    return specs


# --- MobileOne (apple/ml-mobileone): stage0 → stem, stage<i> → stages.<i-1>, rbr_conv/rbr_scale/rbr_skip →
# conv_kxk/conv_scale/identity, se.reduce/expand → attn.fc1/fc2, linear → head.fc
def mobileone_key(k):
    k = re.sub(r'^stage0\.', 'stem.', k)
    k = re.sub(r'^stage(\d+)\.', lambda m: f'stages.{int(m.group(1)) - 1}.', k)
    for a, b in (('rbr_conv', 'conv_kxk'), ('rbr_scale', 'conv_scale'), ('rbr_skip', 'identity'), ('se.reduce', 'attn.fc1'), ('se.expand', 'attn.fc2')):
        k = k.replace(a, b)
    return re.sub(r'^linear\.', 'head.fc.', k)


def timm_model(name):
    # by timm's own constructor: importing the official files re-registers these names in timm's registry
    from timm.models import byobnet, fastvit, nextvit
    return {'mobileone_s0': byobnet.mobileone_s0, 'fastvit_t8': fastvit.fastvit_t8, 'nextvit_small': nextvit.nextvit_small}[name](num_classes=1000)


def timm_fused(model_name, ref):
    from timm.utils.model import reparameterize_model
    m = timm_model(model_name)
    m.load_state_dict(ref, strict=False)
    return reparameterize_model(m.eval()).state_dict()


def main(save_case):
    import mobileone_official as MO
    sys.path.insert(0, [p for p in sys.path if p.endswith('pth-official')][0] + '/fastvit')
    from models import fastvit as FV
    from models.modules.mobileone import reparameterize_model as fv_reparam
    import nextvit_official as NV

    # MobileOne-S0: the released files are bare state dicts (train-time and fused)
    ref, keys, expected = R.reference_state_dict('mobileone_s0')
    m = MO.mobileone(num_classes=1000, variant='s0')
    official_state(m, mobileone_key, ref)
    check_logits('mobileone_s0 official', m, expected)
    save_case('mobileone_s0_official', m.state_dict(),
              lambda path, dt: {'int': 0} if dt == 'int64' else {'ref': mobileone_key(path[-1])}, ref)
    fused = MO.reparameterize_model(m).state_dict()
    check_logits('mobileone_s0 official fused', MO.reparameterize_model(m), expected)
    spec = fused_fill(fused, timm_fused('mobileone_s0', ref), mobileone_key, 'mobileone fused')
    save_case('mobileone_s0_official_fused', fused, lambda path, dt: {'int': 0} if dt == 'int64' else {'tensor': spec[path[-1]]}, ref)

    # FastViT-T8 (apple/ml-fastvit): released as {'state_dict': …}; timm's checkpoint_filter_fn is the key map
    from timm.models.fastvit import checkpoint_filter_fn
    ref, keys, expected = R.reference_state_dict('fastvit_t8')
    m = FV.fastvit_t8(num_classes=1000)
    names = list(m.state_dict().keys())
    tm = timm_model('fastvit_t8')
    mapped = checkpoint_filter_fn({k: torch.tensor(i) for i, k in enumerate(names)}, tm)
    key_map = {names[int(v)]: k for k, v in mapped.items()}
    official_state(m, key_map.__getitem__, ref)
    check_logits('fastvit_t8 official', m, expected)
    save_case('fastvit_t8_official', {'state_dict': m.state_dict()},
              lambda path, dt: {'int': 0} if dt == 'int64' else {'ref': key_map[path[-1]]}, ref)
    mf = fv_reparam(copy.deepcopy(m))
    check_logits('fastvit_t8 official fused', mf, expected)
    fused = mf.state_dict()
    fnames = list(fused.keys())
    fmapped = checkpoint_filter_fn({k: torch.tensor(i) for i, k in enumerate(fnames)}, tm)
    # timm's filter covers the train-time form only; the fused large-kernel conv is `lkb_reparam` officially
    fkey = {fnames[int(v)]: k.replace('lkb_reparam', 'reparam_conv') for k, v in fmapped.items()}
    spec = fused_fill(fused, timm_fused('fastvit_t8', ref), fkey.__getitem__, 'fastvit fused')
    save_case('fastvit_t8_official_fused', {'state_dict': fused},
              lambda path, dt: {'int': 0} if dt == 'int64' else {'tensor': spec[path[-1]]}, ref)

    # Next-ViT-S (bytedance/Next-ViT): released as {'model': …}; timm remaps by key order
    ref, keys, expected = R.reference_state_dict('nextvit_small')
    m = NV.nextvit_small(num_classes=1000)
    tm = timm_model('nextvit_small')
    order = dict(zip(m.state_dict().keys(), tm.state_dict().keys()))
    official_state(m, order.__getitem__, ref)
    check_logits('nextvit_small official', m, expected)
    save_case('nextvit_small_official', {'model': m.state_dict()},
              lambda path, dt: {'int': 0} if dt == 'int64' else {'ref': order[path[-1]]}, ref)
