// The batch manifest: JSON Lines, one item per line, checked whole before any work starts (every
// shard checks every line, so a bad manifest fails each shard the same way). Errors name the line.
//
// Image item (PNG or JPEG; prompts as for `sam-unet segment`: each box is one prompt set, the
// points join every set, or form the only set when there is no box):
//   {"input": "a.png", "boxes": [[x0, y0, x1, y1]], "points": [[x, y, 1]], "out": "a-mask.png"}
//   N boxes write out-0.png … out-(N-1).png, as `segment` does.
// Volume item (a NIfTI file, a DICOM file, or a DICOM series folder written with a trailing '/'):
//   {"input": "ct1.nii.gz", "boxes": [[z, x0, y0, x1, y1]], "points": [[z, x, y, 1]], "label": 1,
//    "out": "ct1-labels.nii.gz", "seg": "ct1-seg.dcm"}
//   or several objects at once: "objects": [{"label": 1, "boxes": [...], "points": [...]}, …];
//   z is the axial slice index (0-based; for a usual axial series or NIfTI the volume's k) and x, y
//   that slice's display pixels (src/volume/slice.ts), as for `sam-unet volume`.
// Optional on any item: "kind": "image" | "volume" (else told from the input's name).
// Paths: `input` relative to the manifest's folder (or absolute); outputs relative to --out-dir
// and inside it.
import { isAbsolute, relative, resolve } from 'node:path';

/** A manifest that cannot be run; the message names the line. */
export class ManifestError extends Error {
  override name = 'ManifestError';
}

type Box = [number, number, number, number];
type Point = [number, number, number];

interface ItemBase {
  /** 1-based line number in the manifest. */
  line: number;
  /** Absolute input path. */
  input: string;
  /** Every file the item writes (absolute): all present = done (--resume). */
  outputs: string[];
}

export interface ImageItem extends ItemBase {
  kind: 'image';
  boxes: Box[];
  points: Point[];
}

export interface VolumeObject {
  label: number;
  /** [slice, x0, y0, x1, y1] */
  boxes: [number, ...Box][];
  /** [slice, x, y, label] */
  points: [number, ...Point][];
}

export interface VolumeItem extends ItemBase {
  kind: 'volume';
  objects: VolumeObject[];
}

export type BatchItem = ImageItem | VolumeItem;

const IMAGE_FIELDS = ['kind', 'input', 'out', 'boxes', 'points'];
const VOLUME_FIELDS = ['kind', 'input', 'out', 'seg', 'boxes', 'points', 'label', 'objects'];

/** 'image' for .png/.jpg/.jpeg, 'volume' for .nii/.nii.gz/.dcm or a folder ('…/'), else null. */
function kindOf(input: string): 'image' | 'volume' | null {
  if (/\.(png|jpe?g)$/i.test(input)) return 'image';
  if (/(\.nii(\.gz)?|\.dcm|\/)$/i.test(input)) return 'volume';
  return null;
}

/** Mask files of an image item: `out` for one prompt set, out-0.png … for several (as `segment`). */
export function maskPaths(out: string, sets: number): string[] {
  if (sets === 1) return [out];
  const stem = out.replace(/\.png$/i, '');
  return Array.from({ length: sets }, (_, i) => `${stem}-${i}.png`);
}

export interface ManifestPaths {
  /** Folder that relative inputs are resolved against (the manifest's). */
  manifestDir: string;
  /** --out-dir: outputs are resolved against it and must stay inside it. */
  outDir: string;
}

/** Parses and checks every line; blank lines are skipped (they keep their place for sharding). */
export function parseManifest(text: string, paths: ManifestPaths): BatchItem[] {
  const items: BatchItem[] = [];
  const owner = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const lineText = raw.trim();
    if (!lineText) return;
    const item = parseItem(lineText, i + 1, paths);
    for (const o of item.outputs) {
      const other = owner.get(o);
      if (other !== undefined) throw new ManifestError(`line ${item.line}: output ${o} is also written by line ${other}`);
      owner.set(o, item.line);
    }
    items.push(item);
  });
  if (!items.length) throw new ManifestError('the manifest has no items');
  return items;
}

