// Block-quantised int8 weights in safetensors ("q8_0", as ggml's): a quarter of the f32 download.
//
// The convention (writable from Python with numpy alone):
// - A quantised tensor `<key>` is stored as two tensors: `<key>` with dtype I8 and the tensor's own
//   shape, and `<key>.q8_scales` with dtype F16 and shape [rows, blocks].
// - rows = shape[0] (a Linear's out_features, a Conv2d's out_channels, a ConvTranspose2d's
//   in_channels); each row's remaining values, flattened in row-major order (K = numel / rows:
//   in_features, or C·kh·kw), are cut into blocks of 32 (the last one shorter when K % 32 != 0):
//   blocks = ceil(K / 32).
// - Per block: d = float16(max|x| / 127) (0 for a block of zeros), q = round(x / d) with halves
//   away from zero, clamped to [-127, 127]; the value read back is q · d (float32). A NaN or an
//   infinite value is an error when quantising.
// - The __metadata__ of a file written by `sam-unet convert --dtype q8` says
//   "quantization": "q8_0 (blocks of 32 along each row, F16 scales in <key>.q8_scales)".
// Which tensors: every float tensor of 2 or more dimensions and at least 4096 values, except the
// ViT's positional embedding and relative-position tables (added to activations and read by index,
// where a block error lands unaveraged on one position), and the prompt encoder's Gaussian
// positional matrix (it scales coordinates). 1-D tensors (biases, norms, BatchNorm statistics)
// and small ones stay as they are: a few hundred kB in all.
// The loader dequantises each tensor as it arrives (here, one tensor in memory at a time) and
// uploads it as the precision asks (f32, or f16 weights): the GPU holds what it would for an f32
// file; the download and the disk are what shrink.
import { f16ArrayToF32, f32ArrayToF16 } from '../safetensors/half.js';
import { WeightError, type EntryInfo } from './source.js';

export const Q8_BLOCK = 32;
export const Q8_SCALES_SUFFIX = '.q8_scales';
export const Q8_METADATA = 'q8_0 (blocks of 32 along each row, F16 scales in <key>.q8_scales)';

const rowsAndK = (shape: readonly number[]) => {
  const rows = shape[0] ?? 1;
  const n = shape.reduce((a, b) => a * b, 1);
  return { rows, K: rows ? n / rows : 0 };
};

/** Whether `convert --dtype q8` quantises this tensor (see the header). */
export function q8Eligible(key: string, shape: readonly number[]): boolean {
  const n = shape.reduce((a, b) => a * b, 1);
  return shape.length >= 2 && n >= 4096 && !/(^|\.)(pos_embed|rel_pos_[hw]|positional_encoding_gaussian_matrix)$/.test(key);
}

/** Quantises `values` (of `shape`) to int8 and float16 scales as the convention says. */
export function quantizeQ8(key: string, values: Float32Array, shape: readonly number[]): { q: Int8Array; scales: Uint16Array; scaleShape: [number, number] } {
  const { rows, K } = rowsAndK(shape);
  const nb = Math.ceil(K / Q8_BLOCK);
  const q = new Int8Array(values.length);
  const d = new Float32Array(rows * nb);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const lo = r * K + b * Q8_BLOCK, hi = Math.min(lo + Q8_BLOCK, (r + 1) * K);
      let amax = 0;
      for (let i = lo; i < hi; i++) {
        const v = values[i]!;
        if (!Number.isFinite(v)) throw new WeightError(`weight '${key}' holds ${v} at flat index ${i}: it cannot be quantised`);
        amax = Math.max(amax, Math.abs(v));
      }
      d[r * nb + b] = amax / 127;
    }
  }
  const scales = new Uint16Array(d.length);
  f32ArrayToF16(d, scales);
  const dr = f16ArrayToF32(scales); // the scales as stored: q is computed against them
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const s = dr[r * nb + b]!;
      const lo = r * K + b * Q8_BLOCK, hi = Math.min(lo + Q8_BLOCK, (r + 1) * K);
      for (let i = lo; i < hi; i++) {
        const x = s ? values[i]! / s : 0;
        q[i] = Math.max(-127, Math.min(127, Math.sign(x) * Math.round(Math.abs(x))));
      }
    }
  }
  return { q, scales, scaleShape: [rows, nb] };
}

/** q · d per block, as float32; the scales' shape must be [rows, ceil(K / 32)]. */
export function dequantizeQ8(key: string, q: Int8Array, scales: Float32Array, shape: readonly number[]): Float32Array {
  const { rows, K } = rowsAndK(shape);
  const nb = Math.ceil(K / Q8_BLOCK);
  if (q.length !== rows * K) throw new WeightError(`q8 weight '${key}': ${q.length} int8 values for shape [${shape}]`);
  if (scales.length !== rows * nb) throw new WeightError(`q8 weight '${key}': ${scales.length} scales, [${rows}, ${nb}] expected for shape [${shape}] in blocks of ${Q8_BLOCK}`);
  const out = new Float32Array(q.length);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const s = scales[r * nb + b]!;
      if (!Number.isFinite(s)) throw new WeightError(`q8 weight '${key}': scale ${s} at row ${r}, block ${b}`);
      const lo = r * K + b * Q8_BLOCK, hi = Math.min(lo + Q8_BLOCK, (r + 1) * K);
      for (let i = lo; i < hi; i++) out[i] = q[i]! * s;
    }
  }
  return out;
}

/**
 * The q8 tensors of a source: key → its scales' key, for each I8 tensor whose `<key>.q8_scales` is
 * an F16 tensor of the right shape. An I8 tensor whose scales are missing or misshapen is an error
 * naming both.
 */
export function q8Pairs(entries: ReadonlyMap<string, EntryInfo>): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const [key, e] of entries) {
    if (e.dtype !== 'I8') continue;
    const sk = key + Q8_SCALES_SUFFIX;
    const s = entries.get(sk);
    if (!s) {
      if (entries.size && [...entries.keys()].some((k) => k.endsWith(Q8_SCALES_SUFFIX))) throw new WeightError(`q8 weight '${key}' has no scales tensor '${sk}'`);
      continue; // not a q8 file: the loader names the int8 tensor if the model needs it
    }
    const { rows, K } = rowsAndK(e.shape);
    const want = [rows, Math.ceil(K / Q8_BLOCK)];
    if (s.dtype !== 'F16' || s.shape.join() !== want.join()) {
      throw new WeightError(`q8 scales '${sk}' are ${s.dtype} [${s.shape}]; F16 [${want}] expected for '${key}' [${e.shape}]`);
    }
    pairs.set(key, sk);
  }
  return pairs;
}

/** The entries a loader sees: each q8 tensor as dtype 'Q8_0' of its shape, the scales hidden. */
export function q8Entries(entries: ReadonlyMap<string, EntryInfo>, pairs: ReadonlyMap<string, string>): Map<string, EntryInfo> {
  if (!pairs.size) return new Map(entries);
  const scaleKeys = new Set(pairs.values());
  const out = new Map<string, EntryInfo>();
  for (const [k, e] of entries) {
    if (scaleKeys.has(k)) continue;
    out.set(k, pairs.has(k) ? { dtype: 'Q8_0', shape: e.shape } : e);
  }
  return out;
}
