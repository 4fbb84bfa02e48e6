// A whole organ in a whole scan: prompts on one or more key slices spread up and down the volume,
// each next slice prompted by the previous slice's result, until the mask vanishes.
//
// Per label, the key slices split the volume into territories: a slice belongs to its nearest key
// slice (a tie goes to the lower key). From each key slice the mask spreads toward both ends of its
// territory, and stops early on the first slice whose mask has fewer than `minArea` pixels (that
// slice is left empty). A slice's next neighbour is prompted, by `strategy`, with:
//   'box'       the bounding box of the mask, widened by `margin` pixels on every side (default);
//   'mask'      its 64×64 low-resolution logits as the mask prompt, with one foreground point at
//               the mask pixel nearest its centroid (a prompt set needs a box or a point);
//   'box+mask'  both the box and the logits.
// 'box' is the default: it is how MedSAM's and LiteMedSAM's 3-D inference propagate a box from the
// middle slice outward, and SAM's mask input was trained as a refinement of the *same* image's
// previous prediction, not a neighbour's. With the synthetic weights of this repository the
// strategies' quality cannot be compared; bench/propagation-quality.mjs does it with trained
// weights and a labelled volume.
//
// Every slice is encoded once (an EmbeddingStore: GPU, then CPU, least recently used out); labels
// prompted on the same slice are decoded together. A correction (`previous` + prompts on any slice)
// re-decodes only the territory of the corrected slice for the labels it names; every other slice
// keeps its result. Where labels overlap, the higher label wins.

import type { RgbImage } from '../image/types.js';
import { volumeSliceToRgb } from '../medical/index.js';
import type { WindowSpec } from '../medical/window.js';
import type { Box, Point, PromptSet } from '../model/prompts.js';
import { MAX_DECODE_BATCH, SamUnet, type DecodeResult } from '../model/sam_unet.js';
import { EmbeddingStore } from './embedding-store.js';
import { sliceGeometry, writeSliceMask, type SliceAxis, type SliceGeometry } from './slice.js';
import type { Volume } from './types.js';

/** Prompts for one object (`label`, 1…65535) on one key slice, in that slice's display pixels. */
export interface VolumePrompt {
  slice: number;
  label: number;
  box?: Box;
  points?: readonly Point[];
}

export type PropagationStrategy = 'box' | 'mask' | 'box+mask';
export const PROPAGATION_STRATEGIES: readonly PropagationStrategy[] = ['box', 'mask', 'box+mask'];

/** What one slice of one label was prompted with, and what came out. */
export interface SliceRecord {
  slice: number;
  label: number;
  /** The key slice this result spread from (itself for a key slice). */
  from: number;
  box?: Box;
  points?: readonly Point[];
  /** The slice whose low-resolution logits were the mask prompt. */
  maskFrom?: number;
  /** Mask pixels (logit > 0). */
  area: number;
  /** 64×64 low-resolution logits (the next slice's mask prompt). */
  lowResLogits: Float32Array;
  /** width × height, 1 inside (display orientation); null once the mask vanished (area < minArea). */
  mask: Uint8Array | null;
}

export interface SliceProgress {
  slice: number;
  label: number;
  /** Slice decodes done and the most there can be (chains may stop early). */
  done: number;
  total: number;
  area: number;
  elapsedMs: number;
}

/** What segmentVolume needs of a model (SamUnet has it; tests may pass their own). */
export interface SliceSegmenter<E extends { destroy(): void } = { destroy(): void }> {
  encode(image: RgbImage): Promise<E>;
  decode(emb: E, sets: readonly PromptSet[]): Promise<DecodeResult>;
}

export interface SegmentVolumeOptions {
  axis?: SliceAxis;
  window?: WindowSpec;
  strategy?: PropagationStrategy;
  /** Pixels added on each side of the previous mask's bounding box (default 5). */
  margin?: number;
  /** A mask with fewer pixels counts as vanished: propagation stops there (default 1). */
  minArea?: number;
  /** Where embeddings are kept (SamUnet only); default: one made for this call and destroyed after it. */
  store?: EmbeddingStore;
  signal?: AbortSignal;
  onProgress?: (p: SliceProgress) => void;
  /** A correction: this earlier result is kept except where the new prompts' slices take over. */
  previous?: VolumeSegmentation;
}

