"""Writes fixtures/images/{calibration,evaluation}: photos from scikit-image's data folder
(Debian python3-skimage), shorter side scaled to 320 px, re-encoded as JPEG quality 85.
Run: /usr/bin/python3 scripts/gen-images.py (needs python3-skimage and python3-pil)."""
import os
from PIL import Image

SRC = '/usr/lib/python3/dist-packages/skimage/data'
SETS = {
    # calibration images and held-out evaluation images never overlap
    'calibration': ['astronaut.png', 'rocket.jpg', 'hubble_deep_field.jpg', 'ihc.png', 'camera.png'],
    'evaluation': ['chelsea.png', 'coffee.png', 'retina.jpg', 'coins.png'],
}
root = os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'images')
for split, names in SETS.items():
    for name in names:
        im = Image.open(os.path.join(SRC, name)).convert('RGB')
        s = 320 / min(im.size)
        im = im.resize((round(im.size[0] * s), round(im.size[1] * s)), Image.BICUBIC)
        if name == 'coins.png':  # one grayscale PNG: exercises the PNG and gray -> RGB paths
            im = im.convert('L')
            out = os.path.join(root, split, 'coins.png')
            im.save(out, optimize=True)
        else:
            out = os.path.join(root, split, os.path.splitext(name)[0] + '.jpg')
            im.save(out, quality=85, optimize=True)
        print(out, im.size, os.path.getsize(out))
