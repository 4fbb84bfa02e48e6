// JPEG extended (process 4: Huffman-coded sequential DCT) with 12-bit samples, one component: what
// DICOM's 1.2.840.10008.1.2.4.51 holds for CT and MR. No maintained WASM build decodes 12-bit JPEG
// (libjpeg-turbo's is 8-bit), so this is a small decoder of ITU-T T.81 F.2 (sequential Huffman
// decoding) with libjpeg's integer inverse DCT (jidctint.c, "islow", with PASS1_BITS = 1 for
// 12-bit samples), the method dcmtk's dcmdjpeg uses by default, so its output matches dcmdjpeg's.
// Data that ends before the last block, or a Huffman code outside its table, is an error.

import { DicomError } from '../errors.js';

const fail = (msg: string) => new DicomError('codec', `JPEG 12-bit: ${msg}`);

const ZIGZAG = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

/** A Huffman table as (code length, code) → symbol, from the DHT counts and symbols (T.81 C). */
interface Huffman {
  maxCode: Int32Array; // per length 1..16: the largest code, -1 if none
  valPtr: Int32Array;
  minCode: Int32Array;
  values: Uint8Array;
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxCode = new Int32Array(18).fill(-1), minCode = new Int32Array(17), valPtr = new Int32Array(17);
  let code = 0, k = 0;
  for (let len = 1; len <= 16; len++) {
    valPtr[len] = k;
    minCode[len] = code;
    code += counts[len - 1];
    k += counts[len - 1];
    if (counts[len - 1]) maxCode[len] = code - 1;
    if (code > 1 << len) throw fail('a Huffman table has more codes than its code lengths allow');
    code <<= 1;
  }
  return { maxCode, minCode, valPtr, values };
}

class Bits {
  private acc = 0;
  private n = 0;
  constructor(private readonly b: Uint8Array, public pos: number) {}
  bit(): number {
    if (this.n === 0) {
      if (this.pos >= this.b.length) throw new DicomError('truncated', 'JPEG 12-bit: the entropy-coded data ends before the last block');
      let byte = this.b[this.pos++];
      if (byte === 0xff) {
        const next = this.b[this.pos];
        if (next === 0) this.pos++;
        else throw new DicomError('truncated', `JPEG 12-bit: marker 0xFF${(next ?? 0).toString(16)} before the last block of the scan`);
      }
      this.acc = byte;
      this.n = 8;
    }
    return (this.acc >> --this.n) & 1;
  }
  bits(count: number): number {
    let v = 0;
    for (let i = 0; i < count; i++) v = (v << 1) | this.bit();
    return v;
  }
  decode(h: Huffman): number {
    let code = this.bit();
    for (let len = 1; len <= 16; len++) {
      if (code <= h.maxCode[len]) return h.values[h.valPtr[len] + code - h.minCode[len]];
      code = (code << 1) | this.bit();
    }
    throw fail('a Huffman code matches no table entry');
  }
  /** Skips to the byte after the next RSTn marker (restart interval boundary). */
  restart(): void {
    this.n = 0;
    while (this.pos + 1 < this.b.length && !(this.b[this.pos] === 0xff && this.b[this.pos + 1] >= 0xd0 && this.b[this.pos + 1] <= 0xd7)) this.pos++;
    if (this.pos + 1 >= this.b.length) throw new DicomError('truncated', 'JPEG 12-bit: a restart marker is missing');
    this.pos += 2;
  }
}

const extend = (v: number, s: number) => (s && v < 1 << (s - 1) ? v - (1 << s) + 1 : v);

// libjpeg jidctint.c (jpeg_idct_islow) constants, CONST_BITS = 13.
const C = 13, P1 = 1;
const F0298 = 2446, F0390 = 3196, F0541 = 4433, F0765 = 6270, F0899 = 7373, F1175 = 9633, F1501 = 12299;
const F1847 = 15137, F1961 = 16069, F2053 = 16819, F2562 = 20995, F3072 = 25172;
const descale = (x: number, n: number) => (x + (1 << (n - 1))) >> n;

