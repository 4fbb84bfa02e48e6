// A 2-D slice of a volume, in one documented display orientation: the radiological convention of
// PACS viewers and Cornerstone3D / OHIF (their default viewport orientations):
//   axial:    the patient's Right on the image's left, Anterior at the top (seen from the feet);
//   coronal:  Right on the left, Superior at the top (seen from the front);
//   sagittal: Anterior on the left, Superior at the top (seen from the patient's left).
// Each voxel axis is matched to the world (RAS) axis it runs closest to, as nibabel's
// io_orientation does; an oblique volume is shown along its nearest axes, without resampling. The
// slice index counts along the voxel axis the plane cuts (the file's order, 0-based: what
// nibabel's img.dataobj[..., k] or a DICOM series' k-th sorted slice is). Display pixel ↔ voxel
// mappings are exposed, so that a mask drawn on the slice goes back into the source grid.

import type { Affine, Volume } from './types.js';

export type SliceAxis = 'axial' | 'coronal' | 'sagittal';
export const SLICE_AXES: readonly SliceAxis[] = ['axial', 'coronal', 'sagittal'];

export interface SliceGeometry {
  axis: SliceAxis;
  /** Index along `fixed`, the voxel axis (0 = i, 1 = j, 2 = k) the plane cuts. */
  index: number;
  fixed: 0 | 1 | 2;
  /** Display x runs along voxel axis `x.axis`, reversed when `x.flip`; the same for y (down). */
  x: { axis: 0 | 1 | 2; flip: boolean };
  y: { axis: 0 | 1 | 2; flip: boolean };
  width: number;
  height: number;
  /** Millimetres per display pixel along x and y (from the volume's spacing; may differ). */
  pixelSpacing: [number, number];
}

/** For each world axis (R, A, S): the voxel axis closest to it, and whether the index grows toward +R/+A/+S. */
export function voxelAxesOf(affine: Affine): { axis: 0 | 1 | 2; positive: boolean }[] {
  const col = (c: number) => {
    const v = [affine[c], affine[4 + c], affine[8 + c]];
    const n = Math.hypot(...v) || 1;
    return v.map((x) => x / n);
  };
  const cols = [col(0), col(1), col(2)];
  const perms: [number, number, number][] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
  let best = perms[0], score = -1;
  for (const p of perms) {
    const s = p.reduce((a, vox, world) => a + Math.abs(cols[vox][world]), 0);
    if (s > score + 1e-12) [best, score] = [p, s];
  }
  return best.map((vox, world) => ({ axis: vox as 0 | 1 | 2, positive: cols[vox][world] >= 0 }));
}

/** Where slice `index` along `axis` lies, and how its pixels map to voxels. */
export function sliceGeometry(vol: Pick<Volume, 'dims' | 'affine' | 'spacing'>, axis: SliceAxis, index: number): SliceGeometry {
  const [R, A, S] = voxelAxesOf(vol.affine);
  // The voxel axis the plane cuts, and the display axes: x toward the patient's Left (axial,
  // coronal) or Posterior (sagittal), y downward toward Posterior (axial) or Inferior.
  const [fixed, xs, ys] = axis === 'axial' ? [S, R, A] : axis === 'coronal' ? [A, R, S] : [R, A, S];
  const n = vol.dims[fixed.axis];
  if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`${axis} slice ${index} is outside 0..${n - 1}`);
  return {
    axis, index, fixed: fixed.axis,
    x: { axis: xs.axis, flip: xs.positive },
    y: { axis: ys.axis, flip: ys.positive },
    width: vol.dims[xs.axis],
    height: vol.dims[ys.axis],
    pixelSpacing: [vol.spacing[xs.axis], vol.spacing[ys.axis]],
  };
}

/** Per axis: how many slices there are and their size in display pixels. */
export function sliceSizes(vol: Pick<Volume, 'dims' | 'affine' | 'spacing'>): Record<SliceAxis, { count: number; width: number; height: number }> {
  return Object.fromEntries(SLICE_AXES.map((a) => {
    const g = sliceGeometry(vol, a, 0);
    return [a, { count: vol.dims[g.fixed], width: g.width, height: g.height }];
  })) as Record<SliceAxis, { count: number; width: number; height: number }>;
}

/** The voxel (i, j, k) shown at display pixel (x, y). */
export function displayToVoxel(g: SliceGeometry, x: number, y: number): [number, number, number] {
  const v: [number, number, number] = [0, 0, 0];
  v[g.fixed] = g.index;
  v[g.x.axis] = g.x.flip ? g.width - 1 - x : x;
  v[g.y.axis] = g.y.flip ? g.height - 1 - y : y;
  return v;
}

/** The display pixel showing voxel (i, j, k), or null when the voxel is not on this slice. */
export function voxelToDisplay(g: SliceGeometry, v: readonly [number, number, number]): [number, number] | null {
  if (v[g.fixed] !== g.index) return null;
  const a = v[g.x.axis], b = v[g.y.axis];
  return [g.x.flip ? g.width - 1 - a : a, g.y.flip ? g.height - 1 - b : b];
}

/** Strides of voxel axes i, j, k in the data (i fastest). */
const strides = (dims: readonly number[]) => [1, dims[0], dims[0] * dims[1]];

/** The slice's values (of the scan, or of a label map on its grid), row-major (width × height). */
export function extractSlice(vol: { readonly dims: Volume['dims']; readonly data: ArrayLike<number> }, g: SliceGeometry): Float32Array {
  const st = strides(vol.dims);
  const out = new Float32Array(g.width * g.height);
  const base = g.index * st[g.fixed];
  const sx = g.x.flip ? -st[g.x.axis] : st[g.x.axis], x0 = g.x.flip ? (g.width - 1) * st[g.x.axis] : 0;
  const sy = g.y.flip ? -st[g.y.axis] : st[g.y.axis], y0 = g.y.flip ? (g.height - 1) * st[g.y.axis] : 0;
  for (let y = 0, o = 0; y < g.height; y++) {
    const row = base + y0 + y * sy + x0;
    for (let x = 0; x < g.width; x++) out[o++] = vol.data[row + x * sx];
  }
  return out;
}

/** Writes a display-oriented mask (width × height, non-zero = inside) into a label volume on the source grid. */
export function writeSliceMask(labels: Uint8Array | Uint16Array, dims: readonly [number, number, number], g: SliceGeometry, mask: Uint8Array, value = 1): void {
  if (labels.length !== dims[0] * dims[1] * dims[2]) throw new RangeError(`labels hold ${labels.length} voxels, dims ${dims.join('×')} need ${dims[0] * dims[1] * dims[2]}`);
  if (mask.length !== g.width * g.height) throw new RangeError(`mask holds ${mask.length} pixels, the slice is ${g.width}×${g.height}`);
  const st = strides(dims);
  for (let y = 0, p = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++, p++) {
      if (!mask[p]) continue;
      const v = displayToVoxel(g, x, y);
      labels[v[0] * st[0] + v[1] * st[1] + v[2] * st[2]] = value;
    }
  }
}
