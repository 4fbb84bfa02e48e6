// Fuzzing the scan readers: real DICOM and NIfTI files (pydicom's test files in every transfer
// syntax we decode, nibabel's test data), mutated (truncations, bit flips, image attributes and
// length fields set to edge values, fragment and item lengths, transfer syntax swaps, NIfTI header
// fields, gzip damage), then read. Every case must end in a well-formed result (sizes that agree,
// finite values) or a ScanError (DicomError / NiftiError / SeriesError); any other exception,
// or a case slower than the time limit, is a failure. Cases are reproducible from (seed, index).
//
// Run it (10000 cases by default), after bash .ci/install-system.sh:
//   npm run fuzz:medical -- [--cases N] [--seed S] [--start I] [--timeout-ms T]
// The CLI runs the cases in a worker thread and stops it when one makes no progress (a hang),
// naming the case. test/medical/fuzz.test.ts runs a few hundred in CI.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'fflate';
import { caseSeed, rng, type Rng } from './rng.js';
import { decodeDicom } from '../../src/medical/dicom/image.js';
import { ScanError } from '../../src/medical/errors.js';
import { readNifti } from '../../src/medical/nifti.js';
import { nibabelTestData, pydicomTestFiles } from '../medical/tools.js';

export interface Base {
  name: string;
  kind: 'dicom' | 'nifti';
  bytes: Uint8Array;
}

const DICOM_BASES = [
  'CT_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_RLE.dcm', 'MR_small_jp2klossless.dcm',
  'MR_small_jpeg_ls_lossless.dcm', 'JPGExtended.dcm', 'image_dfl.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'SC_rgb_rle_16bit_2frame.dcm',
  'rtdose.dcm', 'liver_1frame.dcm', 'SC_rgb_jpeg_gdcm.dcm', 'ExplVR_BigEnd.dcm', 'SC_ybr_full_422_uncompressed.dcm', '693_J2KI.dcm',
];
const NIFTI_BASES = ['standard.nii.gz', 'example_nifti2.nii.gz', 'functional.nii', 'anatomical.nii'];

/** The base files, from the installed pydicom and nibabel packages. */
export function loadBases(): Base[] {
  const d = pydicomTestFiles(), n = nibabelTestData();
  return [
    ...DICOM_BASES.map((f) => ({ name: f, kind: 'dicom' as const, bytes: new Uint8Array(readFileSync(join(d, f))) })),
    ...NIFTI_BASES.map((f) => ({ name: f, kind: 'nifti' as const, bytes: new Uint8Array(readFileSync(join(n, f))) })),
  ];
}

const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const EDGE16 = [0, 1, 2, 3, 7, 8, 12, 15, 16, 17, 31, 32, 33, 0x7fff, 0x8000, 0xfffe, 0xffff];
const EDGE32 = [0, 1, 2, 3, 0xff, 0xfff0, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000000];

/** Offsets where the tag (group, element) is written, little or big endian. */
function findTag(b: Uint8Array, group: number, element: number): { at: number; le: boolean }[] {
  const out: { at: number; le: boolean }[] = [];
  for (let i = 0; i + 4 <= b.length; i++) {
    if (b[i] === (group & 0xff) && b[i + 1] === group >> 8 && b[i + 2] === (element & 0xff) && b[i + 3] === element >> 8) out.push({ at: i, le: true });
    else if (b[i] === group >> 8 && b[i + 1] === (group & 0xff) && b[i + 2] === element >> 8 && b[i + 3] === (element & 0xff)) out.push({ at: i, le: false });
  }
  return out;
}

function put(b: Uint8Array, at: number, v: number, size: 2 | 4, le: boolean): void {
  if (at < 0 || at + size > b.length) return;
  const dv = new DataView(b.buffer, b.byteOffset);
  if (size === 2) dv.setUint16(at, v & 0xffff, le);
  else dv.setUint32(at, v >>> 0, le);
}

const IMAGE_TAGS: [number, number, string][] = [
  [0x0028, 0x0010, 'rows'], [0x0028, 0x0011, 'columns'], [0x0028, 0x0100, 'bits-allocated'], [0x0028, 0x0101, 'bits-stored'],
  [0x0028, 0x0102, 'high-bit'], [0x0028, 0x0103, 'pixel-representation'], [0x0028, 0x0002, 'samples-per-pixel'], [0x0028, 0x0006, 'planar'],
];

