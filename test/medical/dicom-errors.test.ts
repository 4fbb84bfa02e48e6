// DICOM inputs that must fail with a named error, built here byte by byte (no tools needed): an
// unsupported transfer syntax (named by UID and name), not DICOM at all, a header whose image
// size lies about the pixel data, an encapsulated frame whose bitstream size differs from the header.
import { describe, expect, it } from 'vitest';
import { decodeDicom } from '../../src/medical/dicom/image.js';
import { DicomError } from '../../src/medical/errors.js';

/** Explicit VR little endian element. */
function el(group: number, element: number, vr: string, value: Uint8Array): Uint8Array {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const h = new Uint8Array(long ? 12 : 8);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, group, true);
  dv.setUint16(2, element, true);
  h[4] = vr.charCodeAt(0);
  h[5] = vr.charCodeAt(1);
  if (long) dv.setUint32(8, value.length, true);
  else dv.setUint16(6, value.length, true);
  return cat(h, value);
}
const cat = (...p: Uint8Array[]) => {
  const o = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
  let a = 0;
  for (const x of p) o.set(x, (a += x.length) - x.length);
  return o;
};
const str = (s: string) => new TextEncoder().encode(s.length % 2 ? `${s}\0` : s);
const us = (v: number) => new Uint8Array(Uint16Array.of(v).buffer);

function file(syntax: string, body: Uint8Array[]): Uint8Array {
  const meta = el(0x0002, 0x0010, 'UI', str(syntax));
  return cat(new Uint8Array(128), str('DICM'), el(0x0002, 0x0000, 'UL', new Uint8Array(Uint32Array.of(meta.length).buffer)), meta, ...body);
}
const image = (rows: number, cols: number, pixels: Uint8Array) => [
  el(0x0028, 0x0002, 'US', us(1)), el(0x0028, 0x0004, 'CS', str('MONOCHROME2')), el(0x0028, 0x0010, 'US', us(rows)),
  el(0x0028, 0x0011, 'US', us(cols)), el(0x0028, 0x0100, 'US', us(16)), el(0x0028, 0x0101, 'US', us(12)),
  el(0x0028, 0x0102, 'US', us(11)), el(0x0028, 0x0103, 'US', us(0)), el(0x7fe0, 0x0010, 'OW', pixels),
];

async function failure(bytes: Uint8Array): Promise<DicomError> {
  const e = await decodeDicom(bytes).then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(DicomError);
  return e as DicomError;
}

describe('DICOM: named errors', () => {
  it('a well-formed file built here decodes (the control case)', async () => {
    const img = await decodeDicom(file('1.2.840.10008.1.2.1', image(2, 2, new Uint8Array(Uint16Array.of(1, 2, 4095, 0xf000 | 7).buffer))));
    expect(Array.from(img.frames[0])).toEqual([1, 2, 4095, 7]); // bits above BitsStored are masked out
  });

  it('HTJ2K: unsupported-syntax naming the UID and its name', async () => {
    const e = await failure(file('1.2.840.10008.1.2.4.201', image(2, 2, new Uint8Array(8))));
    expect(e.reason).toBe('unsupported-syntax');
    expect(e.message).toMatch(/1\.2\.840\.10008\.1\.2\.4\.201 \(High-Throughput JPEG 2000 Image Compression \(Lossless Only\)\)/);
  });

  it('an unknown syntax UID is named too', async () => {
    const e = await failure(file('1.2.3.4', image(2, 2, new Uint8Array(8))));
    expect(e.message).toMatch(/1\.2\.3\.4 \(an unknown transfer syntax\)/);
  });

  it('Rows × Columns larger than the pixel data: truncated, with both sizes', async () => {
    const e = await failure(file('1.2.840.10008.1.2.1', image(300, 300, new Uint8Array(8))));
    expect(e.reason).toBe('truncated');
    expect(e.message).toMatch(/holds 8 bytes.*need 180000/);
  });

  it('an encapsulated frame whose JPEG size differs from Rows/Columns: corrupt', async () => {
    // A JPEG lossless stream header (SOI, SOF3 8-bit 64×64, 1 component) in one fragment.
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xc3, 0, 11, 8, 0, 64, 0, 64, 1, 1, 0x11, 0, 0xff, 0xd9, 0]);
    const frag = cat(el(0xfffe, 0xe000, 'OB', new Uint8Array(0)).subarray(0, 4), new Uint8Array(Uint32Array.of(0).buffer), el(0xfffe, 0xe000, 'OB', new Uint8Array(0)).subarray(0, 4), new Uint8Array(Uint32Array.of(jpeg.length).buffer), jpeg, Uint8Array.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]));
    const px = cat(Uint8Array.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]), frag);
    const e = await failure(file('1.2.840.10008.1.2.4.70', [...image(2, 2, new Uint8Array(0)).slice(0, -1), px]));
    expect(e.reason).toBe('corrupt');
    expect(e.message).toMatch(/bitstream is 64×64, the DICOM header says 2×2/);
  });

  it('not DICOM: not-dicom, with the first bytes', async () => {
    const e = await failure(new TextEncoder().encode('%PDF-1.7 this is not an image'));
    expect(e.reason).toBe('not-dicom');
    expect(e.message).toMatch(/first bytes 25 50 44 46/);
  });
});