/** One 8×8 block: dequantized coefficients (natural order) → 12-bit samples into `out` at (x, y). */
function idct(coef: Int32Array, ws: Int32Array, out: Uint16Array, stride: number, x0: number, y0: number, w: number, h: number): void {
  for (let c = 0; c < 8; c++) {
    if (!coef[8 + c] && !coef[16 + c] && !coef[24 + c] && !coef[32 + c] && !coef[40 + c] && !coef[48 + c] && !coef[56 + c]) {
      const dc = coef[c] << P1;
      for (let r = 0; r < 8; r++) ws[8 * r + c] = dc;
      continue;
    }
    let z2 = coef[16 + c], z3 = coef[48 + c];
    let z1 = (z2 + z3) * F0541;
    let t2 = z1 - z3 * F1847, t3 = z1 + z2 * F0765;
    let t0 = (coef[c] + coef[32 + c]) * (1 << C), t1 = (coef[c] - coef[32 + c]) * (1 << C);
    const t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;
    t0 = coef[56 + c]; t1 = coef[40 + c]; t2 = coef[24 + c]; t3 = coef[8 + c];
    z1 = t0 + t3; z2 = t1 + t2; z3 = t0 + t2; let z4 = t1 + t3;
    const z5 = (z3 + z4) * F1175;
    t0 *= F0298; t1 *= F2053; t2 *= F3072; t3 *= F1501;
    z1 *= -F0899; z2 *= -F2562; z3 = z3 * -F1961 + z5; z4 = z4 * -F0390 + z5;
    t0 += z1 + z3; t1 += z2 + z4; t2 += z2 + z3; t3 += z1 + z4;
    const s = C - P1;
    ws[c] = descale(t10 + t3, s); ws[56 + c] = descale(t10 - t3, s);
    ws[8 + c] = descale(t11 + t2, s); ws[48 + c] = descale(t11 - t2, s);
    ws[16 + c] = descale(t12 + t1, s); ws[40 + c] = descale(t12 - t1, s);
    ws[24 + c] = descale(t13 + t0, s); ws[32 + c] = descale(t13 - t0, s);
  }
  const lim = (v: number) => Math.min(4095, Math.max(0, v + 2048));
  for (let r = 0; r < 8; r++) {
    const o = 8 * r;
    const row = new Int32Array(8);
    if (!ws[o + 1] && !ws[o + 2] && !ws[o + 3] && !ws[o + 4] && !ws[o + 5] && !ws[o + 6] && !ws[o + 7]) {
      row.fill(lim(descale(ws[o], P1 + 3)));
    } else {
      let z2 = ws[o + 2], z3 = ws[o + 6];
      let z1 = (z2 + z3) * F0541;
      let t2 = z1 - z3 * F1847, t3 = z1 + z2 * F0765;
      let t0 = (ws[o] + ws[o + 4]) * (1 << C), t1 = (ws[o] - ws[o + 4]) * (1 << C);
      const t10 = t0 + t3, t13 = t0 - t3, t11 = t1 + t2, t12 = t1 - t2;
      t0 = ws[o + 7]; t1 = ws[o + 5]; t2 = ws[o + 3]; t3 = ws[o + 1];
      z1 = t0 + t3; z2 = t1 + t2; z3 = t0 + t2; let z4 = t1 + t3;
      const z5 = (z3 + z4) * F1175;
      t0 *= F0298; t1 *= F2053; t2 *= F3072; t3 *= F1501;
      z1 *= -F0899; z2 *= -F2562; z3 = z3 * -F1961 + z5; z4 = z4 * -F0390 + z5;
      t0 += z1 + z3; t1 += z2 + z4; t2 += z2 + z3; t3 += z1 + z4;
      const s = C + P1 + 3;
      row[0] = lim(descale(t10 + t3, s)); row[7] = lim(descale(t10 - t3, s));
      row[1] = lim(descale(t11 + t2, s)); row[6] = lim(descale(t11 - t2, s));
      row[2] = lim(descale(t12 + t1, s)); row[5] = lim(descale(t12 - t1, s));
      row[3] = lim(descale(t13 + t0, s)); row[4] = lim(descale(t13 - t0, s));
    }
    const y = y0 + r;
    if (y >= h) break;
    for (let c = 0; c < 8 && x0 + c < w; c++) out[y * stride + x0 + c] = row[c];
  }
}

