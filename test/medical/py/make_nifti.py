"""Writes NIfTI test files with nibabel: every scalar datatype, scaled data, qform-only,
pixdim-only, NIfTI-2, big endian, 4-D, gzip. Prints one file name per line.

usage: make_nifti.py OUTDIR
"""
import os
import sys

import nibabel as nib
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
shape = (7, 5, 4)
aff = np.array([[0.0, -1.2, 0.1, 30], [0.9, 0.0, 0.0, -20], [0.05, 0.0, 2.5, 10], [0, 0, 0, 1]])
rot = nib.eulerangles.euler2mat(0.3, -0.2, 0.1)
qaff = np.eye(4)
qaff[:3, :3] = rot @ np.diag([0.8, 1.1, 2.0])
qaff[:3, 3] = [-5, 7, 11]
names = []


def save(img, name):
    nib.save(img, os.path.join(out, name))
    names.append(name)


for dt in ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]:
    info = np.iinfo(dt) if dt[0] in "ui" else None
    lo, hi = (max(info.min, -100000), min(info.max, 100000)) if info else (-1000, 1000)
    a = rng.uniform(lo, hi, shape).astype(dt)
    img = nib.Nifti1Image(a, aff, dtype=dt)
    save(img, f"dtype_{dt}.nii")
a = rng.integers(-300, 300, shape).astype("int16")
img = nib.Nifti1Image(a, aff)
img.header.set_slope_inter(0.25, -17.5)
save(img, "scaled_int16.nii")
img = nib.Nifti1Image(a, None)
img.set_qform(qaff, code=1)
img.set_sform(None, code=0)
save(img, "qform_only.nii")
img = nib.Nifti1Image(a, None)
img.set_qform(np.diag([-0.8, 1.1, 2.0, 1.0]), code=1)  # a left-handed qform: qfac = -1
img.set_sform(None, code=0)
save(img, "qform_qfac.nii")
img = nib.Nifti1Image(a, np.diag([0.5, 0.6, 3.0, 1.0]))
save(img, "pixdim_only.nii")
with open(os.path.join(out, "pixdim_only.nii"), "r+b") as f:  # nibabel always writes a form code: clear both
    f.seek(252)
    f.write(np.array([0, 0], "<i2").tobytes())
save(nib.Nifti2Image(a.astype("float32"), aff), "nifti2.nii")
be = nib.Nifti1Image(a, aff, nib.Nifti1Header(endianness=">"))
save(be, "bigendian.nii")
a4 = rng.integers(0, 500, shape + (3,)).astype("int16")
save(nib.Nifti1Image(a4, aff), "four_d.nii.gz")
save(nib.Nifti1Image(a.astype("float32"), aff), "gzip.nii.gz")
print("\n".join(names))
