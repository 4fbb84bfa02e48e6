// From values to the model's 8-bit RGB, as the training data was made. SAM-UNet was trained on
// SA-Med2D-16M, slices of CT/MR/… volumes made 8-bit by the SA-Med2D-20M pipeline (arXiv 2311.11969,
// which publishes no pre-processing code: OpenGVLab/SAM-Med2D has none); MedSAM's pre-processing,
// bowang-lab/MedSAM pre_CT_MR.py at d71e8a1, is the public code of that recipe and this follows it:
//   CT (L46-49, L97-104): clip to the window [L − W/2, L + W/2] (W400/L40 there), then scale the
//     clipped volume's own min..max to 0..255;
//   other modalities (L106-116): clip to the 0.5 and 99.5 percentiles of the voxels > 0, scale the
//     clipped volume's min..max to 0..255, and keep voxels that were 0 at 0;
//   then np.uint8 (L118): truncation toward zero. Grey is repeated to R, G and B (SAM's input).
// The clipped volume's min..max is the window itself whenever the volume reaches both ends (as
// every body CT does); it is computed here from the volume's min and max, so the result is the same
// as MedSAM's in every case. Statistics are taken over the whole volume (or the whole 2-D image),
// never per slice, as MedSAM does.

import type { RgbImage } from '../image/types.js';
import { ScanError } from './errors.js';

/** CT window presets (Hounsfield units; radiopaedia's values, as MedSAM cites). */
export const CT_WINDOWS = {
  abdomen: { center: 40, width: 400 },
  lung: { center: -600, width: 1500 },
  bone: { center: 400, width: 1800 },
  brain: { center: 40, width: 80 },
  mediastinum: { center: 50, width: 350 },
  liver: { center: 80, width: 150 },
} as const;
export type CtWindowName = keyof typeof CT_WINDOWS;

/**
 * How values become 8-bit: a preset name, an explicit window, the file's own window, the
 * 0.5–99.5 percentile rule, or 'auto' (CT: the abdomen window MedSAM used; other modalities: percentiles).
 */
export type WindowSpec = CtWindowName | { center: number; width: number } | 'file' | 'percentile' | 'auto';

/** Parses a CLI / UI window: a preset name, "W,L" (width, level), "file", "percentile" or "auto". */
export function parseWindow(text: string): WindowSpec {
  const t = text.trim().toLowerCase();
  if (t in CT_WINDOWS) return t as CtWindowName;
  if (t === 'file' || t === 'percentile' || t === 'auto') return t;
  const m = /^(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)$/.exec(t);
  if (m && Number(m[1]) > 0) return { width: Number(m[1]), center: Number(m[2]) };
  throw new RangeError(`window "${text}": expected ${Object.keys(CT_WINDOWS).join(', ')}, "W,L" (width > 0, level), file, percentile or auto`);
}

/** The linear map of values to 0..255 chosen for a volume (or image). */
export interface IntensityMap {
  /** The clip range. */
  lo: number;
  hi: number;
  /** The clipped data's own min and max (mapped to 0 and 255). */
  min: number;
  max: number;
  /** Voxels whose value is exactly 0 stay 0 (the percentile rule). */
  zeroStaysZero: boolean;
  /** MONOCHROME1: 255 − value. */
  invert: boolean;
  /** What was applied, for messages ("CT window W400/L40", "percentiles 0.5–99.5 of voxels > 0: 12–873"). */
  description: string;
}

interface Stats {
  min: number;
  max: number;
}

function minMax(values: Float32Array): Stats {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** Order-preserving 32-bit key of a float32. */
const keyOf = (bits: number) => (bits & 0x80000000 ? ~bits : bits | 0x80000000) >>> 0;

/**
 * The k-th smallest (0-based) of the values > 0, for each k: exact, in two passes (a histogram of
 * the keys' top 16 bits, then a sort of the candidates in the chosen buckets), without copying the data.
 */
function kthPositive(values: Float32Array, ks: number[]): number[] {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const hist = new Float64Array(65536);
  for (let i = 0; i < values.length; i++) if (values[i] > 0) hist[keyOf(bits[i]) >>> 16]++;
  const want = ks.map((k) => {
    let acc = 0;
    for (let b = 0; b < 65536; b++) {
      if (acc + hist[b] > k) return { bucket: b, rank: k - acc };
      acc += hist[b];
    }
    throw new RangeError(`rank ${k} is past the values`);
  });
  const buckets = new Map<number, number[]>();
  for (const w of want) buckets.set(w.bucket, []);
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] > 0)) continue;
    const list = buckets.get(keyOf(bits[i]) >>> 16);
    if (list) list.push(values[i]);
  }
  for (const list of buckets.values()) list.sort((a, b) => a - b);
  return want.map((w) => buckets.get(w.bucket)![w.rank]);
}

