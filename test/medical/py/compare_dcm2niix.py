"""Compares a volume (raw float32, i fastest, and its RAS affine) with dcm2niix's NIfTI of the same
series, read by nibabel: every voxel of ours, mapped through our affine and the inverse of
dcm2niix's, must land on a voxel centre of theirs (within 1e-3 voxel) holding the same value.

usage: compare_dcm2niix.py OURS.f32 OURS.json THEIRS.nii[.gz]
Prints a JSON line: {"max_index_error", "max_value_diff", "dims", "affine_theirs"}.
"""
import json
import sys

import nibabel as nib
import numpy as np

ours_raw, meta_path, theirs_path = sys.argv[1:4]
meta = json.load(open(meta_path))
ni, nj, nk = meta["dims"]
ours = np.fromfile(ours_raw, dtype="<f4").reshape((nk, nj, ni)).transpose(2, 1, 0)
A = np.array(meta["affine"], dtype=np.float64).reshape(4, 4)
img = nib.load(theirs_path)
theirs = np.asarray(img.get_fdata(dtype=np.float64))
while theirs.ndim > 3:
    theirs = theirs[..., 0]
B = img.affine
M = np.linalg.inv(B) @ A
ii, jj, kk = np.meshgrid(np.arange(ni), np.arange(nj), np.arange(nk), indexing="ij")
idx = M @ np.stack([ii.ravel(), jj.ravel(), kk.ravel(), np.ones(ii.size)])
r = np.rint(idx[:3]).astype(int)
err = float(np.abs(idx[:3] - r).max())
inside = all((r[d] >= 0).all() and (r[d] < theirs.shape[d]).all() for d in range(3))
vd = float("inf")
if inside:
    vd = float(np.abs(theirs[r[0], r[1], r[2]] - ours.ravel(order="F")[np.ravel_multi_index((ii.ravel(), jj.ravel(), kk.ravel()), (ni, nj, nk), order="F")]).max())
print(json.dumps({"max_index_error": err, "max_value_diff": vd, "inside": inside, "dims": list(theirs.shape), "affine_theirs": B.tolist()}))
