// Reference pixel values from pydicom (py/dicom_ref.py), and their comparison with ours.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DicomImage } from '../../src/medical/dicom/image.js';
import { runPython } from './tools.js';

export interface Reference {
  shape: number[];
  data: Float32Array;
}

/** pixel_array of each file as dicom_ref.py writes it (into `tmp`, one python run); an entry is an Error where pydicom failed. */
export function referenceValuesAll(files: string[], tmp: string): (Reference | Error)[] {
  runPython('dicom_ref.py', [tmp, ...files]);
  return files.map((file, k) => {
    const meta = JSON.parse(readFileSync(join(tmp, `${k}.json`), 'utf8')) as { shape?: number[]; error?: string };
    if (meta.error) return new Error(`pydicom cannot read ${file}: ${meta.error}`);
    const b = readFileSync(join(tmp, `${k}.f32`));
    return { shape: meta.shape!, data: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) };
  });
}

/** The reference of one file; throws with pydicom's error. */
export function referenceValues(file: string, tmp: string): Reference {
  const r = referenceValuesAll([file], tmp)[0];
  if (r instanceof Error) throw r;
  return r;
}

/** Max |ours − ref| over every frame (shapes must agree), and how many values are equal. */
export function compareValues(img: DicomImage, ref: Reference): { maxDiff: number; exact: number; count: number } {
  const ours = img.frames;
  const per = img.info.rows * img.info.columns * img.channels;
  const expectShape = [...(ours.length > 1 ? [ours.length] : []), img.info.rows, img.info.columns, ...(img.channels === 3 ? [3] : [])];
  if (JSON.stringify(expectShape) !== JSON.stringify(ref.shape)) throw new Error(`shape ${JSON.stringify(expectShape)} vs reference ${JSON.stringify(ref.shape)}`);
  let maxDiff = 0, exact = 0;
  for (let f = 0; f < ours.length; f++) {
    for (let i = 0; i < per; i++) {
      const d = Math.abs(ours[f][i] - ref.data[f * per + i]);
      if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
      if (d === 0) exact++;
    }
  }
  return { maxDiff, exact, count: per * ours.length };
}