export interface VolumeSegmentation {
  axis: SliceAxis;
  strategy: PropagationStrategy;
  dims: readonly [number, number, number];
  /** The label per voxel on the volume's grid (Uint16Array when a label exceeds 255). */
  labels: Uint8Array | Uint16Array;
  /** Per label, per slice that was decoded: its record (slices without one were not reached). */
  records: Map<number, Map<number, SliceRecord>>;
  /** Per label, the key slices' prompts (a correction adds to them). */
  keys: Map<number, Map<number, VolumePrompt>>;
  /** Slices encoded and slice decodes run by this call. */
  encodes: number;
  decodes: number;
}

export class VolumePromptError extends Error {
  override name = 'VolumePromptError';
}

/** The bounding box of a mask widened by `margin`, clipped to the image; null for an empty mask. */
export function maskBox(mask: Uint8Array, width: number, height: number, margin: number): Box | null {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p++) {
      if (!mask[p]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (x1 < 0) return null;
  return [Math.max(0, x0 - margin), Math.max(0, y0 - margin), Math.min(width, x1 + 1 + margin), Math.min(height, y1 + 1 + margin)];
}

/** The mask pixel nearest the mask's centroid (pixel centre), or null for an empty mask. */
export function interiorPoint(mask: Uint8Array, width: number): Point | null {
  let sx = 0, sy = 0, n = 0;
  for (let p = 0; p < mask.length; p++) if (mask[p]) (sx += p % width), (sy += Math.floor(p / width)), n++;
  if (!n) return null;
  const cx = sx / n, cy = sy / n;
  let best = -1, bestD = Infinity;
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    const d = (p % width - cx) ** 2 + (Math.floor(p / width) - cy) ** 2;
    if (d < bestD) (bestD = d), (best = p);
  }
  return [(best % width) + 0.5, Math.floor(best / width) + 0.5, 1];
}

function checkPrompts(prompts: readonly VolumePrompt[], slices: number, g: SliceGeometry): void {
  prompts.forEach((p, i) => {
    const at = `prompts[${i}]`;
    if (!Number.isInteger(p.slice) || p.slice < 0 || p.slice >= slices) throw new VolumePromptError(`${at}: slice ${p.slice} is outside 0..${slices - 1} (${g.axis})`);
    if (!Number.isInteger(p.label) || p.label < 1 || p.label > 65535) throw new VolumePromptError(`${at}: label ${p.label} must be a whole number in 1..65535`);
    if (!p.box && !p.points?.length) throw new VolumePromptError(`${at}: a key slice needs a box or at least one point`);
  });
  const seen = new Set<string>();
  for (const p of prompts) {
    const k = `${p.label}@${p.slice}`;
    if (seen.has(k)) throw new VolumePromptError(`label ${p.label} has two prompts on slice ${p.slice}: give one (with its box and points together)`);
    seen.add(k);
  }
}

/** The slices whose nearest key is `k` (ties to the lower key), within 0..n-1. */
function territory(keys: readonly number[], k: number, n: number): [number, number] {
  const i = keys.indexOf(k);
  const lo = i > 0 ? Math.floor((keys[i - 1]! + k) / 2) + 1 : 0;
  const hi = i < keys.length - 1 ? Math.floor((k + keys[i + 1]!) / 2) : n - 1;
  return [lo, hi];
}

interface Chain {
  label: number;
  key: number;
  /** +1 up, −1 down; the next slice to decode and the last one this chain may reach. */
  dir: 1 | -1;
  next: number;
  end: number;
}

function abortIfAsked(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('segmentVolume was aborted', 'AbortError');
}

/**
 * Segments `volume` from prompts on key slices. Slices count along `axis` (default axial) in the
 * documented display orientation (src/volume/slice.ts); boxes and points are that slice's display
 * pixels. Resolves with the label map on the volume's grid and what each slice was prompted with.
 */
