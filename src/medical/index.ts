// Medical scans for the model: DICOM files and series and NIfTI volumes read into values
// (dicom/, nifti.ts), a slice of a volume in the display orientation (../volume/slice.ts), and
// values made into the model's 8-bit RGB as its training data was (window.ts).

import type { RgbImage } from '../image/types.js';
import { extractSlice, sliceGeometry, type SliceAxis, type SliceGeometry } from '../volume/slice.js';
import type { Volume } from '../volume/types.js';
import { decodeDicom, type DicomImage } from './dicom/image.js';
import { readDicomSeries, type DicomSource, type ReadSeriesOptions } from './dicom/series.js';
import { looksLikeNifti, readNifti, type ReadNiftiOptions } from './nifti.js';
import { colorToRgb, greyToRgb, intensityMap, type IntensityMap, type WindowSpec } from './window.js';

const maps = new WeakMap<object, Map<string, IntensityMap>>();

/** The intensity map of a whole volume under `window` (computed once per volume and window). */
export function volumeIntensityMap(vol: Volume, window: WindowSpec = 'auto'): IntensityMap {
  const key = JSON.stringify(window);
  let m = maps.get(vol);
  if (!m) maps.set(vol, (m = new Map()));
  let map = m.get(key);
  if (!map) {
    map = intensityMap(vol.data, { modality: vol.modality, window, fileWindow: vol.window, invert: vol.invert });
    m.set(key, map);
  }
  return map;
}

export interface VolumeSliceImage {
  image: RgbImage;
  geometry: SliceGeometry;
  map: IntensityMap;
}

/** Slice `index` (default: the middle) along `axis` (default axial) as the model's RGB input. */
export function volumeSliceToRgb(vol: Volume, opts: { axis?: SliceAxis; index?: number; window?: WindowSpec } = {}): VolumeSliceImage {
  const axis = opts.axis ?? 'axial';
  const probe = sliceGeometry(vol, axis, 0);
  const geometry = opts.index === undefined ? sliceGeometry(vol, axis, Math.floor(vol.dims[probe.fixed] / 2)) : sliceGeometry(vol, axis, opts.index);
  const map = volumeIntensityMap(vol, opts.window);
  return { image: greyToRgb(extractSlice(vol, geometry), geometry.width, geometry.height, map), geometry, map };
}

/** Frame `frame` of a decoded DICOM image as the model's RGB input (grey: statistics over all frames). */
export function dicomImageToRgb(img: DicomImage, opts: { frame?: number; window?: WindowSpec } = {}): { image: RgbImage; map?: IntensityMap } {
  const f = opts.frame ?? 0;
  const values = img.frames[f];
  if (!values) throw new RangeError(`frame ${f} is outside 0..${img.frames.length - 1}`);
  const { rows, columns } = img.info;
  if (img.channels === 3) return { image: colorToRgb(values, columns, rows, img.colorMax!) };
  let all = values;
  if (img.frames.length > 1) {
    all = new Float32Array(values.length * img.frames.length);
    img.frames.forEach((fr, k) => all.set(fr, k * values.length));
  }
  const map = intensityMap(all, { modality: img.info.modality, window: opts.window, fileWindow: img.info.window, invert: img.invert });
  return { image: greyToRgb(values, columns, rows, map), map };
}

/** What a set of files opened as: a volume (a series, a NIfTI file) or one 2-D DICOM image. */
export type Scan = { kind: 'volume'; volume: Volume } | { kind: 'image'; image: DicomImage };

const nameOf = (s: DicomSource) => ('name' in s && typeof s.name === 'string' ? s.name : '');
async function bytesOf(s: DicomSource): Promise<Uint8Array> {
  return typeof Blob !== 'undefined' && s instanceof Blob ? new Uint8Array(await s.arrayBuffer()) : (s as { bytes: Uint8Array }).bytes;
}

/**
 * Opens what a user gave: one NIfTI file (.nii / .nii.gz), one DICOM file (a 2-D image, or a
 * multi-frame file with per-frame positions, read as a volume), or several DICOM files (a series).
 */
export async function openScan(sources: readonly DicomSource[], opts: ReadSeriesOptions & ReadNiftiOptions = {}): Promise<Scan> {
  if (sources.length === 1) {
    const bytes = await bytesOf(sources[0]);
    if (/\.nii(\.gz)?$/i.test(nameOf(sources[0])) || looksLikeNifti(bytes)) return { kind: 'volume', volume: readNifti(bytes, opts) };
    const image = await decodeDicom(bytes);
    const geo = image.info.planes;
    if (image.info.frames > 1 && image.channels === 1 && geo.every((p) => p.position && p.orientation && p.pixelSpacing)) {
      return { kind: 'volume', volume: await readDicomSeries([{ name: nameOf(sources[0]) || 'file', bytes }], opts) };
    }
    return { kind: 'image', image };
  }
  return { kind: 'volume', volume: await readDicomSeries(sources, opts) };
}

export { decodeDicom, type DicomImage, type DecodeDicomOptions } from './dicom/image.js';
export { listDicomSeries, readDicomSeries, type DicomSource, type ReadSeriesOptions, type SeriesSummary } from './dicom/series.js';
export { setCodecWasmLocation } from './dicom/codecs.js';
export { TRANSFER_SYNTAXES, syntaxName, type TransferSyntax } from './dicom/syntax.js';
export type { DicomImageInfo, FramePlane, Photometric } from './dicom/info.js';
export { readNifti, looksLikeNifti, type ReadNiftiOptions } from './nifti.js';
export { CT_WINDOWS, parseWindow, intensityMap, positivePercentiles, greyToRgb, colorToRgb, type WindowSpec, type IntensityMap, type CtWindowName } from './window.js';
export { ScanError, DicomError, NiftiError, SeriesError, type ScanFailure, type SeriesProblem } from './errors.js';
export { sliceGeometry, extractSlice, displayToVoxel, voxelToDisplay, writeSliceMask, voxelAxesOf, SLICE_AXES, type SliceAxis, type SliceGeometry } from '../volume/slice.js';
