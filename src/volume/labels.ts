// Label maps: one label per voxel of a Volume's grid, in its index order (i fastest), 0 for
// background. What volume segmentation produces and the NIfTI / DICOM SEG / PNG writers take.
import type { Volume } from './types.js';

/** Labels per voxel; uint16 when there are more than 255 labels. */
export type Labels = Uint8Array | Uint16Array;

/** A label map the writers cannot write as given; the message says why. */
export class LabelMapError extends Error {
  override name = 'LabelMapError';
}

/** Checks `labels` against the volume's grid and affine; returns the dims and the largest label. */
export function checkLabels(labels: Labels, ref: Pick<Volume, 'dims' | 'affine'>): { dims: [number, number, number]; max: number } {
  const dims = ref?.dims;
  if (!Array.isArray(dims) || dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new LabelMapError(`dims must be three positive integers, got ${JSON.stringify(dims)}`);
  }
  if (!(labels instanceof Uint8Array) && !(labels instanceof Uint16Array)) {
    throw new LabelMapError(`labels must be a Uint8Array or Uint16Array, got ${Object.prototype.toString.call(labels)}`);
  }
  const n = dims[0] * dims[1] * dims[2];
  if (labels.length !== n) throw new LabelMapError(`${labels.length} labels for a ${dims.join('×')} volume, which has ${n} voxels`);
  const a = ref.affine;
  if (!(a instanceof Float64Array) || a.length !== 16 || !a.every(Number.isFinite)) throw new LabelMapError('affine must be a Float64Array of 16 finite values (4×4, row-major)');
  if (a[12] !== 0 || a[13] !== 0 || a[14] !== 0 || a[15] !== 1) throw new LabelMapError(`affine's last row must be [0, 0, 0, 1], got [${[...a.subarray(12)]}]`);
  let max = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > max) max = labels[i]!;
  return { dims: [dims[0], dims[1], dims[2]], max };
}

/** Distinct colours for labels 1, 2, … (repeating after 8); sRGB 0–255. */
export const LABEL_COLORS: readonly (readonly [number, number, number])[] = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230],
];

/** The display colour of label `label` ≥ 1. */
export function labelColor(label: number): readonly [number, number, number] {
  return LABEL_COLORS[(label - 1) % LABEL_COLORS.length]!;
}
