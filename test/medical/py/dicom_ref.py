"""Reference values of DICOM files as pydicom reads them, for the tests to compare against.

usage: dicom_ref.py OUTDIR FILE...
For the k-th FILE writes OUTDIR/k.json ({"shape": [...]} or {"error": "..."}) and OUTDIR/k.f32:
pixel_array as float32 (little-endian), frames first; grey images after apply_modality_lut
(Rescale Slope / Intercept); YBR_FULL and YBR_FULL_422 converted to RGB with convert_color_space;
PALETTE COLOR through apply_color_lut.
"""
import json
import sys
import warnings

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_color_lut, apply_modality_lut, convert_color_space

warnings.simplefilter("ignore")
out = sys.argv[1]
for k, path in enumerate(sys.argv[2:]):
    meta = {}
    try:
        ds = pydicom.dcmread(path, force=True)
        arr = ds.pixel_array
        pi = ds.PhotometricInterpretation
        if pi.startswith("MONOCHROME"):
            arr = apply_modality_lut(arr, ds)
        elif pi == "PALETTE COLOR":
            arr = apply_color_lut(arr, ds)
        elif pi in ("YBR_FULL", "YBR_FULL_422"):
            arr = convert_color_space(arr, "YBR_FULL", "RGB")
        arr = np.asarray(arr, dtype="<f4")
        meta["shape"] = list(arr.shape)
        meta["photometric"] = pi
        arr.tofile(f"{out}/{k}.f32")
    except Exception as e:  # the test decides whether an error is expected
        meta["error"] = f"{type(e).__name__}: {e}"
    with open(f"{out}/{k}.json", "w") as f:
        json.dump(meta, f)
