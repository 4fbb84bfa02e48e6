"""The expected display of a slice, from nibabel's orientation code (independent of ours): the
volume is brought to the closest canonical RAS+ orientation (as_closest_canonical); the slice at
file index N along the voxel axis closest to the plane's normal is found there (io_orientation says
whether that axis was flipped); then shown radiologically: axial C[::-1, ::-1, k].T (Right on the
left, Anterior up), coronal C[::-1, j, ::-1].T (Superior up), sagittal C[i, ::-1, ::-1].T
(Anterior on the left). Writes float32, row-major.

usage: slice_ref.py FILE AXIS:N:OUT.f32 ...   (prints "width height" per slice)
"""
import sys

import nibabel as nib
import numpy as np

path = sys.argv[1]
img = nib.load(path)
ornt = nib.orientations.io_orientation(img.affine)  # row v: voxel axis v -> (world axis, flip)
C = np.asanyarray(nib.as_closest_canonical(img).dataobj).astype(np.float32)
while C.ndim > 3:
    C = C[..., 0]
for spec in sys.argv[2:]:
    axis, n, out = spec.split(":", 2)
    n = int(n)
    world = {"sagittal": 0, "coronal": 1, "axial": 2}[axis]
    vox = int(np.where(ornt[:, 0] == world)[0][0])
    c_index = n if ornt[vox, 1] > 0 else img.shape[vox] - 1 - n
    if axis == "axial":
        s = C[::-1, ::-1, c_index].T
    elif axis == "coronal":
        s = C[::-1, c_index, ::-1].T
    else:
        s = C[c_index, ::-1, ::-1].T
    np.ascontiguousarray(s, dtype="<f4").tofile(out)
    print(f"{s.shape[1]} {s.shape[0]}")
