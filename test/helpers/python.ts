// Tests that run Python (fixtures written by real PyTorch, hostile files crafted with pickle and
// zipfile) find the interpreter here. PYTHON names one explicitly; otherwise /usr/bin/python3
// (Debian's, where apt's python3-torch lives) and then python3 on PATH are tried. Without a
// suitable interpreter the tests skip with a warning naming what is missing, except under CI,
// where they fail.
import { execFileSync, spawnSync } from 'node:child_process';
import { it } from 'vitest';

const inCI = process.env.CI !== undefined;
const found = new Map<boolean, string | null>();

/** An interpreter that runs (and imports torch, when `torch`), or null. */
export function python(torch: boolean): string | null {
  if (found.has(torch)) return found.get(torch)!;
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['/usr/bin/python3', 'python3'];
  let hit: string | null = null;
  for (const exe of candidates) {
    const r = spawnSync(exe, ['-c', torch ? 'import torch' : 'import zipfile, pickle'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) {
      hit = exe;
      break;
    }
  }
  if (!hit && !inCI) console.warn(`[python] no ${torch ? 'python3 with torch (apt-get install python3-torch)' : 'python3'}: its tests are skipped`);
  found.set(torch, hit);
  return hit;
}

/** The interpreter, or an error naming what is missing (inside a test that needs it). */
export function requirePython(torch: boolean): string {
  const exe = python(torch);
  if (!exe) throw new Error(`${torch ? 'python3 with torch (Debian: python3-torch)' : 'python3'} is missing (CI=${process.env.CI ?? 'unset'})`);
  return exe;
}

/** An `it` that needs Python (with torch when `torch`): skipped when absent, failing under CI. */
export function itPython(torch: boolean, name: string, fn: () => unknown | Promise<unknown>, timeout?: number): void {
  it.skipIf(!python(torch) && !inCI)(name, fn, timeout);
}

/** Runs a Python script; returns its stdout (stderr is shown on failure). */
export function runPython(torch: boolean, script: string, args: string[]): string {
  return execFileSync(requirePython(torch), [script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}