/** Decodes a 12-bit single-component sequential JPEG to little-endian 16-bit samples. */
export function decodeJpeg12(b: Uint8Array): { bytes: Uint8Array; colorConverted: false } {
  const u16 = (o: number) => (b[o] << 8) | b[o + 1];
  const quant: (Int32Array | undefined)[] = [];
  const dc: (Huffman | undefined)[] = [], ac: (Huffman | undefined)[] = [];
  let width = 0, height = 0, qSel = 0, compId = -1, restart = 0;
  let o = 2;
  for (;;) {
    if (o + 4 > b.length) throw new DicomError('truncated', 'JPEG 12-bit: the data ends before the scan');
    if (b[o] !== 0xff) throw fail(`expected a marker at byte ${o}`);
    const m = b[o + 1];
    if (m === 0xff) { o++; continue; }
    const len = u16(o + 2);
    const seg = b.subarray(o + 4, o + 2 + len);
    if (seg.length !== len - 2) throw new DicomError('truncated', `JPEG 12-bit: marker 0xFF${m.toString(16)} segment is cut short`);
    if (m === 0xdb) {
      for (let p = 0; p < seg.length; ) {
        const pq = seg[p] >> 4, tq = seg[p] & 15;
        const n = pq ? 128 : 64;
        if (tq > 3 || p + 1 + n > seg.length) throw fail('bad quantisation table');
        const t = new Int32Array(64);
        for (let i = 0; i < 64; i++) t[ZIGZAG[i]] = pq ? (seg[p + 1 + 2 * i] << 8) | seg[p + 2 + 2 * i] : seg[p + 1 + i];
        quant[tq] = t;
        p += 1 + n;
      }
    } else if (m === 0xc4) {
      for (let p = 0; p < seg.length; ) {
        const tc = seg[p] >> 4, th = seg[p] & 15;
        const counts = seg.subarray(p + 1, p + 17);
        const total = counts.reduce((a, c) => a + c, 0);
        if (th > 3 || tc > 1 || p + 17 + total > seg.length) throw fail('bad Huffman table');
        (tc ? ac : dc)[th] = buildHuffman(counts, seg.subarray(p + 17, p + 17 + total));
        p += 17 + total;
      }
    } else if (m === 0xc0 || m === 0xc1) {
      if (seg[0] !== 12) throw fail(`${seg[0]}-bit samples`);
      height = u16(o + 5);
      width = u16(o + 7);
      if (seg[5] !== 1) throw new DicomError('unsupported-feature', `JPEG 12-bit with ${seg[5]} components is not supported (one component only)`);
      compId = seg[6];
      qSel = seg[8];
      if (!width || !height) throw fail('the frame has no size (DNL marker not supported)');
    } else if (m === 0xdd) {
      restart = u16(o + 4);
    } else if ((m >= 0xc2 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc)) {
      throw new DicomError('unsupported-feature', `JPEG 12-bit: SOF marker 0xFF${m.toString(16)} (only sequential Huffman, SOF0/SOF1)`);
    } else if (m === 0xda) {
      if (!width) throw fail('scan before the frame header');
      if (seg[0] !== 1 || seg[1] !== compId) throw fail('the scan does not code the frame\'s component');
      const hd = dc[seg[2] >> 4], ha = ac[seg[2] & 15], q = quant[qSel];
      if (!hd || !ha || !q) throw fail('the scan uses an undefined Huffman or quantisation table');
      return { bytes: decodeScan(b, o + 2 + len, width, height, hd, ha, q, restart), colorConverted: false };
    }
    o += 2 + len;
  }
}

function decodeScan(b: Uint8Array, start: number, w: number, h: number, hd: Huffman, ha: Huffman, q: Int32Array, restart: number): Uint8Array {
  const out = new Uint16Array(w * h);
  const bx = Math.ceil(w / 8), by = Math.ceil(h / 8);
  const bits = new Bits(b, start);
  const coef = new Int32Array(64), ws = new Int32Array(64);
  let pred = 0;
  for (let k = 0; k < bx * by; k++) {
    if (restart && k && k % restart === 0) {
      bits.restart();
      pred = 0;
    }
    coef.fill(0);
    const s = bits.decode(hd);
    if (s > 15) throw fail(`DC difference category ${s}`);
    pred += extend(bits.bits(s), s);
    coef[0] = pred * q[0];
    for (let i = 1; i < 64; ) {
      const rs = bits.decode(ha);
      const r = rs >> 4, sz = rs & 15;
      if (!sz) {
        if (r !== 15) break; // EOB
        i += 16;
        continue;
      }
      i += r;
      if (i > 63) throw fail('AC coefficients run past the block');
      coef[ZIGZAG[i]] = extend(bits.bits(sz), sz) * q[ZIGZAG[i]];
      i++;
    }
    idct(coef, ws, out, w, (k % bx) * 8, Math.floor(k / bx) * 8, w, h);
  }
  return new Uint8Array(out.buffer);
}
