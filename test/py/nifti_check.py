"""nibabel's view of NIfTI files, for test/nifti-write.test.ts.

  nifti_check.py source SPEC.json     writes each source scan of SPEC ([{path, shape, affine,
                                      sform_code, qform_code}]) with nibabel, and prints what
                                      nibabel reads back: [{affine, shape}]
  nifti_check.py compare PAIRS.json   for each {source, labels, raw} prints the shapes, affines,
                                      qform, codes, dtype and intent nibabel reads, and writes the
                                      label values to `raw` (i fastest, as stored)
"""
import json
import sys

import nibabel as nib
import numpy as np


def source(spec):
    out = []
    for s in spec:
        shape = tuple(s["shape"])
        data = (np.arange(np.prod(shape), dtype=np.int16) % 1000).reshape(shape, order="F")
        affine = np.array(s["affine"], dtype=np.float64) if s["affine"] else np.eye(4)
        img = nib.Nifti1Image(data, affine)
        img.set_sform(affine if s["sform_code"] else None, code=s["sform_code"])
        img.set_qform(affine if s["qform_code"] else None, code=s["qform_code"])
        if not s["sform_code"] and not s["qform_code"]:
            img.header.set_zooms(s["zooms"])
        nib.save(img, s["path"])
        back = nib.load(s["path"])
        out.append({"affine": back.affine.tolist(), "shape": list(back.shape)})
    return out


def compare(pairs):
    out = []
    for p in pairs:
        src = nib.load(p["source"])
        lab = nib.load(p["labels"])
        h = lab.header
        data = np.asanyarray(lab.dataobj)
        with open(p["raw"], "wb") as f:
            f.write(data.tobytes(order="F"))
        out.append({
            "sourceShape": list(src.shape),
            "shape": list(lab.shape),
            "sourceAffine": src.affine.tolist(),
            "affine": lab.affine.tolist(),
            "qform": h.get_qform().tolist(),
            "sform": h.get_sform().tolist(),
            "qformCode": int(h["qform_code"]),
            "sformCode": int(h["sform_code"]),
            "dtype": str(data.dtype),
            "intent": h.get_intent()[0],
            "zooms": [float(z) for z in h.get_zooms()],
            "sourceZooms": [float(z) for z in src.header.get_zooms()],
        })
    return out


if __name__ == "__main__":
    cmd, arg = sys.argv[1], sys.argv[2]
    with open(arg) as f:
        spec = json.load(f)
    print(json.dumps(source(spec) if cmd == "source" else compare(spec)))
