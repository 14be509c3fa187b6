"""Writes fixtures/images/preprocess-reference.json: timm's eval transform computed with PIL
(resize shorter side to floor(size / crop_pct) with the cfg's interpolation, center crop, /255,
mean/std), as torchvision.transforms does it on PIL images, for fixtures/images/evaluation/coins.png
(lossless PNG) with two cfgs; stores 97 sampled values and the per-channel means of each result.
Also a small .npy written by numpy for the reader test.
Run: /usr/bin/python3 scripts/gen-preprocess-ref.py"""
import json, math, os
import numpy as np
from PIL import Image

root = os.path.join(os.path.dirname(__file__), '..', 'fixtures')
img = Image.open(os.path.join(root, 'images', 'evaluation', 'coins.png')).convert('RGB')
CFGS = {
    'mobileone_s0': dict(size=224, crop_pct=0.875, interpolation='bilinear', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    'fastvit_t8': dict(size=256, crop_pct=0.9, interpolation='bicubic', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
}
out = {'image': 'evaluation/coins.png', 'cases': {}}
for name, c in CFGS.items():
    scale = math.floor(c['size'] / c['crop_pct'])
    w, h = img.size
    nw, nh = (scale, int(scale * h / w)) if w <= h else (int(scale * w / h), scale)
    r = img.resize((nw, nh), Image.BILINEAR if c['interpolation'] == 'bilinear' else Image.BICUBIC)
    top, left = int(round((nh - c['size']) / 2.0)), int(round((nw - c['size']) / 2.0))
    r = r.crop((left, top, left + c['size'], top + c['size']))
    x = np.asarray(r, dtype=np.float32).transpose(2, 0, 1) / 255.0
    x = (x - np.array(c['mean'], dtype=np.float32)[:, None, None]) / np.array(c['std'], dtype=np.float32)[:, None, None]
    flat = x.reshape(-1)
    idx = [int(i) for i in np.linspace(0, flat.size - 1, 97).round()]
    out['cases'][name] = {'cfg': c, 'indices': idx, 'values': [float(flat[i]) for i in idx], 'channel_means': [float(x[k].mean()) for k in range(3)]}
with open(os.path.join(root, 'images', 'preprocess-reference.json'), 'w') as f:
    json.dump(out, f, indent=1)
a = (np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5) - 60) / 7
np.save(os.path.join(root, 'images', 'small.npy'), a)
print('ok', float(a.sum()))
