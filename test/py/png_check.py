"""PIL's view of PNG files, for test/png-slices.test.ts: prints [{mode, size, pixels}] per path,
pixels row by row (grey values, or [r, g, b])."""
import json
import sys

from PIL import Image

out = []
for path in sys.argv[1:]:
    with Image.open(path) as im:
        im.load()
        out.append({"mode": im.mode, "size": list(im.size), "pixels": [list(p) if isinstance(p, tuple) else p for p in im.getdata()]})
print(json.dumps(out))
