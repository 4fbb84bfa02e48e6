// Bilinear resize (align_corners = False) against a float64 reference written from PyTorch's
// area_pixel_compute_source_index + upsample_bilinear2d. Tolerance: atol 1e-6·scale, rtol 0, where
// scale = max |x| (the data are uniform in ±scale).
import { describe, it } from 'vitest';
import { resizeBilinear } from '../src/ops/resize.js';
import { expectClose, maxAbsDiff, newPlan, rand } from './helpers/gpu.js';
import { resizeBilinearRef } from './helpers/reference.js';

interface Case {
  what: string;
  shape: [number, number, number, number];
  out: [number, number];
  src?: [number, number];
  scale: number;
}

describe('resizeBilinear', () => {
  const cases: Case[] = [
    { what: 'up 64→256', shape: [1, 3, 64, 64], out: [256, 256], scale: 20 },
    { what: 'up 7×5→13×17', shape: [2, 3, 7, 5], out: [13, 17], scale: 1 },
    { what: 'down 256→100', shape: [1, 2, 256, 256], out: [100, 100], scale: 1 },
    { what: 'down 37→11', shape: [2, 3, 37, 37], out: [11, 11], scale: 1 },
    { what: 'non-uniform 20×30→45×11', shape: [2, 1, 20, 30], out: [45, 11], scale: 5 },
    { what: 'same size', shape: [1, 2, 9, 6], out: [9, 6], scale: 1 },
    { what: 'to and from 1 pixel', shape: [1, 1, 1, 6], out: [4, 1], scale: 1 },
    { what: 'crop 29×23 of 40×37 → 50×41', shape: [2, 3, 40, 37], out: [50, 41], src: [29, 23], scale: 1 },
    { what: 'crop 256×171 of 256×256 → 683×455', shape: [1, 1, 256, 256], out: [683, 455], src: [256, 171], scale: 30 },
  ];

  it('matches PyTorch align_corners=False, up, down, non-uniform and with a fused crop', async () => {
    const p = await newPlan();
    const runs = cases.map((c, i) => {
      const x = p.input(`x${i}`, c.shape);
      const opts = c.src ? { srcH: c.src[0], srcW: c.src[1] } : {};
      p.output(`y${i}`, resizeBilinear(p, x, c.out[0], c.out[1], opts));
      return rand(x.size, 90 + i, -c.scale, c.scale);
    });
    // The model's postprocess chain: 64 → 256, then crop 256×192 → 300×225, as two dispatches.
    const lr = p.input('lowres', [2, 1, 64, 64]);
    const up = resizeBilinear(p, lr, 256, 256);
    p.output('post', resizeBilinear(p, up, 300, 225, { srcH: 256, srcW: 192 }));
    const lrv = rand(2 * 64 * 64, 99, -10, 10);
    await p.build();
    const out = await p.run({ ...Object.fromEntries(runs.map((v, i) => [`x${i}`, v])), lowres: lrv });
    cases.forEach((c, i) => {
      const ref = resizeBilinearRef(runs[i]!, c.shape, c.out[0], c.out[1], c.src?.[0], c.src?.[1]);
      console.log(`[resize] ${c.what}: max |diff| ${maxAbsDiff(out[`y${i}`]!, ref).maxAbs.toExponential(2)} (scale ${c.scale})`);
      expectClose(out[`y${i}`]!, ref, 1e-6 * c.scale, 0, `resize ${c.what}`);
    });
    const upRef = resizeBilinearRef(lrv, [2, 1, 64, 64], 256, 256);
    const postRef = resizeBilinearRef(upRef, [2, 1, 256, 256], 300, 225, 256, 192);
    console.log(`[resize] postprocess chain: max |diff| ${maxAbsDiff(out.post!, postRef).maxAbs.toExponential(2)}`);
    expectClose(out.post!, postRef, 1e-6 * 10, 0, 'postprocess 64→256, crop 256×192 → 300×225');
    p.destroy();
  });
});
