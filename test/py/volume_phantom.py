"""A 3-D phantom for the volume tests: ellipsoids of different intensities in a CT-like volume,
written as a DICOM CT series by pydicom and as NIfTI by nibabel, on one grid; prints JSON.

  volume_phantom.py OUT_DIR NI NJ NK

OUT_DIR/series/ holds one file per axial slice (named in shuffled order), OUT_DIR/phantom.nii.gz
the same values. Voxel (i, j, k): i along a row (the patient's left, DICOM +x), j down the rows
(posterior), k upward (superior), 0.8 × 0.7 mm pixels, 2 mm slices. Prints the NIfTI affine and
shape as nibabel reads them back, and per ellipsoid its centre and radii in voxels and its HU.
"""
import json
import os
import random
import sys

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def phantom(ni, nj, nk):
    i, j, k = np.meshgrid(np.arange(ni), np.arange(nj), np.arange(nk), indexing="ij")
    vol = np.full((ni, nj, nk), -1000.0)
    blobs = [
        {"centre": [ni * 0.5, nj * 0.5, nk * 0.5], "radii": [ni * 0.42, nj * 0.4, nk * 0.6], "hu": 0},
        {"centre": [ni * 0.4, nj * 0.45, nk * 0.5], "radii": [ni * 0.15, nj * 0.18, nk * 0.35], "hu": 180},
        {"centre": [ni * 0.65, nj * 0.6, nk * 0.45], "radii": [ni * 0.1, nj * 0.1, nk * 0.25], "hu": 400},
    ]
    for b in blobs:
        (ci, cj, ck), (ri, rj, rk) = b["centre"], b["radii"]
        inside = ((i - ci) / ri) ** 2 + ((j - cj) / rj) ** 2 + ((k - ck) / rk) ** 2 <= 1
        vol[inside] = b["hu"]
    return vol.astype(np.int16), blobs


def main(out, ni, nj, nk):
    vol, blobs = phantom(ni, nj, nk)
    col_mm, row_mm, step = 0.8, 0.7, 2.0  # along i (columns), along j (rows), between slices
    origin = np.array([-20.0, -15.0, -40.0])  # LPS, voxel (0, 0, 0)
    series_dir = os.path.join(out, "series")
    os.makedirs(series_dir, exist_ok=True)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    order = list(range(nk))
    random.Random(3).shuffle(order)
    for k in range(nk):
        ds = Dataset()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.Modality = "CT"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.PatientName, ds.PatientID, ds.StudyDate, ds.StudyTime = "Phantom^Volume", "PH-1", "20250101", "120000"
        ds.PatientBirthDate, ds.PatientSex, ds.StudyID, ds.AccessionNumber, ds.ReferringPhysicianName = "", "O", "1", "", ""
        ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [float(x) for x in origin + np.array([0, 0, step * k])]
        ds.PixelSpacing = [row_mm, col_mm]
        ds.SliceThickness = step
        ds.Rows, ds.Columns = nj, ni
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = (vol[:, :, k].T.astype(np.int32) + 1024).astype(np.uint16).tobytes()
        ds.save_as(os.path.join(series_dir, f"im{order[k]:03d}.dcm"), write_like_original=False)
    # The same grid in RAS: LPS x, y negated.
    affine = np.array([
        [-col_mm, 0, 0, -origin[0]],
        [0, -row_mm, 0, -origin[1]],
        [0, 0, step, origin[2]],
        [0, 0, 0, 1],
    ])
    nii = os.path.join(out, "phantom.nii.gz")
    img = nib.Nifti1Image(vol, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, nii)
    back = nib.load(nii)
    print(json.dumps({"series": series_dir, "nifti": nii, "shape": list(back.shape), "affine": back.affine.tolist(), "blobs": blobs}))


if __name__ == "__main__":
    main(sys.argv[1], *map(int, sys.argv[2:5]))
