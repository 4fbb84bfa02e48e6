// src/util/crc32.ts against the check value of the CRC catalogue and against Node's zlib.crc32 on
// random data of awkward lengths, whole and continued piecewise.
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../src/util/crc32.js';

describe('crc32', () => {
  it('check value: "123456789" -> 0xCBF43926; empty -> 0', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('equals zlib.crc32 on random data, whole, sliced and continued', () => {
    let seed = 12345;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    for (const n of [1, 7, 8, 9, 15, 16, 17, 63, 1000, 65537]) {
      const b = Uint8Array.from({ length: n }, next);
      expect(crc32(b), `n=${n}`).toBe(zlibCrc32(b));
      const k = Math.floor(n / 3);
      expect(crc32(b, k, n, crc32(b, 0, k)), `n=${n} continued at ${k}`).toBe(zlibCrc32(b));
      expect(crc32(b, 1, n - 1), `n=${n} sliced`).toBe(zlibCrc32(b.subarray(1, n - 1)));
    }
  });
});
