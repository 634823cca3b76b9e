"""Minimal safetensors reader/writer for the reference scripts (numpy + torch only)."""
import json, struct
import numpy as np
import torch

_NP = {'F32': np.float32, 'F64': np.float64, 'I64': np.int64, 'I32': np.int32, 'I16': np.int16, 'I8': np.int8, 'U8': np.uint8, 'BOOL': np.bool_}
_ST = {np.dtype(v): k for k, v in _NP.items()}


def load(path):
    with open(path, 'rb') as f:
        buf = f.read()
    n = struct.unpack('<Q', buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        a, b = info['data_offsets']
        arr = np.frombuffer(buf[8 + n + a:8 + n + b], dtype=_NP[info['dtype']]).reshape(info['shape'])
        out[name] = torch.from_numpy(arr.copy())
    return out


def save(path, tensors):
    header, body, off = {}, [], 0
    for name, t in tensors.items():
        arr = np.ascontiguousarray(t.detach().cpu().numpy())
        raw = arr.tobytes()
        header[name] = {'dtype': _ST[arr.dtype], 'shape': list(arr.shape), 'data_offsets': [off, off + len(raw)]}
        body.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(body))