function parseItem(text: string, line: number, paths: ManifestPaths): BatchItem {
  const fail = (msg: string): never => {
    throw new ManifestError(`line ${line}: ${msg}`);
  };
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return fail('expected a JSON object');
  const obj = o as Record<string, unknown>;
  if (typeof obj.input !== 'string' || !obj.input) return fail('"input" must be a non-empty string');
  const kind = obj.kind ?? kindOf(obj.input);
  if (kind !== 'image' && kind !== 'volume') {
    return fail(obj.kind === undefined ? `cannot tell the kind of input '${obj.input}' from its name: add "kind": "image" or "volume"` : `"kind" must be "image" or "volume", got ${JSON.stringify(obj.kind)}`);
  }
  const fields = kind === 'image' ? IMAGE_FIELDS : VOLUME_FIELDS;
  for (const k of Object.keys(obj)) if (!fields.includes(k)) fail(`unknown field '${k}' (a${kind === 'image' ? 'n image' : ' volume'} item has ${fields.join(', ')})`);
  const output = (field: string, ext: RegExp, what: string): string => {
    const v = obj[field];
    if (typeof v !== 'string' || !v) return fail(`"${field}" must be a non-empty string`);
    if (!ext.test(v)) fail(`"${field}" '${v}' must be ${what}`);
    const abs = resolve(paths.outDir, v);
    const rel = relative(paths.outDir, abs);
    if (isAbsolute(v) || !rel || rel.startsWith('..') || isAbsolute(rel)) fail(`"${field}" '${v}' must be a path inside --out-dir`);
    return abs;
  };
  const input = resolve(paths.manifestDir, obj.input);
  if (kind === 'image') {
    const boxes = list(obj.boxes, 'boxes', 4, fail) as Box[];
    const points = list(obj.points, 'points', 3, fail) as Point[];
    boxes.forEach((b, i) => checkBox(b, `boxes[${i}]`, fail));
    points.forEach((p, i) => checkLabel(p[2], `points[${i}]`, fail));
    if (!boxes.length && !points.length) fail('needs at least one box or point');
    const out = output('out', /\.png$/i, 'a .png file');
    return { kind, line, input, boxes, points, outputs: maskPaths(out, Math.max(1, boxes.length)) };
  }
  const single = obj.boxes !== undefined || obj.points !== undefined || obj.label !== undefined;
  if (single && obj.objects !== undefined) fail('give either "objects" or "boxes" / "points" / "label", not both');
  const rawObjects = single ? [{ label: obj.label ?? 1, boxes: obj.boxes, points: obj.points }] : obj.objects;
  if (!Array.isArray(rawObjects) || !rawObjects.length) return fail('needs "objects" (a non-empty array) or "boxes" / "points"');
  const labels = new Set<number>();
  const objects = rawObjects.map((r: unknown, n): VolumeObject => {
    const where = single ? '' : `objects[${n}].`;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return fail(`${where.slice(0, -1) || 'object'} must be a JSON object`);
    const ro = r as Record<string, unknown>;
    for (const k of Object.keys(ro)) if (!['label', 'boxes', 'points'].includes(k)) fail(`unknown field '${where}${k}' (an object has label, boxes, points)`);
    const label = ro.label ?? 1;
    if (!Number.isInteger(label) || (label as number) < 1 || (label as number) > 65535) fail(`"${where}label" must be an integer 1 … 65535`);
    if (labels.has(label as number)) fail(`label ${label} is given to two objects`);
    labels.add(label as number);
    const boxes = list(ro.boxes, `${where}boxes`, 5, fail) as [number, ...Box][];
    const points = list(ro.points, `${where}points`, 4, fail) as [number, ...Point][];
    for (const [i, v] of [...boxes, ...points].entries()) {
      if (!Number.isInteger(v[0]) || v[0] < 0) fail(`${where}${i < boxes.length ? `boxes[${i}]` : `points[${i - boxes.length}]`}: the slice index (first number) must be an integer ≥ 0`);
    }
    boxes.forEach((b, i) => checkBox(b.slice(1) as Box, `${where}boxes[${i}]`, fail));
    points.forEach((p, i) => checkLabel(p[3], `${where}points[${i}]`, fail));
    if (!boxes.length && !points.length) fail(`${where || 'the item '}needs at least one box or point`);
    return { label: label as number, boxes, points };
  });
  const outputs = [output('out', /\.nii(\.gz)?$/i, 'a .nii or .nii.gz file')];
  if (obj.seg !== undefined) outputs.push(output('seg', /\.dcm$/i, 'a .dcm file'));
  return { kind, line, input, objects, outputs };
}

/** An optional array of arrays of `n` finite numbers. */
function list(v: unknown, field: string, n: number, fail: (m: string) => never): number[][] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(`"${field}" must be an array of arrays of ${n} numbers`);
  return (v as unknown[]).map((x, i) => {
    if (!Array.isArray(x) || x.length !== n || !x.every((c) => typeof c === 'number' && Number.isFinite(c))) {
      fail(`${field}[${i}] must be ${n} finite numbers, got ${JSON.stringify(x)}`);
    }
    return x as number[];
  });
}

function checkBox([x0, y0, x1, y1]: Box, what: string, fail: (m: string) => never): void {
  if (!(x0 < x1 && y0 < y1)) fail(`${what}: needs x0 < x1 and y0 < y1, got [${x0}, ${y0}, ${x1}, ${y1}]`);
}

function checkLabel(l: number, what: string, fail: (m: string) => never): void {
  if (l !== 0 && l !== 1) fail(`${what}: the point label must be 1 (foreground) or 0 (background), got ${l}`);
}

/** `K/N` → { k, n } with 1 ≤ K ≤ N. */
export function parseShard(s: string): { k: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const k = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(k >= 1 && k <= n)) throw new ManifestError(`--shard must be K/N with 1 ≤ K ≤ N (e.g. 2/8), got '${s}'`);
  return { k, n };
}

/** Whether the item on manifest line `line` (1-based) belongs to shard k of n: line i (0-based) goes to shard (i mod n) + 1. */
export function inShard(line: number, shard: { k: number; n: number }): boolean {
  return ((line - 1) % shard.n) + 1 === shard.k;
}