function mutateDicom(r: Rng, src: Uint8Array): { mutation: string; bytes: Uint8Array } {
  const b = src.slice();
  const roll = r() * 100;
  if (roll < 12) return { mutation: 'truncate', bytes: b.subarray(0, int(r, 0, b.length - 1)) };
  if (roll < 24) {
    for (let k = int(r, 1, 6); k > 0; k--) b[int(r, 0, b.length - 1)] ^= 1 << int(r, 0, 7);
    return { mutation: 'bit-flips', bytes: b };
  }
  if (roll < 34) {
    for (let k = int(r, 1, 4); k > 0; k--) b[int(r, 0, Math.min(b.length, 1500) - 1)] = int(r, 0, 255);
    return { mutation: 'header-bytes', bytes: b };
  }
  if (roll < 52) {
    const [g, e, name] = pick(r, IMAGE_TAGS);
    const hits = findTag(b, g, e);
    if (hits.length) {
      const h = pick(r, hits);
      // Explicit VR: tag, VR (2), length (2), value; implicit: tag, length (4), value.
      const explicit = /^[A-Z]{2}$/.test(String.fromCharCode(b[h.at + 4], b[h.at + 5]));
      put(b, h.at + (explicit ? 8 : 8), pick(r, EDGE16), 2, h.le);
    }
    return { mutation: `attr-${name}`, bytes: b };
  }
  if (roll < 60) {
    const hits = findTag(b, 0x0028, 0x0008); // NumberOfFrames (IS)
    const text = pick(r, ['0', '-1', '2', '999999', '1e9', 'x', '65536']);
    if (hits.length) for (let i = 0; i < text.length; i++) b[hits[0].at + 8 + i] = text.charCodeAt(i);
    return { mutation: 'number-of-frames', bytes: b };
  }
  if (roll < 70) {
    const hits = findTag(b, 0x7fe0, 0x0010);
    if (hits.length) {
      const h = hits[hits.length - 1];
      put(b, h.at + (/^O[BW]$/.test(String.fromCharCode(b[h.at + 4], b[h.at + 5])) ? 8 : 4), pick(r, EDGE32), 4, h.le);
    }
    return { mutation: 'pixel-data-length', bytes: b };
  }
  if (roll < 80) {
    const items = findTag(b, 0xfffe, 0xe000);
    if (items.length) put(b, pick(r, items).at + 4, pick(r, [...EDGE32, int(r, 0, 5000)]), 4, true);
    return { mutation: 'item-length', bytes: b };
  }
  if (roll < 86) {
    const hits = findTag(b, 0x0002, 0x0010);
    const uid = pick(r, ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.1.99', '1.2.3']);
    if (hits.length) {
      const h = hits[0];
      const len = b[h.at + 6] | (b[h.at + 7] << 8);
      for (let i = 0; i < len; i++) b[h.at + 8 + i] = i < uid.length ? uid.charCodeAt(i) : 0;
    }
    return { mutation: 'transfer-syntax', bytes: b };
  }
  if (roll < 92) {
    const at = int(r, 0, b.length - 1), n = int(r, 1, 256);
    const cut = r() < 0.5;
    const out = cut ? new Uint8Array([...b.subarray(0, at), ...b.subarray(at + n)]) : new Uint8Array([...b.subarray(0, at), ...b.subarray(at, at + n), ...b.subarray(at)]);
    return { mutation: cut ? 'delete-chunk' : 'duplicate-chunk', bytes: out };
  }
  if (roll < 96) {
    for (let k = int(r, 1, 8); k > 0; k--) put(b, int(r, 0, b.length - 4) & ~1, pick(r, EDGE32), 4, r() < 0.5);
    return { mutation: 'random-u32', bytes: b };
  }
  const out = new Uint8Array(int(r, 0, 400));
  for (let i = 0; i < out.length; i++) out[i] = int(r, 0, 255);
  if (r() < 0.5 && out.length > 132) out.set([0x44, 0x49, 0x43, 0x4d], 128);
  return { mutation: 'random-file', bytes: out };
}

function mutateNifti(r: Rng, src: Uint8Array): { mutation: string; bytes: Uint8Array } {
  const gz = src[0] === 0x1f && src[1] === 0x8b;
  if (gz && r() < 0.25) {
    const b = src.slice();
    if (r() < 0.5) return { mutation: 'gzip-truncate', bytes: b.subarray(0, int(r, 0, b.length - 1)) };
    for (let k = int(r, 1, 4); k > 0; k--) b[int(r, 0, b.length - 1)] ^= 1 << int(r, 0, 7);
    return { mutation: 'gzip-bit-flips', bytes: b };
  }
  const b = gz ? gunzipSync(src) : src.slice();
  const dv = new DataView(b.buffer, b.byteOffset);
  const v2 = dv.getInt32(0, true) === 540 || dv.getInt32(0, false) === 540;
  const le = dv.getInt32(0, true) === 348 || dv.getInt32(0, true) === 540;
  let mutation: string;
  const roll = r() * 100;
  const f = (at: number, v: number) => (v2 ? dv.setFloat64(at, v, le) : dv.setFloat32(at, v, le));
  const edgeF = () => pick(r, [NaN, Infinity, -Infinity, 0, -1, 1e30, -1e-30, 2 ** 31, 3.5]);
  if (roll < 25) {
    const d = int(r, 0, 7);
    const v = pick(r, [-1, 0, 1, 2, 7, 8, 1000, 32767, -32768, 65535]);
    if (v2) dv.setBigInt64(16 + 8 * d, BigInt(pick(r, [v, 2 ** 40, -(2 ** 40)])), le);
    else dv.setInt16(40 + 2 * d, v, le);
    mutation = `dim-${d}`;
  } else if (roll < 40) {
    if (r() < 0.5) (v2 ? dv.setInt16(12, pick(r, [0, 1, 2, 3, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1536, 2304, -1, 9999]), le) : dv.setInt16(70, pick(r, [0, 1, 2, 3, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1536, 2304, -1]), le));
    else v2 ? dv.setInt16(14, pick(r, [0, 1, 8, 16, 24, 32, 64, 128, -8]), le) : dv.setInt16(72, pick(r, [0, 1, 8, 16, 24, 32, 64, 128, -8]), le);
    mutation = 'datatype-bitpix';
  } else if (roll < 50) {
    if (v2) dv.setBigInt64(168, BigInt(pick(r, [0, 1, 100, 540, 544, 2 ** 31, -8, 2 ** 50])), le);
    else dv.setFloat32(108, pick(r, [0, 1, 100, 348, 352, 353.5, 2 ** 31, -8, NaN, Infinity]), le);
    mutation = 'vox-offset';
  } else if (roll < 60) {
    f(v2 ? 176 : 112, edgeF());
    f(v2 ? 184 : 116, edgeF());
    mutation = 'scaling';
  } else if (roll < 72) {
    v2 ? dv.setInt32(344, pick(r, [0, 1, 2, 4, -1]), le) : dv.setInt16(252, pick(r, [0, 1, 2, 4, -1]), le);
    v2 ? dv.setInt32(348, pick(r, [0, 1, 2, 4, -1]), le) : dv.setInt16(254, pick(r, [0, 1, 2, 4, -1]), le);
    for (let k = int(r, 0, 3); k > 0; k--) f(v2 ? 352 + 8 * int(r, 0, 17) : 256 + 4 * int(r, 0, 17), edgeF());
    mutation = 'affine-fields';
  } else if (roll < 80) {
    f((v2 ? 104 : 76) + (v2 ? 8 : 4) * int(r, 0, 7), edgeF());
    mutation = 'pixdim';
  } else if (roll < 90) {
    for (let k = int(r, 1, 6); k > 0; k--) b[int(r, 0, b.length - 1)] ^= 1 << int(r, 0, 7);
    mutation = 'bit-flips';
  } else {
    return { mutation: 'truncate', bytes: (gz && r() < 0.5 ? gzipSync : (x: Uint8Array) => x)(b.subarray(0, int(r, 0, b.length - 1))) };
  }
  return { mutation, bytes: gz && r() < 0.7 ? gzipSync(b) : b };
}

export interface FuzzCase {
  index: number;
  base: string;
  kind: Base['kind'];
  mutation: string;
  bytes: Uint8Array;
}

export function makeCase(bases: Base[], seed: number, index: number): FuzzCase {
  const r = rng(caseSeed(seed, index));
  const base = pick(r, bases);
  const m = base.kind === 'dicom' ? mutateDicom(r, base.bytes) : mutateNifti(r, base.bytes);
  return { index, base: base.name, kind: base.kind, ...m };
}

export interface CaseResult {
  index: number;
  mutation: string;
  base: string;
  outcome: string; // 'ok' or the error class
  message: string;
  ms: number;
  failure: string | null;
}

/** Reads the case; checks the result is well formed or the error is a ScanError. */
export async function runCase(c: FuzzCase, timeoutMs: number): Promise<CaseResult> {
  const t0 = performance.now();
  let outcome = 'ok', message = '', failure: string | null = null;
  try {
    if (c.kind === 'dicom') {
      const img = await decodeDicom(c.bytes);
      const per = img.info.rows * img.info.columns * img.channels;
      if (img.frames.length !== img.info.frames) failure = `${img.frames.length} frames decoded of ${img.info.frames}`;
      for (const f of img.frames) {
        if (f.length !== per) failure = `a frame of ${f.length} values, expected ${per}`;
        else if (!f.every(Number.isFinite)) failure = 'non-finite values in a decoded frame';
      }
    } else {
      const v = readNifti(c.bytes);
      if (v.data.length !== v.dims[0] * v.dims[1] * v.dims[2]) failure = `data of ${v.data.length} for dims ${v.dims.join('×')}`;
      else if (!v.data.every(Number.isFinite)) failure = 'non-finite voxel values';
      else if (!v.affine.every(Number.isFinite)) failure = 'a non-finite affine';
    }
  } catch (e) {
    outcome = e instanceof Error ? e.name : typeof e;
    message = e instanceof Error ? e.message : String(e);
    if (!(e instanceof ScanError)) failure = `${outcome}: ${message.slice(0, 300)}`;
  }
  const ms = performance.now() - t0;
  if (!failure && ms > timeoutMs) failure = `took ${ms.toFixed(0)} ms (limit ${timeoutMs})`;
  return { index: c.index, mutation: c.mutation, base: c.base, outcome, message, ms, failure };
}

export interface FuzzSummary {
  cases: number;
  ok: number;
  rejected: number;
  byOutcome: Record<string, number>;
  byMutation: Record<string, number>;
  slowest: CaseResult | null;
  failures: CaseResult[];
}

export async function runFuzz(o: { cases: number; seed: number; start?: number; caseTimeoutMs: number; onCase?: (r: CaseResult) => void }): Promise<FuzzSummary> {
  const bases = loadBases();
  const s: FuzzSummary = { cases: 0, ok: 0, rejected: 0, byOutcome: {}, byMutation: {}, slowest: null, failures: [] };
  for (let i = o.start ?? 0; i < (o.start ?? 0) + o.cases; i++) {
    const res = await runCase(makeCase(bases, o.seed, i), o.caseTimeoutMs);
    s.cases++;
    if (res.outcome === 'ok') s.ok++;
    else s.rejected++;
    s.byOutcome[res.outcome] = (s.byOutcome[res.outcome] ?? 0) + 1;
    s.byMutation[res.mutation] = (s.byMutation[res.mutation] ?? 0) + 1;
    if (!s.slowest || res.ms > s.slowest.ms) s.slowest = res;
    if (res.failure) s.failures.push(res);
    o.onCase?.(res);
  }
  return s;
}

export function formatSummary(s: FuzzSummary): string {
  const lines = [
    `${s.cases} cases: ${s.ok} read, ${s.rejected} rejected (${Object.entries(s.byOutcome).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    `  mutations: ${Object.entries(s.byMutation).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  slowest: case ${s.slowest?.index} (${s.slowest?.mutation} of ${s.slowest?.base}) ${s.slowest?.ms.toFixed(1)} ms`,
    ...s.failures.slice(0, 20).map((f) => `  FAILURE case ${f.index} (${f.mutation} of ${f.base}): ${f.failure}`),
  ];
  return lines.join('\n');
}

async function cli(): Promise<void> {
  const { parseArgs } = await import('node:util');
  const { Worker, isMainThread, parentPort, workerData } = await import('node:worker_threads');
  if (!isMainThread) {
    const summary = await runFuzz({ ...(workerData as Parameters<typeof runFuzz>[0]), onCase: (r) => parentPort!.postMessage({ type: 'case', index: r.index, mutation: r.mutation }) });
    parentPort!.postMessage({ type: 'done', summary });
    return;
  }
  const { values } = parseArgs({ options: { cases: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' }, start: { type: 'string', default: '0' }, 'timeout-ms': { type: 'string', default: '5000' }, 'hang-ms': { type: 'string', default: '60000' } } });
  const o = { cases: Number(values.cases), seed: Number(values.seed), start: Number(values.start), caseTimeoutMs: Number(values['timeout-ms']) };
  const hangMs = Number(values['hang-ms']);
  const worker = new Worker(new URL(import.meta.url), { workerData: o });
  let last = { index: o.start - 1, mutation: '' }, lastAt = Date.now(), done = 0;
  const timer = setInterval(() => {
    if (Date.now() - lastAt > hangMs) {
      console.error(`HANG: case ${last.index + 1} (seed ${o.seed}) made no progress for ${hangMs} ms: rerun with --start ${last.index + 1} --cases 1`);
      void worker.terminate();
      clearInterval(timer);
      process.exitCode = 2;
    }
  }, 1000);
  worker.on('message', (m: { type: string; index: number; mutation: string; summary: FuzzSummary }) => {
    if (m.type === 'case') {
      [last, lastAt] = [m, Date.now()];
      if (++done % 1000 === 0) console.error(`… ${done} cases`);
    } else {
      clearInterval(timer);
      console.log(formatSummary(m.summary));
      if (m.summary.failures.length) process.exitCode = 1;
    }
  });
  worker.on('error', (e) => {
    clearInterval(timer);
    console.error(`worker died after case ${last.index}: ${e.stack ?? e}`);
    process.exitCode = 3;
  });
}

const me = /fuzz-medical\.(m?js)$/;
const isCli = typeof process !== 'undefined' && process.argv[1] !== undefined && me.test(process.argv[1]);
const inWorker = await import('node:worker_threads').then((w) => !w.isMainThread && me.test(new URL(import.meta.url).pathname), () => false);
if (isCli || inWorker) await cli();