/** numpy.percentile (method 'linear') of the values > 0, for each p in 0..100. */
export function positivePercentiles(values: Float32Array, ps: readonly number[]): number[] {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > 0) n++;
  if (n === 0) return ps.map(() => NaN);
  const pos = ps.map((p) => ((n - 1) * p) / 100);
  const ks = [...new Set(pos.flatMap((x) => [Math.floor(x), Math.min(n - 1, Math.floor(x) + 1)]))];
  const vals = new Map(kthPositive(values, ks).map((v, i) => [ks[i], v]));
  return pos.map((x) => {
    const a = vals.get(Math.floor(x))!, b = vals.get(Math.min(n - 1, Math.floor(x) + 1))!;
    const t = x - Math.floor(x);
    const d = b - a;
    return t >= 0.5 ? b - d * (1 - t) : a + d * t; // numpy's _lerp
  });
}

/** Chooses the map for `values` (a whole volume or image) of `modality`. */
export function intensityMap(
  values: Float32Array,
  opts: { modality: string; window?: WindowSpec; fileWindow?: { center: number; width: number }; invert?: boolean },
): IntensityMap {
  const spec = opts.window ?? 'auto';
  const isCT = opts.modality.toUpperCase() === 'CT';
  const win = (w: { center: number; width: number }, what: string) => {
    if (!(w.width > 0) || !Number.isFinite(w.center)) throw new RangeError(`${what}: width must be > 0 and level finite`);
    return { lo: w.center - w.width / 2, hi: w.center + w.width / 2, zeroStaysZero: false, description: `${what} W${w.width}/L${w.center}` };
  };
  let r: { lo: number; hi: number; zeroStaysZero: boolean; description: string };
  if (spec === 'file') {
    if (!opts.fileWindow) throw new ScanError('unsupported-feature', 'the file has no WindowCenter / WindowWidth: choose a preset, "W,L" or percentile');
    r = win(opts.fileWindow, "the file's window");
  } else if (typeof spec === 'object') r = win(spec, 'window');
  else if (spec in CT_WINDOWS || (spec === 'auto' && isCT)) {
    const name = (spec === 'auto' ? 'abdomen' : spec) as CtWindowName;
    r = win(CT_WINDOWS[name], `CT ${name} window`);
  } else {
    // MedSAM pre_CT_MR.py L107-109: np.percentile(image_data[image_data > 0], 0.5 / 99.5)
    const [p0, p1] = positivePercentiles(values, [0.5, 99.5]);
    const [lo, hi] = Number.isNaN(p0) ? [0, 0] : [p0, p1];
    r = { lo, hi, zeroStaysZero: true, description: `percentiles 0.5–99.5 of the values > 0: ${+lo.toFixed(4)}–${+hi.toFixed(4)}` };
  }
  const s = minMax(values);
  // The clipped data's min and max (pre_CT_MR.py L101-103, L111-113).
  const min = Math.min(r.hi, Math.max(r.lo, s.min)), max = Math.max(r.lo, Math.min(r.hi, s.max));
  return { ...r, min, max, invert: !!opts.invert };
}

/** One value to 0..255 under the map (truncated like np.uint8). */
export function toByte(v: number, m: IntensityMap): number {
  if (m.zeroStaysZero && v === 0) return m.invert ? 255 : 0;
  const c = v < m.lo ? m.lo : v > m.hi ? m.hi : v;
  const b = m.max > m.min ? Math.floor(((c - m.min) / (m.max - m.min)) * 255) : 0;
  return m.invert ? 255 - b : b;
}

/** A grey slice (width × height values) as the model's RGB image. */
export function greyToRgb(values: Float32Array, width: number, height: number, m: IntensityMap): RgbImage {
  if (values.length !== width * height) throw new RangeError(`${values.length} values for a ${width}×${height} image`);
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < values.length; p++) data[3 * p] = data[3 * p + 1] = data[3 * p + 2] = toByte(values[p], m);
  return { width, height, data };
}

/** A colour image (RGB values 0..colorMax, interleaved) as 8-bit RGB. */
export function colorToRgb(values: Float32Array, width: number, height: number, colorMax: number): RgbImage {
  if (values.length !== width * height * 3) throw new RangeError(`${values.length} values for a ${width}×${height} RGB image`);
  const data = new Uint8Array(values.length);
  const s = 255 / colorMax;
  for (let i = 0; i < values.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(values[i] * s)));
  return { width, height, data };
}
