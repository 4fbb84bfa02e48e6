"""Reference values of NIfTI files as nibabel reads them.

usage: nifti_ref.py OUTDIR FILE...
For the k-th FILE writes OUTDIR/k.json ({"shape", "affine"} or {"error"}) and OUTDIR/k.f32: the first
3-D volume of get_fdata() (scl_slope / scl_inter applied) as little-endian float32, i fastest.
"""
import json
import sys

import nibabel as nib
import numpy as np

out = sys.argv[1]
for k, path in enumerate(sys.argv[2:]):
    meta = {}
    try:
        img = nib.load(path)
        data = np.asanyarray(img.dataobj)
        data = img.get_fdata()
        while data.ndim > 3:
            data = data[..., 0]
        while data.ndim < 3:
            data = data[..., np.newaxis]
        meta["shape"] = list(data.shape)
        meta["affine"] = img.affine.ravel().tolist()
        np.asarray(data, dtype="<f4").ravel(order="F").tofile(f"{out}/{k}.f32")
    except Exception as e:
        meta["error"] = f"{type(e).__name__}: {e}"
    with open(f"{out}/{k}.json", "w") as f:
        json.dump(meta, f)
