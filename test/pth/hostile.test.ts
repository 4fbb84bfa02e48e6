// The hostile corpus of test/pth/hostile_checkpoints.py (code execution through every pickle
// route, recursion and memo bombs, sizes that lie, overlapping / outside / inconsistent zip
// entries, zip bombs, ZIP64 lies, other formats): every file must be rejected with the error class
// and message the manifest names (the few controls must load), reading nothing outside the file
// and no single read larger than it. Opening is followed by reading every tensor, so that lies
// found only then (a CRC) are reached. The largest files (the bombs) are also rejected by a Node
// process whose heap is capped at 5 MiB + the file's size (test/fuzz/fuzz-pth.ts --heap-check).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ByteSource } from '../../src/safetensors/read.js';
import { openAndReadAll } from '../fuzz/fuzz-pth.js';
import { python } from '../helpers/python.js';

const script = fileURLToPath(new URL('./hostile_checkpoints.py', import.meta.url));
const inCI = process.env.CI !== undefined;

interface Case {
  name: string;
  file: string;
  error: 'PthError' | 'UnsafePickleError' | null;
  match: string;
}

/** A ByteSource over `bytes` that records the reads asked of it. */
function tracked(bytes: Uint8Array) {
  const stats = { total: 0, largest: 0, outside: null as string | null };
  const src: ByteSource = {
    size: bytes.byteLength,
    read: async (offset, length) => {
      stats.total += length;
      stats.largest = Math.max(stats.largest, length);
      if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= bytes.byteLength)) {
        stats.outside ??= `read(${offset}, ${length}) of a ${bytes.byteLength}-byte file`;
      }
      return bytes.subarray(offset, offset + length);
    },
  };
  return { src, stats };
}

describe('hostile checkpoints', () => {
  const exe = python(false);
  if (!exe) {
    it.skipIf(!inCI)('needs python3 to write the corpus', () => expect.fail('python3 is missing under CI'));
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sam-unet-hostile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(exe, [script, dir], { stdio: 'ignore' });
  const cases = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Case[];

  it('the corpus covers every family', () => {
    const families = new Map<string, number>();
    for (const c of cases) families.set(c.name.split('-')[0]!, (families.get(c.name.split('-')[0]!) ?? 0) + 1);
    expect(Object.fromEntries(families)).toMatchObject({ exec: expect.any(Number), bomb: expect.any(Number), lie: expect.any(Number), zip: expect.any(Number), fmt: expect.any(Number) });
    expect(cases.length).toBeGreaterThan(120);
  });

  it('the bombs are rejected within a heap of 5 MiB + their size (a Node process each)', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'test/fuzz/tsconfig.json')], { stdio: 'pipe' });
    const out = execFileSync(process.execPath, [join(root, 'node_modules/.cache/fuzz/test/fuzz/fuzz-pth.js'), '--heap-check', dir, '65536'], { encoding: 'utf8' });
    console.log(out.trim());
    expect(out).toMatch(/heap check: [1-9]\d* files .* 0 FAILURES/);
  }, 300_000);

  for (const c of cases) {
    it(`${c.name}: ${c.error ? `${c.error} /${c.match}/` : 'loads'}`, async () => {
      const bytes = new Uint8Array(readFileSync(join(dir, c.file)));
      const { src, stats } = tracked(bytes);
      const outcome = await openAndReadAll(src).then(
        () => null,
        (e: unknown) => e as Error,
      );
      if (c.error === null) {
        expect(outcome, outcome?.message).toBeNull();
      } else {
        expect(outcome, 'accepted').not.toBeNull();
        expect(outcome!.name, outcome!.stack).toBe(c.error);
        expect(outcome!.message).toMatch(new RegExp(c.match));
        expect(outcome!.message.length, 'a bounded message').toBeLessThan(600);
      }
      expect(stats.outside).toBeNull();
      expect(stats.largest).toBeLessThanOrEqual(bytes.byteLength);
    });
  }
});
