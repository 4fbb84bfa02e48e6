// The PNG-per-slice fallback read back by PIL (Debian's python3-pil): slice k holds labels[·, ·, k]
// with x along i and y along j, as exact grey values or in each label's colour.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labelColor } from '../src/volume/labels.js';
import { labelSlicesPng } from '../src/volume/png-slices.js';
import { itWithTools, runPy } from './helpers/python.js';

const dir = mkdtempSync(join(tmpdir(), 'sam-unet-png-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const affine = new Float64Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
const dims = [5, 3, 2] as const;
const labels = Uint8Array.from({ length: 30 }, (_, v) => (v * 7) % 4); // 0, 3, 2, 1, 0, …

describe('labelSlicesPng', () => {
  itWithTools('writes each slice as PIL reads it, grey values or colours', { python: ['PIL'] }, async () => {
    const paths: string[] = [];
    for (const style of ['values', 'color'] as const) {
      labelSlicesPng(labels, { dims, affine }, { style }).forEach((png, k) => {
        const p = join(dir, `${style}-${k}.png`);
        writeFileSync(p, png);
        paths.push(p);
      });
    }
    const got = await runPy<{ mode: string; size: number[]; pixels: (number | number[])[] }[]>('png_check.py', ['PIL'], paths);
    for (let k = 0; k < 2; k++) {
      const slice = [...labels.subarray(k * 15, (k + 1) * 15)];
      expect(got[k]).toEqual({ mode: 'L', size: [5, 3], pixels: slice });
      expect(got[2 + k]).toEqual({ mode: 'RGB', size: [5, 3], pixels: slice.map((l) => (l ? [...labelColor(l)] : [0, 0, 0])) });
    }
  }, 60_000);

  it('refuses labels an 8-bit grey PNG cannot hold, and an unknown style', () => {
    const big = new Uint16Array(30);
    big[4] = 256;
    expect(() => labelSlicesPng(big, { dims, affine })).toThrow(/label 256 does not fit an 8-bit PNG/);
    expect(labelSlicesPng(big, { dims, affine }, { style: 'color' })).toHaveLength(2);
    expect(() => labelSlicesPng(labels, { dims, affine }, { style: 'grey' as 'values' })).toThrow(/style/);
  });
});
