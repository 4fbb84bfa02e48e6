"""An independent q8_0 quantiser, written from the convention in src/weights/q8.ts with numpy, for
test/q8.test.ts.

  q8_ref.py VALUES.f32 SHAPE_JSON      prints {"q": [...int8], "scales": [...float16 bits]}

rows = shape[0]; each row's values (row-major) in blocks of 32, the last one shorter; per block
d = float16(max|x| / 127), q = round half away from zero of x / d (0 where d == 0), clipped to
[-127, 127].
"""
import json
import sys

import numpy as np


def main(path, shape):
    x = np.fromfile(path, dtype="<f4").astype(np.float64)
    rows = shape[0]
    k = x.size // rows
    x = x.reshape(rows, k)
    nb = -(-k // 32)
    q = np.zeros((rows, k), dtype=np.int8)
    scales = np.zeros((rows, nb), dtype=np.float16)
    for b in range(nb):
        blk = x[:, b * 32:(b + 1) * 32]
        d = (np.abs(blk).max(axis=1) / 127).astype(np.float32).astype(np.float16)
        scales[:, b] = d
        dd = d.astype(np.float64)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(dd > 0, blk / dd, 0.0)
        r = np.sign(r) * np.floor(np.abs(r) + 0.5)
        q[:, b * 32:(b + 1) * 32] = np.clip(r, -127, 127).astype(np.int8)
    print(json.dumps({"q": q.ravel().tolist(), "scales": scales.view(np.uint16).ravel().tolist()}))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
