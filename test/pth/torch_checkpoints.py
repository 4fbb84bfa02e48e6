#!/usr/bin/env python3
"""Writes PyTorch checkpoints with real torch.save, in the layouts checkpoints come in, holding the
tensors of a safetensors file (the synthetic weights the TypeScript side wrote).

    torch_checkpoints.py WEIGHTS.safetensors OUTDIR LAYOUT...
    torch_checkpoints.py - OUTDIR LAYOUT...     (a tiny built-in state_dict: the fuzzer's seeds)

The safetensors file is parsed here by hand (8-byte header length, JSON header, raw data), so the
tensors reach torch without our reader. Layouts (OUTDIR/<layout>.pth):

  bare              torch.save(state_dict)
  upstream          {'model': state_dict, 'optimizer': <torch.optim.Adam object>, 'epoch': 12}, as
                    upstream SAM-UNet saves it (the optimizer object itself, with Adam state for
                    the small tensors; upstream_full: for every tensor, as a trained checkpoint)
  state_dict_module {'state_dict': {'module.' + key: …}, 'epoch', 'best_dice', 'args': plain data
                    (float, tuple, set, bytes, None, nested dicts)}
  model_state_dict  {'model_state_dict': …, 'optimizer_state_dict': optimizer.state_dict(), 'epoch'}
  f16, bf16         {'model': state_dict with every float tensor .half() / .bfloat16()}
  protocol4         torch.save(state_dict, pickle_protocol=4)
  legacy            torch.save({'model': state_dict}, _use_new_zipfile_serialization=False)
  zip64             bare.pth re-packed by Python's zipfile with every entry and the central
                    directory in ZIP64 form (checked loadable by torch.load)
  views             small: tensors that are views of one shared storage (offsets), not SAM-UNet
  noncontiguous     small: a transposed (non-contiguous) tensor

Prints one JSON line per file: {"layout", "path", "bytes"}.
"""
import collections
import json
import os
import struct
import sys
import zipfile

import torch

DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64}


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n], object_pairs_hook=collections.OrderedDict)
    sd = collections.OrderedDict()
    for name, e in header.items():
        if name == '__metadata__':
            continue
        begin, end = e['data_offsets']
        dtype = DTYPES[e['dtype']]
        count = (end - begin) // torch.tensor([], dtype=dtype).element_size()
        t = torch.frombuffer(bytearray(data[8 + n + begin:8 + n + end]), dtype=dtype, count=count) if count else torch.empty(0, dtype=dtype)
        sd[name] = t.reshape(e['shape'])
    # A module's state_dict carries the module versions as an attribute (pickled through BUILD).
    sd._metadata = collections.OrderedDict([('', {'version': 1}), ('image_encoder', {'version': 1})])
    return sd


def tiny():
    """A small conv + BatchNorm + linear state_dict (seeded), for the fuzzer's seed files."""
    g = torch.Generator().manual_seed(0)
    sd = collections.OrderedDict([
        ('conv.weight', torch.randn(4, 3, 3, 3, generator=g)), ('conv.bias', torch.randn(4, generator=g)),
        ('bn.weight', torch.rand(4, generator=g)), ('bn.bias', torch.randn(4, generator=g)),
        ('bn.running_mean', torch.randn(4, generator=g)), ('bn.running_var', torch.rand(4, generator=g)),
        ('bn.num_batches_tracked', torch.tensor(7)), ('fc.weight', torch.randn(2, 36, generator=g)),
    ])
    sd._metadata = collections.OrderedDict([('', {'version': 1}), ('bn', {'version': 2})])
    return sd


def with_metadata(d, like):
    d._metadata = like._metadata
    return d


def adam(sd, max_numel=4096):
    """An Adam optimizer over the small float tensors (sharing their storage, as a model's
    parameters and its state_dict do), stepped once so that it holds state (step, exp_avg, …)."""
    params = [torch.nn.Parameter(t) for t in sd.values() if t.is_floating_point() and t.numel() <= max_numel]
    opt = torch.optim.Adam(params, lr=1e-4)
    for p in params:
        p.grad = torch.zeros_like(p)
    opt.step()  # zero gradients leave the parameters unchanged
    return opt


def repack_zip64(src, dst):
    """Re-writes every entry stored, with ZIP64 extra fields and a ZIP64 end record."""
    limit = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = 0  # every size and offset counts as "large"
    try:
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED, allowZip64=True) as zout:
            for info in zin.infolist():
                with zin.open(info) as r, zout.open(zipfile.ZipInfo(info.filename), 'w', force_zip64=True) as w:
                    while chunk := r.read(1 << 24):
                        w.write(chunk)
    finally:
        zipfile.ZIP64_LIMIT = limit
    torch.load(dst)  # torch itself reads the re-packed archive


def main():
    weights, outdir, *layouts = sys.argv[1:]
    sd = tiny() if weights == '-' else read_safetensors(weights)
    os.makedirs(outdir, exist_ok=True)
    for layout in layouts:
        path = os.path.join(outdir, f'{layout}.pth')
        if layout == 'bare':
            torch.save(sd, path)
        elif layout == 'upstream':
            torch.save({'model': sd, 'optimizer': adam(sd), 'epoch': 12}, path)
        elif layout == 'upstream_full':
            torch.save({'model': sd, 'optimizer': adam(sd, max_numel=float('inf')), 'epoch': 12}, path)
        elif layout == 'state_dict_module':
            wrapped = with_metadata(collections.OrderedDict(('module.' + k, v) for k, v in sd.items()), sd)
            args = {'lr': 1e-4, 'betas': (0.9, 0.999), 'name': 'run-ü', 'tags': {'ct', 'mri'}, 'blob': b'\x00\xffbytes', 'resume': None,
                    'nested': {'depth': [1, [2, [3]]], 'big': 2 ** 70, 'neg': -5}}
            torch.save({'state_dict': wrapped, 'epoch': 3, 'best_dice': 0.91, 'args': args}, path)
        elif layout == 'model_state_dict':
            torch.save({'model_state_dict': sd, 'optimizer_state_dict': adam(sd).state_dict(), 'epoch': 5}, path)
        elif layout in ('f16', 'bf16'):
            dt = torch.float16 if layout == 'f16' else torch.bfloat16
            half = with_metadata(collections.OrderedDict((k, v.to(dt) if v.is_floating_point() else v) for k, v in sd.items()), sd)
            torch.save(half if layout == 'f16' else {'model': half}, path)
        elif layout == 'protocol4':
            torch.save(sd, path, pickle_protocol=4)
        elif layout == 'legacy':
            torch.save({'model': sd}, path, _use_new_zipfile_serialization=False)
        elif layout == 'zip64':
            bare = os.path.join(outdir, 'bare.pth')
            if not os.path.exists(bare):
                torch.save(sd, bare)
            repack_zip64(bare, path)
        elif layout == 'views':
            base = torch.arange(40, dtype=torch.float32)
            views = collections.OrderedDict([('a', base[0:12].view(3, 4)), ('b', base[12:20]), ('c', base[20:40].view(2, 10)), ('d', base[5:6].view(1, 1))])
            torch.save(views, path)
        elif layout == 'noncontiguous':
            torch.save({'w': torch.arange(6, dtype=torch.float32).view(2, 3).t(), 'ok': torch.ones(2)}, path)
        else:
            raise SystemExit(f'unknown layout {layout}')
        print(json.dumps({'layout': layout, 'path': path, 'bytes': os.path.getsize(path)}), flush=True)


if __name__ == '__main__':
    main()
