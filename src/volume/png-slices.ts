// The fallback output: one PNG per slice of a label map, for tools and people without a NIfTI or
// DICOM viewer. Pixel (x, y) of slice k is voxel (i = x, j = y, k), the grid as stored (no
// reorientation). 'values' writes the labels themselves as 8-bit grey (exact, for tools: 0
// background, 1, 2, … look black); 'color' paints each label in its colour for the eye.
import { encodePng } from '../image/png.js';
import { checkLabels, labelColor, LabelMapError, type Labels } from './labels.js';
import type { Volume } from './types.js';

export interface PngSlicesOptions {
  /** 'values' (default): 8-bit grey label values; 'color': RGB, each label in labelColor(label). */
  style?: 'values' | 'color';
}

/** PNG bytes for every slice k = 0 … nk − 1 (name them e.g. `slice-${String(k).padStart(4, '0')}.png`). */
export function labelSlicesPng(labels: Labels, ref: Pick<Volume, 'dims' | 'affine'>, opts: PngSlicesOptions = {}): Uint8Array[] {
  const { dims: [ni, nj, nk], max } = checkLabels(labels, ref);
  const style = opts.style ?? 'values';
  if (style !== 'values' && style !== 'color') throw new LabelMapError(`style must be 'values' or 'color', got ${JSON.stringify(style)}`);
  if (style === 'values' && max > 255) throw new LabelMapError(`label ${max} does not fit an 8-bit PNG: use style 'color', or NIfTI`);
  const n = ni * nj;
  return Array.from({ length: nk }, (_, k) => {
    const slice = labels.subarray(k * n, (k + 1) * n);
    if (style === 'values') return encodePng(ni, nj, Uint8Array.from(slice), 1);
    const rgb = new Uint8Array(3 * n);
    for (let p = 0; p < n; p++) if (slice[p]) rgb.set(labelColor(slice[p]!), 3 * p);
    return encodePng(ni, nj, rgb, 3);
  });
}
