"""Writes fixtures/npy/cases.json: .npy files with hand-made headers and what numpy itself makes of
each (numpy.load on the bytes: the shape and order it reads, or that it refuses), the oracle of
test/quant/npy.test.ts. Each case is the whole file as hex (2 × 3 float32 of 0.5, 1.5, … unless
the header says otherwise). Run: /usr/bin/python3 scripts/gen-npy-cases.py (numpy 1.24)"""
import io, json, os, struct
import numpy as np

def npy(header, version=(1, 0), data=None, pad=True):
    h = header
    enc = 'utf8' if version == (3, 0) else 'latin1'
    fmt = '<H' if version == (1, 0) else '<I'
    raw = h.encode(enc)
    if pad:  # numpy pads with spaces to a multiple of 64 and ends with '\n'
        total = 6 + 2 + struct.calcsize(fmt) + len(raw) + 1
        raw += b' ' * ((64 - total % 64) % 64) + b'\n'
    body = data if data is not None else np.arange(6, dtype='<f4').tobytes()
    return b'\x93NUMPY' + bytes(version) + struct.pack(fmt, len(raw)) + raw + body

D = "'descr': '<f4'"
CASES = {
    'numpy-written': np.lib.format.magic(1, 0),  # replaced below by np.save's own bytes
    'duplicate fortran_order (False, then True)': npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'fortran_order': True, }"),
    'duplicate shape': npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'shape': (2, 3), }"),
    'duplicate descr': npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'descr': '<f4', }"),
    'extra key': npy(f"{{{D}, 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }}"),
    'missing key': npy(f"{{{D}, 'shape': (2, 3), }}"),
    'shape is an int in parentheses': npy(f"{{{D}, 'fortran_order': False, 'shape': (6), }}"),
    'one-element shape tuple': npy(f"{{{D}, 'fortran_order': False, 'shape': (6,), }}"),
    'shape with a float': npy(f"{{{D}, 'fortran_order': False, 'shape': (2, 3.0), }}"),
    'shape with a negative dim': npy(f"{{{D}, 'fortran_order': False, 'shape': (-2, -3), }}"),
    'fortran_order 0': npy(f"{{{D}, 'fortran_order': 0, 'shape': (2, 3), }}"),
    'double quotes, no trailing comma, no padding': npy('{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}', pad=False),
    'python 2 longs (version 1.0)': npy(f"{{{D}, 'fortran_order': False, 'shape': (2L, 3L), }}"),
    'python 2 longs (version 3.0)': npy(f"{{{D}, 'fortran_order': False, 'shape': (2L, 3L), }}", version=(3, 0)),
    'version 2.0': npy(f"{{{D}, 'fortran_order': False, 'shape': (2, 3), }}", version=(2, 0)),
    'version 3.0, utf-8': npy(f"{{{D}, 'fortran_order': False, 'shape': (2, 3), }}", version=(3, 0)),
    'version 1.1': npy(f"{{{D}, 'fortran_order': False, 'shape': (2, 3), }}", version=(1, 1)),
    'header over 10000 characters': npy(f"{{{D}, 'fortran_order': False, 'shape': (2, 3), }}" + ' ' * 10001),
    'text after the dict': npy(f"{{{D}, 'fortran_order': False, 'shape': (2, 3), }} x"),
    'not a dict': npy("[1, 2]"),
    'list as shape': npy(f"{{{D}, 'fortran_order': False, 'shape': [2, 3], }}"),
    'underscore in an int': npy(f"{{{D}, 'fortran_order': False, 'shape': (2, 0_3), }}"),
}
buf = io.BytesIO()
np.save(buf, np.arange(6, dtype='<f4').reshape(2, 3))
CASES['numpy-written'] = buf.getvalue()

out = {'numpy': np.__version__, 'cases': []}
for name, b in CASES.items():
    try:
        a = np.load(io.BytesIO(b))
        verdict = {'ok': True, 'shape': list(a.shape), 'fortran': bool(a.flags.f_contiguous and not a.flags.c_contiguous), 'dtype': a.dtype.str}
    except Exception as e:
        verdict = {'ok': False, 'error': f'{type(e).__name__}: {str(e).splitlines()[0][:120]}'}
    out['cases'].append({'name': name, 'hex': b.hex(), 'numpy': verdict})
with open(os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'npy', 'cases.json'), 'w') as f:
    json.dump(out, f, indent=1)
    f.write('\n')
for c in out['cases']: print(c['name'], '→', c['numpy'])
