// A strict reader of the zip container that torch.save writes (PyTorch ≥ 1.6, through miniz):
// random access by slice, nothing extracted. Only the end records and the central directory are
// read up front; an entry's local header is read and checked when the entry is first used.
//
// What torch writes (checked on 1.13): every record STORED (method 0), general-purpose flags 0x808
// (sizes in a data descriptor after the data, UTF-8 names), local headers padded through an extra
// field ("FB") so that data starts on a 64-byte boundary, and always a ZIP64 end record and
// locator besides the classic end record. Entries of 4 GiB or more carry ZIP64 extra fields.
//
// Refused, each by name: encrypted or compressed entries (torch never writes them; reading a
// compressed storage would mean inflating it), several disks, duplicate names, entries whose
// bytes overlap or run outside the region before the central directory, and local headers that
// disagree with the central directory (name, method, sizes, CRC).
//
// Format: APPNOTE.TXT 6.3.x, sections 4.3.7 (local header), 4.3.12 (central directory header),
// 4.3.14-16 (ZIP64 end record, locator, classic end record), 4.5.3 (ZIP64 extra field).

import type { ByteSource } from '../safetensors/read.js';
import { crc32 } from '../util/crc32.js';
import { PthError, quoted } from './errors.js';

/** One entry of the central directory. */
export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate, …; only stored entries can be read. */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  /** Uncompressed size. */
  readonly size: number;
  readonly localHeaderOffset: number;
  /** Where the next entry's local header (or the central directory) begins: this entry's bytes end before it. */
  readonly slotEnd: number;
  /** The name's raw bytes (the local header must repeat them). */
  readonly nameBytes: Uint8Array;
}

export interface ZipOptions {
  /** Most central-directory entries accepted (default 65536; a res50 checkpoint with Adam state has ~2,600). */
  maxEntries?: number;
  /** Check the CRC-32 of every read that covers a whole entry (default true). */
  verifyCrc?: boolean;
}

