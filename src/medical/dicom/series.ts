// A DICOM series as a volume. Files are grouped by SeriesInstanceUID (several series are listed and
// one is chosen by option), their frames sorted along the slice normal: ImagePositionPatient
// projected on the cross product of ImageOrientationPatient's row and column directions (the method
// of dcm2niix and ITK's GDCMSeriesFileNames). The slice step comes from the positions, never from
// SliceThickness. Mixed orientations or sizes, duplicate positions, uneven spacing and a single
// slice are SeriesErrors naming the files.

import type { Volume } from '../../volume/types.js';
import { DicomError, SeriesError, describe } from '../errors.js';
import { decodeDicom } from './image.js';
import { readImageInfo, type DicomImageInfo } from './info.js';
import { parseDicom } from './parse.js';

/** A DICOM file: its name (for messages) and bytes, or a browser File / Blob. */
export type DicomSource = { name: string; bytes: Uint8Array } | Blob;

export interface SeriesSummary {
  seriesInstanceUID: string;
  modality: string;
  description?: string;
  seriesNumber?: string;
  /** Files, and slices (frames) in them. */
  files: number;
  slices: number;
}

export interface ReadSeriesOptions {
  /** Which series, when the files hold several. */
  seriesInstanceUID?: string;
  /** Keep a series whose slice gaps differ (placed on the mean step; listed in `warnings`). */
  allowUnevenSpacing?: boolean;
}

interface Header {
  name: string;
  bytes: Uint8Array;
  info: DicomImageInfo;
}

const dot = (a: readonly number[], b: readonly number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: readonly number[], b: readonly number[]) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const close = (a: readonly number[], b: readonly number[], tol: number) => a.every((v, i) => Math.abs(v - b[i]) <= tol);
const fmt = (v: readonly number[]) => `[${v.map((x) => +x.toFixed(4)).join(', ')}]`;

async function bytesOf(s: DicomSource, i: number): Promise<{ name: string; bytes: Uint8Array }> {
  if (typeof Blob !== 'undefined' && s instanceof Blob) {
    return { name: (s as Blob & { name?: string }).name ?? `file ${i + 1}`, bytes: new Uint8Array(await s.arrayBuffer()) };
  }
  return s as { name: string; bytes: Uint8Array };
}

/** Parses every file's header; files that are not DICOM images are skipped (and listed). */
async function readHeaders(sources: Iterable<DicomSource>, skipped: string[]): Promise<Header[]> {
  const out: Header[] = [];
  let i = 0;
  for (const s of sources) {
    const { name, bytes } = await bytesOf(s, i++);
    try {
      out.push({ name, bytes, info: readImageInfo((await parseDicom(bytes)).attrs) });
    } catch (e) {
      if (e instanceof DicomError && (e.reason === 'not-dicom' || e.reason === 'missing-pixel-data')) skipped.push(`${name} (${e.message})`);
      else if (e instanceof DicomError) throw new DicomError(e.reason, `${name}: ${e.message}`, { cause: e });
      else throw e;
    }
  }
  return out;
}

function summarize(headers: Header[]): SeriesSummary[] {
  const by = new Map<string, Header[]>();
  for (const h of headers) by.set(h.info.seriesInstanceUID, [...(by.get(h.info.seriesInstanceUID) ?? []), h]);
  return [...by].map(([uid, hs]) => ({
    seriesInstanceUID: uid, modality: hs[0].info.modality, description: hs[0].info.patient.SeriesDescription,
    seriesNumber: hs[0].info.patient.SeriesNumber, files: hs.length, slices: hs.reduce((n, h) => n + h.info.frames, 0),
  }));
}

/** The series among the files (headers only; no pixel data is decoded). */
export async function listDicomSeries(sources: Iterable<DicomSource>): Promise<SeriesSummary[]> {
  return summarize(await readHeaders(sources, []));
}

interface Slice {
  header: Header;
  frame: number;
  position: readonly number[];
  d: number;
}