export async function segmentVolume<E extends { destroy(): void }>(
  model: SamUnet | SliceSegmenter<E>,
  volume: Volume,
  prompts: readonly VolumePrompt[],
  opts: SegmentVolumeOptions = {},
): Promise<VolumeSegmentation> {
  const axis = opts.axis ?? opts.previous?.axis ?? 'axial';
  const strategy = opts.strategy ?? opts.previous?.strategy ?? 'box';
  if (!PROPAGATION_STRATEGIES.includes(strategy)) throw new VolumePromptError(`strategy must be ${PROPAGATION_STRATEGIES.join(', ')}, got '${strategy}'`);
  const margin = opts.margin ?? 5;
  const minArea = opts.minArea ?? 1;
  if (!(margin >= 0) || !Number.isFinite(margin)) throw new VolumePromptError(`margin must be a finite number >= 0, got ${margin}`);
  if (!(minArea >= 1) || !Number.isFinite(minArea)) throw new VolumePromptError(`minArea must be a finite number >= 1, got ${minArea}`);
  const g0 = sliceGeometry(volume, axis, 0);
  const n = volume.dims[g0.fixed];
  if (!prompts.length && !opts.previous) throw new VolumePromptError('segmentVolume needs at least one prompt');
  checkPrompts(prompts, n, g0);
  const prev = opts.previous;
  if (prev && (prev.axis !== axis || prev.dims.join() !== volume.dims.join())) {
    throw new VolumePromptError(`previous was made on a ${prev.dims.join('×')} volume along ${prev.axis}; this is ${volume.dims.join('×')} along ${axis}`);
  }
  abortIfAsked(opts.signal);

  // Keys and records: the previous result's, with the new prompts' slices replacing theirs.
  const keys = new Map<number, Map<number, VolumePrompt>>();
  const records = new Map<number, Map<number, SliceRecord>>();
  for (const [label, m] of prev?.keys ?? []) keys.set(label, new Map(m));
  for (const [label, m] of prev?.records ?? []) records.set(label, new Map(m));
  for (const p of prompts) {
    if (!keys.has(p.label)) keys.set(p.label, new Map());
    keys.get(p.label)!.set(p.slice, p);
    if (!records.has(p.label)) records.set(p.label, new Map());
  }

  // What to decode: every key slice the prompts name, and the chains of its territory.
  const keyJobs: VolumePrompt[] = [...prompts];
  const chains: Chain[] = [];
  for (const p of prompts) {
    const ks = [...keys.get(p.label)!.keys()].sort((a, b) => a - b);
    const [lo, hi] = territory(ks, p.slice, n);
    const recs = records.get(p.label)!;
    for (let z = lo; z <= hi; z++) recs.delete(z);
    if (p.slice < hi) chains.push({ label: p.label, key: p.slice, dir: 1, next: p.slice + 1, end: hi });
    if (p.slice > lo) chains.push({ label: p.label, key: p.slice, dir: -1, next: p.slice - 1, end: lo });
  }
  const total = keyJobs.length + chains.reduce((a, c) => a + Math.abs(c.end - c.next) + 1, 0);

  // Embeddings: through a store for a SamUnet, else encoded per use.
  if (opts.store && opts.store.model !== model) throw new VolumePromptError('the store given holds embeddings of another model');
  const ownStore = !opts.store && model instanceof SamUnet ? new EmbeddingStore(model, { weightsId: 'segmentVolume' }) : undefined;
  const store = opts.store ?? ownStore;
  let encodes = 0, decodes = 0;
  const t0 = performance.now();
  const decodeSlice = async (z: number, sets: PromptSet[]): Promise<DecodeResult[]> => {
    const { image } = volumeSliceToRgb(volume, { axis, index: z, window: opts.window });
    const out: DecodeResult[] = [];
    if (store) {
      const before = store.stats.encodes;
      const lease = await store.acquireImage(image);
      encodes += store.stats.encodes - before;
      try {
        for (let i = 0; i < sets.length; i += MAX_DECODE_BATCH) out.push(await (store.model.decode(lease.embedding, sets.slice(i, i + MAX_DECODE_BATCH))));
      } finally {
        lease.release();
      }
    } else {
      const seg = model as SliceSegmenter<E>;
      const emb = await seg.encode(image);
      encodes++;
      try {
        for (let i = 0; i < sets.length; i += MAX_DECODE_BATCH) out.push(await seg.decode(emb, sets.slice(i, i + MAX_DECODE_BATCH)));
      } finally {
        emb.destroy();
      }
    }
    return out;
  };
  /** Decodes `jobs` on slice z together and records each. */
  const run = async (z: number, jobs: { label: number; from: number; set: PromptSet; maskFrom?: number }[]) => {
    abortIfAsked(opts.signal);
    const results = await decodeSlice(z, jobs.map((j) => j.set));
    const flat = results.flatMap((r) => r.masks.map((m, i) => ({ mask: m, low: r.lowResLogits[i]! })));
    jobs.forEach((j, i) => {
      const { mask, low } = flat[i]!;
      let area = 0;
      for (let p = 0; p < mask.length; p++) area += mask[p]!;
      const rec: SliceRecord = {
        slice: z, label: j.label, from: j.from, box: j.set.box, points: j.set.points, maskFrom: j.maskFrom,
        area, lowResLogits: low, mask: area >= minArea ? mask : null,
      };
      records.get(j.label)!.set(z, rec);
      decodes++;
      opts.onProgress?.({ slice: z, label: j.label, done: decodes, total, area, elapsedMs: performance.now() - t0 });
    });
  };
  const nextSet = (r: SliceRecord): PromptSet | null => {
    if (!r.mask) return null;
    const { width, height } = g0; // every slice along one axis has the same size
    const set: { box?: Box; points?: Point[]; maskInput?: Float32Array } = {};
    if (strategy !== 'mask') set.box = maskBox(r.mask, width, height, margin)!;
    if (strategy !== 'box') {
      set.maskInput = r.lowResLogits;
      if (strategy === 'mask') set.points = [interiorPoint(r.mask, width)!];
    }
    return set;
  };

  try {
    // Key slices first, the labels of one slice together.
    for (const z of [...new Set(keyJobs.map((p) => p.slice))].sort((a, b) => a - b)) {
      await run(z, keyJobs.filter((p) => p.slice === z).map((p) => ({ label: p.label, from: z, set: { box: p.box, points: p.points } })));
    }
    // Then up, then down: on each slice, every chain standing there is decoded together.
    for (const dir of [1, -1] as const) {
      const live = chains.filter((c) => c.dir === dir);
      const order = dir === 1 ? (a: number, b: number) => a - b : (a: number, b: number) => b - a;
      while (live.length) {
        const z = live.map((c) => c.next).sort(order)[0]!;
        const here = live.filter((c) => c.next === z);
        const jobs: { label: number; from: number; set: PromptSet; maskFrom?: number }[] = [];
        for (const c of here) {
          const prevRec = records.get(c.label)!.get(z - dir)!;
          const set = nextSet(prevRec);
          if (!set) {
            live.splice(live.indexOf(c), 1); // the mask vanished: this chain stops
            continue;
          }
          jobs.push({ label: c.label, from: c.key, set, maskFrom: set.maskInput ? z - dir : undefined });
        }
        if (jobs.length) await run(z, jobs);
        for (const c of here) {
          if (!live.includes(c)) continue;
          if (c.next === c.end) live.splice(live.indexOf(c), 1);
          else c.next += dir;
        }
      }
    }
  } finally {
    ownStore?.destroy();
  }

  // The label map: lower labels first, so that the higher label wins where masks overlap.
  const maxLabel = Math.max(0, ...keys.keys());
  const labels = maxLabel > 255 ? new Uint16Array(volume.data.length) : new Uint8Array(volume.data.length);
  for (const label of [...records.keys()].sort((a, b) => a - b)) {
    for (const r of records.get(label)!.values()) {
      if (r.mask) writeSliceMask(labels, volume.dims, sliceGeometry(volume, axis, r.slice), r.mask, label);
    }
  }
  return { axis, strategy, dims: volume.dims, labels, records, keys, encodes, decodes };
}