export const DEFAULT_MAX_ZIP_ENTRIES = 65536;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const END_SIZE = 22;
const LOCATOR64_SIZE = 20;
const END64_SIZE = 56;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const U32_MAX = 0xffffffff;
const METHODS: Record<number, string> = { 0: 'stored', 8: 'deflate', 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz' };

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/** A little-endian u64 as a number; a value past 2^53 is an error naming `what`. */
function u64(b: Uint8Array, o: number, what: string): number {
  const hi = u32(b, o + 4);
  if (hi >= 2 ** 21) throw new PthError(`zip: ${what} is ${BigInt(hi) * 2n ** 32n + BigInt(u32(b, o))}, past 2^53`);
  return hi * 2 ** 32 + u32(b, o);
}

/** Reads exactly `length` bytes; a short read (a file that shrank) is an error naming `what`. */
export async function readExact(src: ByteSource, offset: number, length: number, what: string): Promise<Uint8Array> {
  const got = await src.read(offset, length);
  if (got.byteLength !== length) {
    throw new PthError(`truncated: read ${got.byteLength} of ${length} bytes of ${what} at offset ${offset}`);
  }
  return got;
}

/** The central directory's place, from the end records. */
interface Directory {
  offset: number;
  size: number;
  count: number;
}

/** A zip archive opened for random access. */
export class ZipArchive {
  private readonly dataStarts = new Map<ZipEntry, number>();

  private constructor(
    readonly source: ByteSource,
    /** Entries by name. */
    readonly entries: ReadonlyMap<string, ZipEntry>,
    private readonly verifyCrc: boolean,
  ) {}

  /** Reads the end records and the central directory (nothing else) and checks them. */
  static async open(src: ByteSource, opts: ZipOptions = {}): Promise<ZipArchive> {
    const dir = await findDirectory(src, opts.maxEntries ?? DEFAULT_MAX_ZIP_ENTRIES);
    const bytes = await readExact(src, dir.offset, dir.size, 'the zip central directory');
    return new ZipArchive(src, parseDirectory(bytes, dir), opts.verifyCrc ?? true);
  }

  /**
   * Absolute file offset of the entry's data. The first call reads the local header and checks
   * it against the central directory: signature, name, method, sizes and CRC (unless deferred to
   * a data descriptor), and that the data ends inside the entry's slot.
   */
  async dataOffset(e: ZipEntry): Promise<number> {
    const known = this.dataStarts.get(e);
    if (known !== undefined) return known;
    const where = `zip entry ${quoted(e.name)}`;
    const h = await readExact(this.source, e.localHeaderOffset, LOCAL_SIZE, `the local header of ${where}`);
    if (u32(h, 0) !== SIG_LOCAL) throw new PthError(`${where}: no local header signature at offset ${e.localHeaderOffset}`);
    const nameLen = u16(h, 26);
    const extraLen = u16(h, 28);
    const start = e.localHeaderOffset + LOCAL_SIZE + nameLen + extraLen;
    if (start + e.compressedSize > e.slotEnd) {
      throw new PthError(`${where}: its data [${start}, ${start + e.compressedSize}) runs past the next entry or the central directory at ${e.slotEnd}`);
    }
    const tail = await readExact(this.source, e.localHeaderOffset + LOCAL_SIZE, nameLen + extraLen, `the local header of ${where}`);
    if (nameLen !== e.nameBytes.byteLength || !tail.subarray(0, nameLen).every((b, i) => b === e.nameBytes[i])) {
      throw new PthError(`${where}: the local header names ${quoted(new TextDecoder().decode(tail.subarray(0, nameLen)))}`);
    }
    const method = u16(h, 8);
    if (method !== e.method) throw new PthError(`${where}: method ${method} in the local header, ${e.method} in the central directory`);
    const flags = u16(h, 6);
    if (flags & 1) throw new PthError(`${where}: encrypted (local header)`);
    let [crc, csize, usize] = [u32(h, 14), u32(h, 18), u32(h, 22)];
    if (csize === U32_MAX || usize === U32_MAX) {
      const z = zip64Fields(tail.subarray(nameLen), { usize, csize, lho: 0, disk: 0 }, where);
      [csize, usize] = [z.csize, z.usize];
    }
    // With a data descriptor (flag bit 3) the local header may hold zeros; any value it does hold must agree.
    const deferred = (flags & 8) !== 0;
    const agree = (local: number, central: number) => local === central || (deferred && local === 0);
    if (!agree(csize, e.compressedSize) || !agree(usize, e.size) || !agree(crc, e.crc32)) {
      throw new PthError(
        `${where}: the local header says ${csize} bytes compressed, ${usize} uncompressed, CRC ${hex(crc)}; ` +
          `the central directory says ${e.compressedSize}, ${e.size}, ${hex(e.crc32)}`,
      );
    }
    this.dataStarts.set(e, start);
    return start;
  }

  /**
   * `length` bytes at `offset` inside a stored entry. A read of the whole entry is checked
   * against its CRC-32. A compressed entry is an error (see the header comment).
   */
  async read(e: ZipEntry, offset = 0, length = e.size): Promise<Uint8Array> {
    const where = `zip entry ${quoted(e.name)}`;
    assertStored(e);
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= e.size)) {
      throw new PthError(`${where}: bytes [${offset}, ${offset + length}) lie outside its ${e.size} bytes`);
    }
    const start = await this.dataOffset(e);
    const data = await readExact(this.source, start + offset, length, where);
    if (this.verifyCrc && offset === 0 && length === e.size && crc32(data) !== e.crc32) {
      throw new PthError(`${where}: CRC-32 ${hex(crc32(data))} does not match ${hex(e.crc32)} in the central directory (the file is corrupt)`);
    }
    return data;
  }
}