/** Reads the series (the only one, or `opts.seriesInstanceUID`) as a volume. */
export async function readDicomSeries(sources: Iterable<DicomSource>, opts: ReadSeriesOptions = {}): Promise<Volume> {
  const warnings: string[] = [];
  const skipped: string[] = [];
  const all = await readHeaders(sources, skipped);
  if (skipped.length) warnings.push(`skipped ${skipped.length} files that are not DICOM images: ${skipped.slice(0, 5).join('; ')}${skipped.length > 5 ? '; …' : ''}`);
  if (!all.length) throw new SeriesError('no-images', `no DICOM image among the files${skipped.length ? ` (${skipped.slice(0, 3).join('; ')})` : ''}`);
  const series = summarize(all);
  const uid = opts.seriesInstanceUID ?? (series.length === 1 ? series[0].seriesInstanceUID : undefined);
  const list = series.map((s) => `${s.seriesInstanceUID} (${s.modality}${s.description ? ` "${s.description}"` : ''}, ${s.slices} slices)`).join('; ');
  if (uid === undefined) throw new SeriesError('several-series', `the files hold ${series.length} series; choose one by SeriesInstanceUID: ${list}`);
  const headers = all.filter((h) => h.info.seriesInstanceUID === uid);
  if (!headers.length) throw new SeriesError('unknown-series', `series ${uid} is not among the files: ${list}`);

  const first = headers[0].info;
  for (const h of headers) {
    const i = h.info;
    if (i.rows !== first.rows || i.columns !== first.columns) {
      throw new SeriesError('mixed-size', `${h.name} is ${i.columns}×${i.rows}, ${headers[0].name} is ${first.columns}×${first.rows} (Columns × Rows)`);
    }
    if (i.samplesPerPixel !== 1 || i.photometric === 'PALETTE COLOR') {
      throw new SeriesError('mixed-pixel-format', `${h.name} is a colour image (${i.photometric}): a volume needs grey images`);
    }
    warnings.push(...i.warnings.map((w) => `${h.name}: ${w}`));
  }
  const slices: Slice[] = [];
  const geom = first.planes[0];
  if (!geom.orientation || !geom.pixelSpacing) throw new SeriesError('missing-geometry', `${headers[0].name} has no ImageOrientationPatient or PixelSpacing`);
  const [rowDir, colDir] = [geom.orientation.slice(0, 3), geom.orientation.slice(3, 6)];
  const normal = cross(rowDir, colDir);
  for (const h of headers) {
    h.info.planes.forEach((p, frame) => {
      const where = h.info.frames > 1 ? `${h.name} frame ${frame + 1}` : h.name;
      if (!p.position || !p.orientation || !p.pixelSpacing) {
        throw new SeriesError('missing-geometry', `${where} has no ImagePositionPatient, ImageOrientationPatient or PixelSpacing`);
      }
      if (!close(p.orientation, geom.orientation!, 1e-4)) {
        throw new SeriesError('mixed-orientation', `${where} has ImageOrientationPatient ${fmt(p.orientation)}, ${headers[0].name} ${fmt(geom.orientation!)}`);
      }
      if (!close(p.pixelSpacing, geom.pixelSpacing!, 1e-4)) {
        throw new SeriesError('mixed-size', `${where} has PixelSpacing ${fmt(p.pixelSpacing)}, ${headers[0].name} ${fmt(geom.pixelSpacing!)}`);
      }
      slices.push({ header: h, frame, position: p.position, d: dot(p.position, normal) });
    });
  }
  if (slices.length < 2) throw new SeriesError('single-slice', `series ${uid} has one slice (${headers[0].name}): not a volume`);
  slices.sort((a, b) => a.d - b.d);
  const gaps = slices.slice(1).map((s, k) => s.d - slices[k].d);
  const span = slices[slices.length - 1].d - slices[0].d;
  const mean = span / (slices.length - 1);
  const name = (s: Slice) => (s.header.info.frames > 1 ? `${s.header.name} frame ${s.frame + 1}` : s.header.name);
  const dup = gaps.findIndex((g) => g < 1e-3 * Math.max(1, Math.abs(mean)));
  if (dup >= 0) {
    const n = gaps.filter((g) => g < 1e-3 * Math.max(1, Math.abs(mean))).length;
    throw new SeriesError('duplicate-position', `${name(slices[dup])} and ${name(slices[dup + 1])} lie at the same position ${fmt(slices[dup].position)} (${n} duplicate positions in all; several acquisitions or echoes in one series?)`);
  }
  const worst = gaps.reduce((w, g, k) => (Math.abs(g - mean) > Math.abs(gaps[w] - mean) ? k : w), 0);
  if (Math.abs(gaps[worst] - mean) > Math.max(1e-3, 1e-2 * mean)) {
    const msg = `uneven slice spacing: ${+gaps[worst].toFixed(4)} mm between ${name(slices[worst])} and ${name(slices[worst + 1])}, ${+mean.toFixed(4)} mm on average (gaps from ${+Math.min(...gaps).toFixed(4)} to ${+Math.max(...gaps).toFixed(4)} mm)`;
    if (!opts.allowUnevenSpacing) throw new SeriesError('uneven-spacing', `${msg}; pass allowUnevenSpacing to place the slices on the mean step`);
    warnings.push(`${msg}: slices placed on the mean step`);
  }
  const p0 = slices[0].position, pn = slices[slices.length - 1].position;
  const step = [0, 1, 2].map((i) => (pn[i] - p0[i]) / (slices.length - 1));
  const drift = Math.hypot(...[0, 1, 2].map((i) => step[i] - mean * normal[i]));
  if (drift > 1e-3 * Math.max(1, mean)) warnings.push(`the slices are sheared (gantry tilt?): each is offset ${+drift.toFixed(4)} mm in-plane from the last; the affine keeps the shear`);

  const [cols, rows, n] = [first.columns, first.rows, slices.length];
  const data = new Float32Array(cols * rows * n);
  const byFile = new Map<Header, { frame: number; k: number }[]>();
  slices.forEach((s, k) => byFile.set(s.header, [...(byFile.get(s.header) ?? []), { frame: s.frame, k }]));
  for (const [h, frames] of byFile) {
    let img;
    try {
      img = await decodeDicom(h.bytes, { frames: frames.map((f) => f.frame) });
    } catch (e) {
      if (e instanceof DicomError) throw new DicomError(e.reason, `${h.name}: ${e.message}`, { cause: e });
      throw new DicomError('corrupt', `${h.name}: ${describe(e)}`, { cause: e });
    }
    frames.forEach(({ k }, i) => data.set(img.frames[i], k * cols * rows));
    h.bytes = new Uint8Array(0); // let the file go
  }

  // LPS voxel-to-world: column i along the row direction, row j along the column direction.
  const [dr, dc] = geom.pixelSpacing;
  const lps = [
    [rowDir[0] * dc, colDir[0] * dr, step[0], p0[0]],
    [rowDir[1] * dc, colDir[1] * dr, step[1], p0[1]],
    [rowDir[2] * dc, colDir[2] * dr, step[2], p0[2]],
  ];
  const affine = new Float64Array(16);
  lps.forEach((row, r) => row.forEach((v, c) => (affine[4 * r + c] = r < 2 ? -v : v))); // LPS → RAS
  affine[15] = 1;
  const norm = (c: number) => Math.hypot(affine[c], affine[4 + c], affine[8 + c]);
  return {
    dims: [cols, rows, n],
    data,
    affine,
    spacing: [norm(0), norm(1), norm(2)],
    modality: first.modality,
    window: first.window,
    invert: first.photometric === 'MONOCHROME1',
    warnings,
    source: {
      kind: 'dicom',
      studyInstanceUID: first.studyInstanceUID,
      seriesInstanceUID: uid,
      frameOfReferenceUID: first.frameOfReferenceUID,
      sopClassUID: first.sopClassUID,
      instances: slices.map((s) => ({ sopInstanceUID: s.header.info.sopInstanceUID, ...(s.header.info.frames > 1 ? { frame: s.frame + 1 } : {}) })),
      patient: first.patient,
      orientation: geom.orientation,
    },
  };
}
