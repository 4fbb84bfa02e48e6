// DICOM transfer syntaxes: how the data set is encoded and how the pixel data is compressed.
// Every syntax we read is listed with the codec that decodes its frames; a syntax not listed is an
// error naming its UID (and its name where the standard has one, from PS3.6 Table A-1).

/** How the frames of a syntax are stored. */
export type PixelEncoding =
  | 'native' // uncompressed, in the data set's byte order
  | 'rle'
  | 'jpeg-baseline' // 8-bit lossy (process 1), libjpeg-turbo
  | 'jpeg-extended' // 8 or 12-bit lossy (processes 2 and 4)
  | 'jpeg-lossless' // process 14 (any predictor, and selection value 1)
  | 'jpeg-ls'
  | 'jpeg-2000';

export interface TransferSyntax {
  uid: string;
  name: string;
  littleEndian: boolean;
  explicitVR: boolean;
  deflated: boolean;
  encoding: PixelEncoding;
  lossy: boolean;
}

/** The transfer syntaxes we decode (plain literals, so that an unused table is dropped from bundles). */
export const TRANSFER_SYNTAXES: readonly TransferSyntax[] = [
  { uid: '1.2.840.10008.1.2', name: 'Implicit VR Little Endian', encoding: 'native', lossy: false, littleEndian: true, explicitVR: false, deflated: false },
  { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian', encoding: 'native', lossy: false, littleEndian: true, explicitVR: true, deflated: false },
  { uid: '1.2.840.10008.1.2.1.99', name: 'Deflated Explicit VR Little Endian', encoding: 'native', lossy: false, littleEndian: true, explicitVR: true, deflated: true },
  { uid: '1.2.840.10008.1.2.2', name: 'Explicit VR Big Endian', encoding: 'native', lossy: false, littleEndian: false, explicitVR: true, deflated: false },
  { uid: '1.2.840.10008.1.2.5', name: 'RLE Lossless', encoding: 'rle', lossy: false, littleEndian: true, explicitVR: true, deflated: false },
  { uid: '1.2.840.10008.1.2.4.50', name: 'JPEG Baseline (Process 1)', encoding: 'jpeg-baseline', lossy: true, littleEndian: true, explicitVR: true, deflated: false },
  { uid: '1.2.840.10008.1.2.4.51', name: 'JPEG Extended (Process 2 & 4)', encoding: 'jpeg-extended', lossy: true, littleEndian: true, explicitVR: true, deflated: false },
  { uid: '1.2.840.10008.1.2.4.57', name: 'JPEG Lossless, Non-Hierarchical (Process 14)', encoding: 'jpeg-lossless', lossy: false, littleEndian: true, explicitVR: true, deflated: false },
  { uid: '1.2.840.10008.1.2.4.70', name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])', encoding: 'jpeg-lossless', lossy: false, littleEndian: true, explicitVR: true, deflated: false },
  { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless Image Compression', encoding: 'jpeg-ls', lossy: false, littleEndian: true, explicitVR: true, deflated: false },
  { uid: '1.2.840.10008.1.2.4.81', name: 'JPEG-LS Lossy (Near-Lossless) Image Compression', encoding: 'jpeg-ls', lossy: true, littleEndian: true, explicitVR: true, deflated: false },
  { uid: '1.2.840.10008.1.2.4.90', name: 'JPEG 2000 Image Compression (Lossless Only)', encoding: 'jpeg-2000', lossy: false, littleEndian: true, explicitVR: true, deflated: false },
  { uid: '1.2.840.10008.1.2.4.91', name: 'JPEG 2000 Image Compression', encoding: 'jpeg-2000', lossy: true, littleEndian: true, explicitVR: true, deflated: false },
];

/** The syntax of a UID we decode, or undefined. */
export function transferSyntax(uid: string): TransferSyntax | undefined {
  return TRANSFER_SYNTAXES.find((t) => t.uid === uid);
}

/** Names of syntaxes we recognise but do not decode (PS3.6 Table A-1), for the error message. */
const OTHER_SYNTAXES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.52': 'JPEG Extended (Process 3 & 5) (retired)',
  '1.2.840.10008.1.2.4.53': 'JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8) (retired)',
  '1.2.840.10008.1.2.4.54': 'JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9) (retired)',
  '1.2.840.10008.1.2.4.55': 'JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (retired)',
  '1.2.840.10008.1.2.4.56': 'JPEG Full Progression, Non-Hierarchical (Process 11 & 13) (retired)',
  '1.2.840.10008.1.2.4.58': 'JPEG Lossless, Non-Hierarchical (Process 15) (retired)',
  '1.2.840.10008.1.2.4.59': 'JPEG Extended, Hierarchical (Process 16 & 18) (retired)',
  '1.2.840.10008.1.2.4.60': 'JPEG Extended, Hierarchical (Process 17 & 19) (retired)',
  '1.2.840.10008.1.2.4.61': 'JPEG Spectral Selection, Hierarchical (Process 20 & 22) (retired)',
  '1.2.840.10008.1.2.4.62': 'JPEG Spectral Selection, Hierarchical (Process 21 & 23) (retired)',
  '1.2.840.10008.1.2.4.63': 'JPEG Full Progression, Hierarchical (Process 24 & 26) (retired)',
  '1.2.840.10008.1.2.4.64': 'JPEG Full Progression, Hierarchical (Process 25 & 27) (retired)',
  '1.2.840.10008.1.2.4.65': 'JPEG Lossless, Hierarchical (Process 28) (retired)',
  '1.2.840.10008.1.2.4.66': 'JPEG Lossless, Hierarchical (Process 29) (retired)',
  '1.2.840.10008.1.2.4.92': 'JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)',
  '1.2.840.10008.1.2.4.93': 'JPEG 2000 Part 2 Multi-component Image Compression',
  '1.2.840.10008.1.2.4.94': 'JPIP Referenced',
  '1.2.840.10008.1.2.4.95': 'JPIP Referenced Deflate',
  '1.2.840.10008.1.2.4.100': 'MPEG2 Main Profile / Main Level',
  '1.2.840.10008.1.2.4.100.1': 'Fragmentable MPEG2 Main Profile / Main Level',
  '1.2.840.10008.1.2.4.101': 'MPEG2 Main Profile / High Level',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 AVC/H.264 High Profile / Level 4.1',
  '1.2.840.10008.1.2.4.103': 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1',
  '1.2.840.10008.1.2.4.104': 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video',
  '1.2.840.10008.1.2.4.105': 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video',
  '1.2.840.10008.1.2.4.106': 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2',
  '1.2.840.10008.1.2.4.107': 'HEVC/H.265 Main Profile / Level 5.1',
  '1.2.840.10008.1.2.4.108': 'HEVC/H.265 Main 10 Profile / Level 5.1',
  '1.2.840.10008.1.2.4.110': 'JPEG XL Lossless',
  '1.2.840.10008.1.2.4.111': 'JPEG XL JPEG Recompression',
  '1.2.840.10008.1.2.4.112': 'JPEG XL',
  '1.2.840.10008.1.2.4.201': 'High-Throughput JPEG 2000 Image Compression (Lossless Only)',
  '1.2.840.10008.1.2.4.202': 'High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)',
  '1.2.840.10008.1.2.4.203': 'High-Throughput JPEG 2000 Image Compression',
  '1.2.840.10008.1.2.4.204': 'JPIP HTJ2K Referenced',
  '1.2.840.10008.1.2.4.205': 'JPIP HTJ2K Referenced Deflate',
  '1.2.840.10008.1.2.6.1': 'RFC 2557 MIME encapsulation (retired)',
  '1.2.840.10008.1.2.6.2': 'XML Encoding (retired)',
  '1.2.840.10008.1.2.7.1': 'SMPTE ST 2110-20 Uncompressed Progressive Active Video',
  '1.2.840.10008.1.2.7.2': 'SMPTE ST 2110-20 Uncompressed Interlaced Active Video',
  '1.2.840.10008.1.2.7.3': 'SMPTE ST 2110-30 PCM Digital Audio',
  '1.2.840.10008.1.2.1.98': 'Encapsulated Uncompressed Explicit VR Little Endian',
  '1.2.840.113619.5.2': 'GE Private Implicit VR Big Endian',
};

/** The name of a transfer syntax UID, or 'an unknown transfer syntax'. */
export function syntaxName(uid: string): string {
  return transferSyntax(uid)?.name ?? OTHER_SYNTAXES[uid] ?? 'an unknown transfer syntax';
}

/** True for the syntaxes whose data set parses (all we decode, plus the other encapsulated ones). */
export function isEncapsulated(uid: string): boolean {
  const t = transferSyntax(uid);
  return t ? t.encoding !== 'native' : uid in OTHER_SYNTAXES || uid.startsWith('1.2.840.10008.1.2.4.');
}
