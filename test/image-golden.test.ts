// Image preprocessing against the golden cases in ../shared/golden (made by upstream's PyTorch/PIL
// code): decoded image, PIL-bilinear resize, normalised model input, prompt coordinates in the
// model frame, and the logits → mask threshold. Skipped (with a message) when ../shared/golden is
// absent, never under CI.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { decodeImage } from '../src/image/decode.js';
import { maskFromLogits } from '../src/image/mask.js';
import { preprocess } from '../src/image/preprocess.js';
import { resizeLongestSide } from '../src/image/resize.js';
import { imageFrame } from '../src/model/frame.js';
import { promptTokensOf } from '../src/model/prompts.js';
import { readGoldenTensor } from './helpers/golden-raw.js';
import { describeShared, goldenCases, goldenPath, type GoldenCase } from './helpers/shared.js';


describeShared('image preprocessing vs golden', () => {
  const cases = goldenCases();
  const tensor = (c: GoldenCase, name: string) => readGoldenTensor(join(goldenPath, `${c.name}.safetensors`), name);

  for (const c of cases) {
    const [H, W] = c.original_size;
    const [h, w] = c.input_size;
    const image = () => decodeImage(new Uint8Array(readFileSync(join(goldenPath, c.image))));

    it(`${c.name}: decodes ${c.image} exactly as input.original_u8`, () => {
      const img = image();
      const ref = tensor(c, 'input.original_u8');
      expect(ref.shape).toEqual([H, W, 3]);
      expect([img.height, img.width]).toEqual([H, W]);
      let mismatches = 0;
      for (let i = 0; i < ref.data.length; i++) if (img.data[i] !== ref.data[i]) mismatches++;
      expect(mismatches).toBe(0);
    });

    it(`${c.name}: resizes ${W}×${H} → ${w}×${h} like PIL (input.resized_u8, ±1)`, () => {
      const resized = resizeLongestSide(image());
      const ref = tensor(c, 'input.resized_u8');
      expect([resized.height, resized.width, 3]).toEqual(ref.shape);
      let maxDiff = 0, exact = 0;
      for (let i = 0; i < ref.data.length; i++) {
        const d = Math.abs(resized.data[i] - ref.data[i]);
        maxDiff = Math.max(maxDiff, d);
        if (d === 0) exact++;
      }
      console.log(`${c.name}: resize max |diff| ${maxDiff}, exact ${((100 * exact) / ref.data.length).toFixed(3)} %`);
      expect(maxDiff).toBeLessThanOrEqual(1);
    });

    it(`${c.name}: preprocess matches input.image (atol 1e-5)`, () => {
      const ref = tensor(c, 'input.image');
      expect(ref.shape).toEqual([1, 3, 256, 256]);
      // from the golden resized image, so that this checks normalisation and padding alone
      const resized = tensor(c, 'input.resized_u8');
      const ours = preprocess({ width: w, height: h, data: resized.data as Uint8Array });
      let maxDiff = 0;
      for (let i = 0; i < ref.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref.data[i]));
      console.log(`${c.name}: preprocess max |diff| ${maxDiff}`);
      expect(maxDiff).toBeLessThanOrEqual(1e-5);
    });

    it(`${c.name}: maps prompts into the model frame (the decoder's prompt tokens)`, () => {
      const frame = imageFrame(W, H);
      expect(frame).toMatchObject({ inputW: w, inputH: h });
      (c.boxes ?? []).forEach((box, i) => {
        const corners = promptTokensOf({ box }, frame).map(([x, y]) => [x, y]).flat();
        corners.forEach((v, k) => expect(v).toBeCloseTo(c.boxes_model_frame![i][k], 4));
      });
      const points = c.points ?? [];
      if (points.length) {
        const tokens = promptTokensOf({ points }, frame);
        points.forEach((_, i) => tokens[i]!.slice(0, 2).forEach((v, k) => expect(v).toBeCloseTo(c.points_model_frame![i][k], 4)));
      }
    });

    it(`${c.name}: maskFromLogits(logits) equals masks`, () => {
      const logits = tensor(c, 'logits');
      const masks = tensor(c, 'masks');
      const n = logits.shape[0];
      for (let k = 0; k < n; k++) {
        const one = (logits.data as Float32Array).subarray(k * H * W, (k + 1) * H * W);
        const ours = maskFromLogits(one, W, H);
        const ref = masks.data.subarray(k * H * W, (k + 1) * H * W);
        expect(Array.from(ours, (v) => (v ? 1 : 0))).toEqual(Array.from(ref, (v) => (v ? 1 : 0)));
      }
    });
  }
});
