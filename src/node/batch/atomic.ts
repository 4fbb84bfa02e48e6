// Atomic output files: written to a temporary name in the same folder, flushed to disk (fsync),
// then renamed over the final name, and the folder flushed. A crash at any point leaves either no
// file or the whole file under the final name; the temporaries (`.NAME.PID.RANDOM.partial`) that
// a killed process leaves behind are removed by removePartials on the next run.
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const SUFFIX = '.partial';

/** Temporary files being written now: an abandoning process deletes them (abandonPartials). */
const inFlight = new Set<string>();

/** Writes `data` to `path` atomically (creating its folder). */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}${SUFFIX}`);
  inFlight.add(tmp);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  } finally {
    inFlight.delete(tmp);
  }
  await syncDir(dir);
}

/** fsync of a folder, so that the rename itself survives a power cut (not possible everywhere: ignored then). */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => null);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // Windows and some file systems cannot fsync a folder.
  } finally {
    await fh.close();
  }
}

/** Deletes the temporaries being written now (synchronously: for a process about to exit). */
export function abandonPartials(): void {
  for (const tmp of inFlight) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never created
    }
  }
  inFlight.clear();
}

/**
 * Deletes temporaries that an earlier, killed run left for any of `outputs` (only those: other
 * shards writing into the same folder keep theirs). Returns how many were removed.
 */
export async function removePartials(outputs: readonly string[]): Promise<number> {
  const byDir = new Map<string, Set<string>>();
  for (const o of outputs) {
    const names = byDir.get(dirname(o)) ?? new Set<string>();
    names.add(basename(o));
    byDir.set(dirname(o), names);
  }
  let removed = 0;
  for (const [dir, names] of byDir) {
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const e of entries) {
      const m = /^\.(.+)\.\d+\.[0-9a-f]{8}\.partial$/.exec(e);
      if (m && names.has(m[1]!)) {
        await unlink(join(dir, e)).catch(() => undefined);
        removed++;
      }
    }
  }
  return removed;
}
