// What the CLI's `segment`, `volume` and `info` read: a PNG or JPEG image, one DICOM file (2-D or
// multi-frame), a folder of DICOM files (a series) or a NIfTI volume, made into the model's RGB the
// way src/medical/window.ts documents. Coordinates given on the command line are pixels of the
// image the model sees: for a volume, of the slice in the display orientation of
// src/volume/slice.ts (radiological: the patient's right on the image's left).
import { readFile, stat } from 'node:fs/promises';
import { decodeImage } from '../image/decode.js';
import type { RgbImage } from '../image/types.js';
import { dicomImageToRgb, parseWindow, volumeSliceToRgb, type WindowSpec } from '../medical/index.js';
import { SLICE_AXES, sliceSizes, type SliceAxis, type SliceGeometry } from '../volume/slice.js';
import type { Volume } from '../volume/types.js';
import { openScanPath } from './medical.js';

/** Thrown for an option that does not fit the input (a slice outside the volume, a bad axis, …). */
export class ScanInputError extends Error {
  override name = 'ScanInputError';
}

export interface ScanInputOptions {
  /** --window: a CT preset, "W,L", file, percentile or auto (default auto). */
  window?: string;
  /** --slice: for a volume, the slice index along `axis` (default: the middle one). */
  slice?: string;
  /** --axis: axial (default), coronal or sagittal. */
  axis?: string;
  /** --frame: for a 2-D multi-frame DICOM file (default 0). */
  frame?: string;
  /** --series: the SeriesInstanceUID to read from a folder holding several. */
  series?: string;
}

export interface SegmentInput {
  image: RgbImage;
  /** One line saying what was read (printed by the CLI). */
  summary: string;
  /** For a volume: the volume and where the slice lies in it. */
  volume?: Volume;
  geometry?: SliceGeometry;
}

const isPng = (b: Uint8Array) => b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

function integer(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n)) throw new ScanInputError(`${what} must be a whole number >= 0, got '${text}'`);
  return n;
}

export function parseAxis(text: string | undefined): SliceAxis {
  if (text === undefined) return 'axial';
  if (!(SLICE_AXES as readonly string[]).includes(text)) throw new ScanInputError(`--axis must be ${SLICE_AXES.join(', ')}, got '${text}'`);
  return text as SliceAxis;
}

export function parseWindowOption(text: string | undefined): WindowSpec {
  if (text === undefined) return 'auto';
  try {
    return parseWindow(text);
  } catch (e) {
    throw new ScanInputError(`--window: ${(e as Error).message}`);
  }
}

/** The number of slices along `axis`. */
export function sliceCount(vol: Volume, axis: SliceAxis): number {
  return sliceSizes(vol)[axis].count;
}

/** A volume at `path` (a DICOM folder or series file, a NIfTI file); an image is an error here. */
export async function openVolumePath(path: string, series?: string): Promise<Volume> {
  const scan = await openScanPath(path, { seriesInstanceUID: series });
  if (scan.kind !== 'volume') throw new ScanInputError(`${path} is one 2-D DICOM image, not a volume: give a folder of the series' files, or use \`segment\``);
  return scan.volume;
}

/** Reads `path` and returns the RGB image the model segments, with where it came from. */
export async function readSegmentInput(path: string, opts: ScanInputOptions = {}): Promise<SegmentInput> {
  const window = parseWindowOption(opts.window);
  const isDir = (await stat(path)).isDirectory();
  const bytes = isDir ? undefined : new Uint8Array(await readFile(path));
  if (bytes && (isPng(bytes) || isJpeg(bytes))) {
    for (const [k, v] of Object.entries(opts)) if (v !== undefined) throw new ScanInputError(`--${k} applies to DICOM and NIfTI input; ${path} is a ${isPng(bytes) ? 'PNG' : 'JPEG'} image`);
    const image = decodeImage(bytes);
    return { image, summary: `${path}: ${image.width}×${image.height} image` };
  }
  const scan = await openScanPath(path, { seriesInstanceUID: opts.series });
  if (scan.kind === 'image') {
    if (opts.slice !== undefined || opts.axis !== undefined) throw new ScanInputError(`--slice and --axis apply to volumes; ${path} is one 2-D DICOM image (use --frame for its frames)`);
    const img = scan.image;
    const frame = integer(opts.frame, '--frame') ?? 0;
    if (frame >= img.frames.length) throw new ScanInputError(`--frame ${frame} is outside 0..${img.frames.length - 1} (${path} has ${img.frames.length} frame(s))`);
    const { image, map } = dicomImageToRgb(img, { frame, window });
    const how = map ? `, ${map.description}` : '';
    return { image, summary: `${path}: DICOM ${img.info.modality} ${img.info.columns}×${img.info.rows}, frame ${frame} of ${img.frames.length}${how}` };
  }
  if (opts.frame !== undefined) throw new ScanInputError(`--frame applies to a 2-D multi-frame DICOM file; ${path} is a volume (use --slice and --axis)`);
  const volume = scan.volume;
  const axis = parseAxis(opts.axis);
  const n = sliceCount(volume, axis);
  const index = integer(opts.slice, '--slice') ?? Math.floor(n / 2);
  if (index >= n) throw new ScanInputError(`--slice ${index} is outside 0..${n - 1} (${n} ${axis} slices in ${path})`);
  const s = volumeSliceToRgb(volume, { axis, index, window });
  const how = `, ${s.map.description}`;
  return {
    image: s.image,
    volume,
    geometry: s.geometry,
    summary: `${path}: ${volume.modality} volume ${volume.dims.join('×')}, ${axis} slice ${index} of 0..${n - 1} (${s.geometry.width}×${s.geometry.height})${how}`,
  };
}

/** What a scan is, for `sam-unet info SCAN`: kind, modality, grid, spacing, orientation, window. */
export async function describeScanPath(path: string, series?: string): Promise<Record<string, unknown>> {
  const scan = await openScanPath(path, { seriesInstanceUID: series });
  if (scan.kind === 'image') {
    const i = scan.image.info;
    return {
      kind: 'DICOM image', modality: i.modality, columns: i.columns, rows: i.rows, frames: i.frames,
      photometric: i.photometric, bitsStored: i.bitsStored, signed: i.signed, window: i.window ?? null,
      seriesInstanceUID: i.seriesInstanceUID,
    };
  }
  const v = scan.volume;
  const slices = sliceSizes(v);
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return {
    kind: v.source.kind === 'dicom' ? 'DICOM series' : `NIfTI-${v.source.version}`,
    modality: v.modality,
    dims: v.dims,
    spacing: v.spacing.map(r),
    affine: Array.from({ length: 4 }, (_, i) => Array.from(v.affine.slice(4 * i, 4 * i + 4), r)),
    slices,
    window: v.window ?? null,
    ...(v.source.kind === 'dicom' ? { seriesInstanceUID: v.source.seriesInstanceUID } : { affineFrom: v.source.affineFrom }),
    warnings: v.warnings ?? [],
  };
}
