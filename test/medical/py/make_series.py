"""Writes a synthetic DICOM series with pydicom (for the series tests and the open-time bench).

usage: make_series.py OUTDIR [--rows R] [--cols C] [--slices N] [--spacing MM] [--pixel MM,MM]
                      [--orientation r0,r1,r2,c0,c1,c2] [--origin x,y,z] [--modality CT|MR]
                      [--defect none|uneven|duplicate|mixed-orientation|mixed-size|single|two-series|tilt]
                      [--seed S] [--syntax explicit|implicit|bigendian]
Values: a smooth pattern plus noise, stored as int16 with RescaleSlope/Intercept (CT: 1/-1024,
MR: 0.5/3). Files are named by a shuffled counter, so that file order says nothing of slice order.
Prints the series UID(s), one per line.
"""
import argparse
import os

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--rows", type=int, default=24)
p.add_argument("--cols", type=int, default=20)
p.add_argument("--slices", type=int, default=9)
p.add_argument("--spacing", type=float, default=2.5)
p.add_argument("--pixel", default="0.8,0.7")
p.add_argument("--orientation", default="1,0,0,0,1,0")
p.add_argument("--origin", default="-100,-120,40")
p.add_argument("--modality", default="CT")
p.add_argument("--defect", default="none")
p.add_argument("--seed", type=int, default=1)
p.add_argument("--syntax", default="explicit")
a = p.parse_args()
rng = np.random.default_rng(a.seed)
os.makedirs(a.out, exist_ok=True)
iop = np.array([float(v) for v in a.orientation.split(",")])
row = iop[:3] / np.linalg.norm(iop[:3])
col = iop[3:] - np.dot(iop[3:], row) * row  # Gram-Schmidt: real ImageOrientationPatient is orthonormal
col /= np.linalg.norm(col)
normal = np.cross(row, col)
origin = np.array([float(v) for v in a.origin.split(",")])
pixel = [float(v) for v in a.pixel.split(",")]
study = generate_uid()
series = [generate_uid(), generate_uid()]
frame_ref = generate_uid()
syntax = {"explicit": ExplicitVRLittleEndian, "implicit": ImplicitVRLittleEndian, "bigendian": ExplicitVRBigEndian}[a.syntax]
n = 1 if a.defect == "single" else a.slices
order = rng.permutation(n * (2 if a.defect == "two-series" else 1))
slope, inter = (1.0, -1024.0) if a.modality == "CT" else (0.5, 3.0)
yy, xx = np.mgrid[0 : a.rows, 0 : a.cols]
for k in range(n * (2 if a.defect == "two-series" else 1)):
    s = k % n
    which = k // n
    d = s * a.spacing
    if a.defect == "uneven" and s >= n // 2:
        d += 0.7 * a.spacing
    if a.defect == "duplicate" and s == n - 1:
        d = (n - 2) * a.spacing
    pos = origin + d * normal
    if a.defect == "tilt":
        pos = pos + s * 0.4 * col
    rows, cols = a.rows, a.cols
    if a.defect == "mixed-size" and s == 1:
        rows += 2
    o_row, o_col = row, col
    if a.defect == "mixed-orientation" and s == 2:
        o_row, o_col = row, np.cos(0.2) * col + np.sin(0.2) * normal
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2" if a.modality == "CT" else "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = syntax != ExplicitVRBigEndian
    ds.is_implicit_VR = syntax == ImplicitVRLittleEndian
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series[which]
    ds.FrameOfReferenceUID = frame_ref
    ds.Modality = a.modality
    ds.PatientName = "Synthetic^Series"
    ds.PatientID = "SYN-1"
    ds.SeriesNumber = which + 1
    ds.InstanceNumber = s + 1
    ds.ImagePositionPatient = [f"{v:.6f}" for v in pos]
    ds.ImageOrientationPatient = [f"{v:.8f}" for v in list(o_row) + list(o_col)]
    ds.PixelSpacing = [pixel[0], pixel[1]]
    ds.SliceThickness = 99  # deliberately wrong: spacing must come from the positions
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = slope, inter
    ds.WindowCenter, ds.WindowWidth = 40, 400
    y2, x2 = np.mgrid[0:rows, 0:cols]
    img = (1000 + 300 * np.sin(x2 / 5.0 + s) + 200 * np.cos(y2 / 7.0) + 37 * s + rng.integers(-20, 20, (rows, cols))).astype("<i2")
    ds.PixelData = (img.astype(">i2") if syntax == ExplicitVRBigEndian else img).tobytes()
    ds.save_as(os.path.join(a.out, f"img{order[k]:05d}.dcm"), write_like_original=False)
for u in series[: 2 if a.defect == "two-series" else 1]:
    print(u)
