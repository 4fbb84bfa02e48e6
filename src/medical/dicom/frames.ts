// The bytes of each frame of Pixel Data (7FE0,0010): a slice of the native data, or the
// compressed bitstream of an encapsulated frame (its fragments joined; PS3.5 A.4), found through
// the Basic Offset Table, one fragment per frame, or the codec's start-of-image marker.

import type { DataSet } from 'dicom-parser';
import { DicomError } from '../errors.js';
import type { DicomImageInfo } from './info.js';
import type { TransferSyntax } from './syntax.js';

/** Bits of one native frame (YBR_FULL_422 stores two samples per pixel: Y Y Cb Cr per pair). */
export function nativeFrameBits(info: DicomImageInfo): number {
  const samples = info.photometric === 'YBR_FULL_422' ? 2 : info.samplesPerPixel;
  return info.rows * info.columns * samples * info.bitsAllocated;
}

/** The native pixel data of all frames (checked to hold them all). */
export function nativePixelData(dataSet: DataSet, info: DicomImageInfo): Uint8Array {
  const e = dataSet.elements.x7fe00010;
  if (!e || e.length === 0) throw new DicomError('missing-pixel-data', 'Pixel Data (7FE0,0010) is empty');
  if (e.encapsulatedPixelData || e.length === 0xffffffff) {
    throw new DicomError('corrupt', 'Pixel Data is encapsulated (undefined length) under an uncompressed transfer syntax');
  }
  const need = Math.ceil((nativeFrameBits(info) * info.frames) / 8);
  const b = dataSet.byteArray;
  const have = Math.min(e.length, b.length - e.dataOffset);
  if (have < need) {
    const what = info.frames > 1 ? `${info.frames} frames of ` : '';
    throw new DicomError('truncated', `Pixel Data holds ${have} bytes, but ${what}${info.columns}×${info.rows}×${info.samplesPerPixel} samples of ${info.bitsAllocated} bits need ${need}`);
  }
  return b.subarray(e.dataOffset, e.dataOffset + need);
}

function startsFrame(b: Uint8Array, syntax: TransferSyntax): boolean {
  if (syntax.encoding === 'jpeg-2000') return (b[0] === 0xff && b[1] === 0x4f) || (b[4] === 0x6a && b[5] === 0x50); // SOC, or a JP2 box
  return b[0] === 0xff && b[1] === 0xd8; // SOI (JPEG, JPEG-LS)
}

function join(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** The compressed bitstream of every frame. */
export function encapsulatedFrames(dataSet: DataSet, info: DicomImageInfo, syntax: TransferSyntax): Uint8Array[] {
  const e = dataSet.elements.x7fe00010;
  if (!e) throw new DicomError('missing-pixel-data', 'no Pixel Data (7FE0,0010)');
  if (!e.encapsulatedPixelData || !e.fragments) {
    throw new DicomError('corrupt', `${syntax.name} requires encapsulated Pixel Data (undefined length, in fragments), but it has a defined length of ${e.length}`);
  }
  const b = dataSet.byteArray;
  const frags = e.fragments.map((f, i) => {
    if (f.position + f.length > b.length) throw new DicomError('truncated', `Pixel Data fragment ${i + 1} ends ${f.position + f.length - b.length} bytes past the end of the file`);
    return { offset: f.offset, data: b.subarray(f.position, f.position + f.length) };
  });
  if (frags.length === 0) throw new DicomError('missing-pixel-data', 'encapsulated Pixel Data has no fragments');
  const n = info.frames;
  const bot = e.basicOffsetTable ?? [];
  let groups: Uint8Array[][];
  if (n === 1) groups = [frags.map((f) => f.data)];
  else if (bot.length) {
    if (bot.length !== n) throw new DicomError('corrupt', `the Basic Offset Table has ${bot.length} entries for ${n} frames`);
    groups = bot.map((start, k) => {
      const end = k + 1 < n ? bot[k + 1] : Infinity;
      if (k + 1 < n && end <= start) throw new DicomError('corrupt', `the Basic Offset Table is not increasing at frame ${k + 2}`);
      const g = frags.filter((f) => f.offset >= start && f.offset < end);
      if (!g.length || g[0].offset !== start) throw new DicomError('corrupt', `Basic Offset Table entry ${k + 1} (${start}) is not the start of a fragment`);
      return g.map((f) => f.data);
    });
  } else if (frags.length === n) groups = frags.map((f) => [f.data]);
  else if (frags.length > n && syntax.encoding !== 'rle') {
    // No offset table and more fragments than frames: a frame starts at each codec start marker.
    groups = [];
    for (const f of frags) {
      if (startsFrame(f.data, syntax) || !groups.length) groups.push([f.data]);
      else groups[groups.length - 1].push(f.data);
    }
    if (groups.length !== n) throw new DicomError('corrupt', `cannot split ${frags.length} fragments into ${n} frames: ${groups.length} start an image`);
  } else {
    throw new DicomError('truncated', `encapsulated Pixel Data has ${frags.length} fragments for ${n} frames`);
  }
  return groups.map(join);
}