/** A compressed entry is an error: torch never writes one, and reading it would mean inflating it. */
export function assertStored(e: ZipEntry): void {
  if (e.method !== 0) {
    throw new PthError(
      `zip entry ${quoted(e.name)} is compressed (${METHODS[e.method] ?? `method ${e.method}`}); torch.save stores every record uncompressed, ` +
        'so another tool re-packed this archive: re-save it with torch.save, or re-pack it uncompressed (zip -0)',
    );
  }
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** Finds the end records (classic, then ZIP64 when there is a locator) and the directory they describe. */
async function findDirectory(src: ByteSource, maxEntries: number): Promise<Directory> {
  const size = src.size;
  if (size < END_SIZE) throw new PthError(`zip: the file is ${size} bytes, too short for a zip end record`);
  // The end record is the last 22 bytes plus a comment of at most 65535 bytes; the ZIP64 locator precedes it.
  const tailStart = Math.max(0, size - END_SIZE - 0xffff - LOCATOR64_SIZE);
  const tail = await readExact(src, tailStart, size - tailStart, 'the end of the file');
  let at = -1;
  for (let i = tail.byteLength - END_SIZE; i >= 0; i--) {
    if (u32(tail, i) === SIG_END && i + END_SIZE + u16(tail, i + 20) === tail.byteLength) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new PthError('zip: no end-of-central-directory record at the end of the file (truncated, or not a zip archive)');
  const endPos = tailStart + at;
  const disk = u16(tail, at + 4);
  const cdDisk = u16(tail, at + 6);
  let dir: Directory = { count: u16(tail, at + 10), size: u32(tail, at + 12), offset: u32(tail, at + 16) };
  let onDisk = u16(tail, at + 8);
  let dirEnd = endPos;
  const locAt = at - LOCATOR64_SIZE;
  if (locAt >= 0 && u32(tail, locAt) === SIG_LOCATOR64) {
    const z64At = u64(tail, locAt + 8, 'the ZIP64 end record offset');
    const locPos = tailStart + locAt;
    if (u32(tail, locAt + 4) !== 0 || u32(tail, locAt + 16) > 1) throw new PthError('zip: the archive spans several disks');
    if (z64At + END64_SIZE > locPos) throw new PthError(`zip: the ZIP64 end record offset ${z64At} does not lie before its locator at ${locPos}`);
    const r = await readExact(src, z64At, END64_SIZE, 'the ZIP64 end record');
    if (u32(r, 0) !== SIG_END64) throw new PthError(`zip: no ZIP64 end record at offset ${z64At}`);
    if (u32(r, 16) !== 0 || u32(r, 20) !== 0) throw new PthError('zip: the archive spans several disks');
    const z: Directory = { count: u64(r, 32, 'the ZIP64 entry count'), size: u64(r, 40, 'the ZIP64 directory size'), offset: u64(r, 48, 'the ZIP64 directory offset') };
    // The classic record's fields hold either the true value or the ZIP64 marker (all ones).
    const fits = (classic: number, real: number, marker: number) => classic === marker || classic === real;
    if (!fits(dir.count, z.count, 0xffff) || !fits(dir.size, z.size, U32_MAX) || !fits(dir.offset, z.offset, U32_MAX)) {
      throw new PthError(
        `zip: the end record (${dir.count} entries, directory of ${dir.size} bytes at ${dir.offset}) and the ZIP64 end record ` +
          `(${z.count}, ${z.size} at ${z.offset}) disagree`,
      );
    }
    onDisk = u64(r, 24, 'the ZIP64 entry count on this disk');
    dir = z;
    dirEnd = z64At;
  } else if (disk !== 0 || cdDisk !== 0) {
    throw new PthError('zip: the archive spans several disks');
  }
  if (onDisk !== dir.count) throw new PthError(`zip: ${onDisk} entries on this disk of ${dir.count} in all (a multi-disk archive)`);
  if (dir.offset + dir.size !== dirEnd) {
    throw new PthError(`zip: the central directory [${dir.offset}, ${dir.offset + dir.size}) does not end where the end records begin (${dirEnd})`);
  }
  if (dir.count > maxEntries) throw new PthError(`zip: ${dir.count} entries, more than the cap of ${maxEntries} (maxEntries)`);
  if (dir.count * CENTRAL_SIZE > dir.size) throw new PthError(`zip: ${dir.count} entries cannot fit in a central directory of ${dir.size} bytes`);
  return dir;
}

/** Reads the ZIP64 extra field (0x0001) for the fields whose 32-bit value is the marker. */
function zip64Fields(
  extra: Uint8Array,
  f: { usize: number; csize: number; lho: number; disk: number },
  where: string,
): { usize: number; csize: number; lho: number; disk: number } {
  for (let i = 0; i + 4 <= extra.byteLength; ) {
    const id = u16(extra, i);
    const len = u16(extra, i + 2);
    if (i + 4 + len > extra.byteLength) throw new PthError(`${where}: an extra field runs past the extra data`);
    if (id === 0x0001) {
      const out = { ...f };
      let p = i + 4;
      const take = (what: string) => {
        if (p + 8 > i + 4 + len) throw new PthError(`${where}: the ZIP64 extra field is too short for the ${what}`);
        const v = u64(extra, p, `the ${what} of ${where}`);
        p += 8;
        return v;
      };
      if (f.usize === U32_MAX) out.usize = take('uncompressed size');
      if (f.csize === U32_MAX) out.csize = take('compressed size');
      if (f.lho === U32_MAX) out.lho = take('local header offset');
      return out;
    }
    i += 4 + len;
  }
  throw new PthError(`${where}: a size or offset is 0xFFFFFFFF but there is no ZIP64 extra field`);
}

/** Parses and checks every central-directory entry; returns them by name, each with its slot. */
function parseDirectory(b: Uint8Array, dir: Directory): Map<string, ZipEntry> {
  const decoder = new TextDecoder();
  const raw: Omit<ZipEntry, 'slotEnd'>[] = [];
  let p = 0;
  for (let k = 0; k < dir.count; k++) {
    if (p + CENTRAL_SIZE > b.byteLength || u32(b, p) !== SIG_CENTRAL) {
      throw new PthError(`zip: central directory entry ${k} of ${dir.count} is missing or damaged (at directory byte ${p})`);
    }
    const nameLen = u16(b, p + 28);
    const extraLen = u16(b, p + 30);
    const commentLen = u16(b, p + 32);
    const end = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (end > b.byteLength) throw new PthError(`zip: central directory entry ${k} runs past the directory`);
    const nameBytes = b.slice(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen);
    const name = decoder.decode(nameBytes);
    const where = `zip entry ${quoted(name)}`;
    const flags = u16(b, p + 8);
    if (flags & 0x41) throw new PthError(`${where} is encrypted`);
    let f = { usize: u32(b, p + 24), csize: u32(b, p + 20), lho: u32(b, p + 42), disk: u16(b, p + 34) };
    if (f.usize === U32_MAX || f.csize === U32_MAX || f.lho === U32_MAX) {
      f = zip64Fields(b.subarray(p + CENTRAL_SIZE + nameLen, p + CENTRAL_SIZE + nameLen + extraLen), f, where);
    }
    if (f.disk !== 0 && f.disk !== 0xffff) throw new PthError(`${where} lies on disk ${f.disk} (a multi-disk archive)`);
    const method = u16(b, p + 10);
    if (method === 0 && f.csize !== f.usize) {
      throw new PthError(`${where} is stored (uncompressed) but its sizes differ: ${f.csize} compressed, ${f.usize} uncompressed`);
    }
    if (f.lho + LOCAL_SIZE + nameLen + f.csize > dir.offset) {
      throw new PthError(`${where}: local header at ${f.lho} with ${f.csize} bytes of data runs past the start of the central directory (${dir.offset})`);
    }
    raw.push({ name, method, flags, crc32: u32(b, p + 16), compressedSize: f.csize, size: f.usize, localHeaderOffset: f.lho, nameBytes });
    p = end;
  }
  if (p !== b.byteLength) throw new PthError(`zip: ${b.byteLength - p} unexplained bytes after the ${dir.count} central directory entries`);
  // Slots: entries sorted by local header offset may not overlap; each may use the bytes up to the next.
  const sorted = [...raw].sort((x, y) => x.localHeaderOffset - y.localHeaderOffset);
  const entries = new Map<string, ZipEntry>();
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    const next = sorted[i + 1];
    const slotEnd = next ? next.localHeaderOffset : dir.offset;
    const minEnd = e.localHeaderOffset + LOCAL_SIZE + e.nameBytes.byteLength + e.compressedSize;
    if (minEnd > slotEnd) {
      throw new PthError(`zip entries ${quoted(e.name)} [${e.localHeaderOffset}, ${minEnd}) and ${quoted(next!.name)} (at ${slotEnd}) overlap`);
    }
    if (entries.has(e.name)) throw new PthError(`zip: two entries are named ${quoted(e.name)}`);
    entries.set(e.name, { ...e, slotEnd });
  }
  return entries;
}
