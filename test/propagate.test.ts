// segmentVolume (src/volume/propagate.ts). A stub segmenter whose "mask" is the bright pixels inside
// the prompt box (or around the point) makes the propagation rules testable exactly: territories
// between key slices, stopping where the mask vanishes, several labels on one slice, the overlap
// rule, cancellation and a correction that re-decodes only its own territory. Then the real model
// (synthetic res34): every propagated slice equals a fresh single-slice segment() given the
// prompts segmentVolume recorded, for each strategy's prompt kinds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../src/image/types.js';
import { volumeSliceToRgb } from '../src/medical/index.js';
import { syntheticWeights } from '../src/model/keys.js';
import type { PromptSet } from '../src/model/prompts.js';
import { SamUnet, type DecodeResult } from '../src/model/sam_unet.js';
import { interiorPoint, maskBox, segmentVolume, VolumePromptError, type SliceProgress, type SliceSegmenter, type VolumeSegmentation } from '../src/volume/propagate.js';
import { EmbeddingStore } from '../src/volume/embedding-store.js';
import { sliceGeometry } from '../src/volume/slice.js';
import type { Volume } from '../src/volume/types.js';
import { volumePrompts } from '../src/node/volume-run.js';
import { testGpu } from './helpers/gpu.js';

/** A CT volume (HU) with two boxes of tissue: A over slices 2..8, B over slices 5..6, at x < W/2 and x ≥ W/2. */
function phantom(ni = 24, nj = 20, nk = 12): Volume {
  const data = new Float32Array(ni * nj * nk).fill(-1000);
  for (let k = 0; k < nk; k++) {
    for (let j = 4; j < 16; j++) {
      for (let i = 2; i < ni; i++) {
        const a = i < ni / 2 - 1 && k >= 2 && k <= 8;
        const b = i >= ni / 2 + 1 && i < ni - 2 && k >= 5 && k <= 6;
        if (a || b) data[i + ni * (j + nj * k)] = 200;
      }
    }
  }
  // RAS affine with +i toward the patient's left (as a DICOM series): display x = i.
  const affine = Float64Array.from([-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]);
  return { dims: [ni, nj, nk], data, affine, spacing: [1, 1, 2], modality: 'CT', source: { kind: 'nifti', version: 1, affineFrom: 'sform' } };
}

interface StubEmb { image: RgbImage; destroy(): void }

/** Mask = pixels brighter than 128 inside the box (or within 6 px of the first point). */
function stub(): SliceSegmenter<StubEmb> & { encodes: number; decodes: PromptSet[][] } {
  const s = {
    encodes: 0,
    decodes: [] as PromptSet[][],
    async encode(image: RgbImage) {
      s.encodes++;
      return { image, destroy() {} };
    },
    async decode(emb: StubEmb, sets: readonly PromptSet[]): Promise<DecodeResult> {
      s.decodes.push([...sets]);
      const { width: w, height: h, data } = emb.image;
      const masks = sets.map((set) => {
        const [x0, y0, x1, y1] = set.box ?? [set.points![0]![0] - 6, set.points![0]![1] - 6, set.points![0]![0] + 6, set.points![0]![1] + 6];
        const m = new Uint8Array(w * h);
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (x >= x0 && x < x1 && y >= y0 && y < y1 && data[3 * (y * w + x)]! > 128) m[y * w + x] = 1;
        return m;
      });
      return { n: sets.length, width: w, height: h, masks, logits: masks.map((m) => Float32Array.from(m, (v) => (v ? 1 : -1))), lowResLogits: masks.map(() => new Float32Array(4096).fill(sets.length)) };
    },
  };
  return s;
}

const slicesOf = (r: VolumeSegmentation, label: number) => [...r.records.get(label)!.values()].filter((x) => x.mask).map((x) => x.slice).sort((a, b) => a - b);

