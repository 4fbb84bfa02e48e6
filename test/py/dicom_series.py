"""Writes a small CT series with pydicom, for test/dicom-seg.test.ts, and prints what a DICOM reader
would hand on (UIDs, geometry, patient attributes) as JSON.

  dicom_series.py OUT_DIR ROWS COLS SLICES

Oblique slices (rotated about two axes), anisotropic pixels, a UTF-8 patient name, one file per
slice named in shuffled order (a reader must sort by position, not by name).
"""
import json
import math
import os
import random
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def main(out, rows, cols, n):
    os.makedirs(out, exist_ok=True)
    a, b = math.radians(20), math.radians(-12)
    row_dir = np.array([math.cos(a), math.sin(a), 0.0])
    col_dir = np.array([-math.sin(a) * math.cos(b), math.cos(a) * math.cos(b), math.sin(b)])
    normal = np.cross(row_dir, col_dir)
    spacing = [0.9, 0.75]  # PixelSpacing: between rows, between columns
    step = 2.5
    origin = np.array([-110.25, 80.5, -300.0])
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    patient = {"PatientName": "Müller^Anna", "PatientID": "VO-0042", "PatientBirthDate": "19700101", "PatientSex": "F",
               "StudyDate": "20240102", "StudyTime": "101500", "StudyID": "S1", "AccessionNumber": "ACC9", "ReferringPhysicianName": "Who^Doctor"}
    order = list(range(n))
    random.Random(7).shuffle(order)
    slices = []
    for k in range(n):
        ds = Dataset()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.Modality = "CT"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        for key, value in patient.items():
            setattr(ds, key, value)
        ds.InstanceNumber = k + 1
        ipp = origin + normal * step * k
        ds.ImagePositionPatient = [round(float(x), 6) for x in ipp]
        ds.ImageOrientationPatient = [round(float(x), 8) for x in (*row_dir, *col_dir)]
        ds.PixelSpacing = spacing
        ds.SliceThickness = step
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.PixelData = (np.arange(rows * cols, dtype=np.uint16) + 10 * k).tobytes()
        path = os.path.join(out, f"slice-{order[k]:03d}.dcm")
        ds.save_as(path, write_like_original=False)
        slices.append({"path": path, "sopInstanceUID": ds.SOPInstanceUID, "position": ds.ImagePositionPatient})
    print(json.dumps({
        "study": study, "series": series, "frameOfReference": frame, "sopClassUID": CTImageStorage,
        "orientation": [float(x) for x in slices and ds.ImageOrientationPatient], "pixelSpacing": spacing, "rows": rows, "cols": cols,
        "slices": [{**s, "position": [float(x) for x in s["position"]]} for s in slices], "patient": patient,
    }))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
