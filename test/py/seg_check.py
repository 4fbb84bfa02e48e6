"""pydicom's view of a DICOM SEG and the series it references, for test/dicom-seg.test.ts.

  seg_check.py SEG.dcm SOURCE_DIR RAW_OUT

Prints JSON: the SEG's class, type, frame count, segments, shared geometry, patient / study
attributes; per frame its segment, referenced instance, position, and the position of that
instance in the source series (looked up by UID in SOURCE_DIR). Writes the frames' pixels, as
pydicom unpacks them (frames × rows × columns, uint8), to RAW_OUT.
"""
import glob
import json
import os
import sys

import pydicom


def main(seg_path, source_dir, raw_out):
    seg = pydicom.dcmread(seg_path)
    sources = {}
    for p in glob.glob(os.path.join(source_dir, "*.dcm")):
        s = pydicom.dcmread(p, stop_before_pixels=True)
        sources[s.SOPInstanceUID] = s
    frames = []
    for f in seg.PerFrameFunctionalGroupsSequence:
        src = f.DerivationImageSequence[0].SourceImageSequence[0]
        uid = src.ReferencedSOPInstanceUID
        ref = sources.get(uid)
        frames.append({
            "segment": int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber),
            "dimensionIndex": [int(v) for v in f.FrameContentSequence[0].DimensionIndexValues],
            "referencedSOPInstanceUID": uid,
            "referencedSOPClassUID": src.ReferencedSOPClassUID,
            "position": [float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient],
            "sourcePosition": [float(v) for v in ref.ImagePositionPatient] if ref else None,
        })
    shared = seg.SharedFunctionalGroupsSequence[0]
    some = next(iter(sources.values()))
    pixels = seg.pixel_array.reshape(int(seg.NumberOfFrames), seg.Rows, seg.Columns)
    with open(raw_out, "wb") as f:
        f.write(pixels.astype("uint8").tobytes())
    refs = seg.ReferencedSeriesSequence
    print(json.dumps({
        "sopClassUID": seg.SOPClassUID, "modality": seg.Modality, "segmentationType": seg.SegmentationType,
        "numberOfFrames": int(seg.NumberOfFrames), "rows": seg.Rows, "columns": seg.Columns,
        "segments": [{"number": int(s.SegmentNumber), "label": s.SegmentLabel, "algorithm": s.SegmentAlgorithmType} for s in seg.SegmentSequence],
        "orientation": [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient],
        "sourceOrientation": [float(v) for v in some.ImageOrientationPatient],
        "pixelSpacing": [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing],
        "sourcePixelSpacing": [float(v) for v in some.PixelSpacing],
        "frames": frames,
        "referencedSeries": [{"uid": r.SeriesInstanceUID, "instances": sorted(i.ReferencedSOPInstanceUID for i in r.ReferencedInstanceSequence)} for r in refs],
        "sourceSeries": some.SeriesInstanceUID, "sourceInstances": sorted(sources),
        "same": {k: str(seg.get(k)) == str(some.get(k)) for k in ["StudyInstanceUID", "FrameOfReferenceUID", "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "AccessionNumber"]},
        "patientName": str(seg.PatientName),
        "newSeries": seg.SeriesInstanceUID != some.SeriesInstanceUID,
    }))


if __name__ == "__main__":
    main(*sys.argv[1:4])