describe('segmentVolume, propagation rules (a stub segmenter)', () => {
  const vol = phantom();
  const boxA = [0, 0, 11, 20] as const, boxB = [13, 0, 24, 20] as const;

  it('spreads up and down from a key slice and stops on the first slice where the mask vanishes', async () => {
    const s = stub();
    const progress: SliceProgress[] = [];
    const r = await segmentVolume(s, vol, [{ slice: 5, label: 1, box: boxA }], { onProgress: (p) => progress.push(p), margin: 2 });
    expect(slicesOf(r, 1)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    // Slices 1 and 9 were decoded (the mask vanished there); 0, 10, 11 never were.
    expect([...r.records.get(1)!.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.decodes).toBe(9);
    expect(progress.map((p) => p.slice)).toEqual([5, 6, 7, 8, 9, 4, 3, 2, 1]);
    expect(progress.at(-1)!.total).toBe(12); // the most there could have been
    // Each next slice was prompted with the previous mask's box widened by the margin (clipped).
    const rec6 = r.records.get(1)!.get(6)!;
    expect(rec6.box).toEqual([0, 2, 13, 18]);
    expect(rec6.from).toBe(5);
    // Voxels: A's tissue inside the box on slices 2..8, labelled 1; nothing else.
    let n = 0;
    for (const v of r.labels) n += v;
    expect(n).toBe(7 * 12 * 9); // i in 2..10, j in 4..15
  });

  it('several labels on one slice are decoded together; the higher label wins where they overlap', async () => {
    const s = stub();
    const r = await segmentVolume(s, vol, [{ slice: 5, label: 1, box: boxA }, { slice: 5, label: 2, box: [0, 0, 24, 20] }, { slice: 6, label: 3, box: boxB }], { margin: 0 });
    expect(s.decodes[0]!.length).toBe(2); // labels 1 and 2 on slice 5 in one decode
    expect(slicesOf(r, 3)).toEqual([5, 6]);
    const g = sliceGeometry(vol, 'axial', 6);
    const at = (x: number, y: number) => r.labels[x + 24 * (y + 20 * g.index)];
    expect(at(5, 8)).toBe(2); // A's tissue: labels 1 and 2 overlap, 2 wins
    expect(at(16, 8)).toBe(3); // B's tissue: labels 2 and 3 overlap, 3 wins
    expect(r.labels instanceof Uint8Array).toBe(true);
  });

  it('key slices split the volume: each slice follows its nearest key', async () => {
    const r = await segmentVolume(stub(), vol, [{ slice: 3, label: 1, box: boxA }, { slice: 8, label: 1, box: boxA }], { margin: 1 });
    const from = Object.fromEntries([...r.records.get(1)!.values()].map((x) => [x.slice, x.from]));
    expect(from).toEqual({ 1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 8, 7: 8, 8: 8, 9: 8 });
  });

  it("'mask' prompts with the previous logits and an interior point; 'box+mask' with both", async () => {
    const m = await segmentVolume(stub(), vol, [{ slice: 5, label: 1, box: boxA }], { strategy: 'mask' });
    const r6 = m.records.get(1)!.get(6)!;
    expect(r6.box).toBeUndefined();
    expect(r6.maskFrom).toBe(5);
    expect(r6.points).toHaveLength(1);
    const bm = await segmentVolume(stub(), vol, [{ slice: 5, label: 1, box: boxA }], { strategy: 'box+mask' });
    expect(bm.records.get(1)!.get(4)!.maskFrom).toBe(5);
    expect(bm.records.get(1)!.get(4)!.box).toBeDefined();
  });

  it('a correction re-decodes only the corrected slice territory and keeps the rest', async () => {
    const first = await segmentVolume(stub(), vol, [{ slice: 5, label: 1, box: boxA }, { slice: 5, label: 2, box: boxB }], { margin: 1 });
    const s = stub();
    // Label 1 corrected on slice 8 with a smaller box: slices 7..11 are its territory now.
    const r = await segmentVolume(s, vol, [{ slice: 8, label: 1, box: [0, 0, 6, 20] }], { previous: first, margin: 1 });
    const decoded = s.decodes.flat().length;
    expect(decoded).toBe(3); // slices 8, then 7 (down) and 9 (up, vanishes); 10, 11 never reached
    expect(r.records.get(1)!.get(5)).toBe(first.records.get(1)!.get(5)); // kept as it was
    expect(r.records.get(2)).toEqual(first.records.get(2));
    expect(r.records.get(1)!.get(8)!.from).toBe(8);
    expect(r.keys.get(1)!.size).toBe(2);
  });

  it('cancellation: an aborted signal stops between slices with its reason', async () => {
    const ac = new AbortController();
    const why = new Error('user cancelled');
    const s = stub();
    const p = segmentVolume(s, vol, [{ slice: 5, label: 1, box: boxA }], { signal: ac.signal, onProgress: (x) => x.done === 2 && ac.abort(why) });
    await expect(p).rejects.toBe(why);
    expect(s.decodes.length).toBe(2);
  });

  it('bad prompts are errors that name them', async () => {
    const s = stub();
    await expect(segmentVolume(s, vol, [{ slice: 12, label: 1, box: boxA }])).rejects.toThrow(/slice 12 is outside 0..11/);
    await expect(segmentVolume(s, vol, [{ slice: 1, label: 0, box: boxA }])).rejects.toThrow(/label 0/);
    await expect(segmentVolume(s, vol, [{ slice: 1, label: 1 }])).rejects.toThrow(VolumePromptError);
    await expect(segmentVolume(s, vol, [])).rejects.toThrow(/at least one prompt/);
    await expect(segmentVolume(s, vol, [{ slice: 1, label: 1, box: boxA }], { strategy: 'magic' as never })).rejects.toThrow(/strategy/);
    expect(() => volumePrompts([{ label: 1, boxes: [[2, 0, 0, 5, 5], [2, 1, 1, 6, 6]], points: [] }])).toThrow(/two boxes on slice 2/);
    expect(volumePrompts([{ label: 4, boxes: [[2, 0, 0, 5, 5]], points: [[2, 1, 1, 1], [3, 2, 2, 0]] }])).toEqual([
      { slice: 2, label: 4, box: [0, 0, 5, 5], points: [[1, 1, 1]] },
      { slice: 3, label: 4, box: undefined, points: [[2, 2, 0]] },
    ]);
  });

  it('maskBox and interiorPoint', () => {
    const m = new Uint8Array(10 * 6);
    expect(maskBox(m, 10, 6, 2)).toBeNull();
    expect(interiorPoint(m, 10)).toBeNull();
    for (const [x, y] of [[3, 2], [4, 2], [5, 3], [8, 4]]) m[y * 10 + x] = 1;
    expect(maskBox(m, 10, 6, 2)).toEqual([1, 0, 10, 6]);
    expect(maskBox(m, 10, 6, 0)).toEqual([3, 2, 9, 5]);
    expect(interiorPoint(m, 10)).toEqual([5.5, 3.5, 1]); // centroid (5, 2.75): pixel (5, 3) is nearest
  });
});

describe('segmentVolume on the model (synthetic res34)', () => {
  let model: SamUnet;
  beforeAll(async () => {
    model = await SamUnet.load(await testGpu(), syntheticWeights('res34'));
  });
  afterAll(() => model?.destroy());

  it("each propagated slice equals a single-slice segment() given the prompts it recorded ('box+mask' and 'mask')", async () => {
    const vol = phantom(40, 32, 3);
    const store = new EmbeddingStore(model, { weightsId: 'synthetic:res34' });
    let encodes = 0;
    for (const strategy of ['box+mask', 'mask'] as const) {
      const r = await segmentVolume(model, vol, [{ slice: 1, label: 1, box: [2, 3, 30, 28], points: [[8, 10, 1]] }], { strategy, store });
      const recs = [...r.records.get(1)!.values()];
      expect(recs.length).toBeGreaterThanOrEqual(2);
      encodes += r.encodes;
      for (const rec of recs) {
        const { image } = volumeSliceToRgb(vol, { axis: 'axial', index: rec.slice });
        const maskInput = rec.maskFrom === undefined ? undefined : r.records.get(1)!.get(rec.maskFrom)!.lowResLogits;
        const ref = await model.segment(image, { box: rec.box, points: rec.points, maskInput });
        expect(Buffer.from(ref.lowResLogits[0]!.buffer).equals(Buffer.from(rec.lowResLogits.buffer)), `${strategy} slice ${rec.slice}`).toBe(true);
        const area = ref.masks[0]!.reduce((a, v) => a + v, 0);
        expect(rec.area).toBe(area);
        if (rec.mask) expect(Buffer.from(rec.mask).equals(Buffer.from(ref.masks[0]!))).toBe(true);
      }
    }
    expect(encodes).toBeLessThanOrEqual(3); // the second strategy found every slice in the store
    store.destroy();
  }, 240_000);
});
