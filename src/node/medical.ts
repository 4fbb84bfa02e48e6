// Scans from paths (Node only): a folder of DICOM files (searched recursively) or one file.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openScan, type Scan } from '../medical/index.js';
import { readDicomSeries, type ReadSeriesOptions } from '../medical/dicom/series.js';
import type { ReadNiftiOptions } from '../medical/nifti.js';
import type { Volume } from '../volume/types.js';

/** Every regular file under `dir`, sorted by path. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** The DICOM series in the folder `dir` (recursively) as a volume. */
export async function readDicomFolder(dir: string, opts: ReadSeriesOptions = {}): Promise<Volume> {
  const paths = await filesUnder(dir);
  return readDicomSeries(await Promise.all(paths.map(async (p) => ({ name: p, bytes: new Uint8Array(await readFile(p)) }))), opts);
}

/** A path as a scan: a folder (a DICOM series), a NIfTI file or one DICOM file. */
export async function openScanPath(path: string, opts: ReadSeriesOptions & ReadNiftiOptions = {}): Promise<Scan> {
  if ((await stat(path)).isDirectory()) return { kind: 'volume', volume: await readDicomFolder(path, opts) };
  return openScan([{ name: path, bytes: new Uint8Array(await readFile(path)) }], opts);
}
