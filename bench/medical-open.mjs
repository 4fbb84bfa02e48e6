// Time to open a DICOM series in Node: pydicom writes a 512×512×200 CT series (int16, 100 MB,
// shuffled file names; test/medical/py/make_series.py), then readDicomFolder (read the files,
// parse, sort, decode, assemble the Float32 volume) runs --runs times; prints the median and each
// run, and the time to the first RGB slice (the abdomen window over the whole volume + one slice).
// Needs `npm run build` and Debian's python3-pydicom.
//   node bench/medical-open.mjs [--rows 512] [--cols 512] [--slices 200] [--runs 5] [--syntax explicit|implicit|bigendian]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '512' }, cols: { type: 'string', default: '512' }, slices: { type: 'string', default: '200' }, runs: { type: 'string', default: '5' }, syntax: { type: 'string', default: 'explicit' } } });
const root = fileURLToPath(new URL('..', import.meta.url));
const { readDicomFolder } = await import(join(root, 'dist', 'node', 'index.js'));
const { volumeSliceToRgb } = await import(join(root, 'dist', 'index.js'));
const dir = mkdtempSync(join(tmpdir(), 'medical-open-'));
try {
  const t0 = performance.now();
  execFileSync('/usr/bin/python3', [join(root, 'test', 'medical', 'py', 'make_series.py'), dir, '--rows', values.rows, '--cols', values.cols, '--slices', values.slices, '--syntax', values.syntax], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`series written by pydicom in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${values.cols}×${values.rows}×${values.slices}, ${values.syntax}`);
  const times = [], firstSlice = [];
  for (let r = 0; r < Number(values.runs); r++) {
    const a = performance.now();
    const vol = await readDicomFolder(dir);
    const b = performance.now();
    volumeSliceToRgb(vol, { window: 'abdomen' });
    firstSlice.push(performance.now() - a);
    times.push(b - a);
    if (vol.dims[2] !== Number(values.slices)) throw new Error(`read ${vol.dims[2]} slices`);
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  console.log(`readDicomFolder: median ${med(times).toFixed(0)} ms (runs ${times.map((t) => t.toFixed(0)).join(', ')} ms); to the first RGB slice: median ${med(firstSlice).toFixed(0)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
