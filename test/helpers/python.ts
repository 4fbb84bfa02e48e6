// Independent tools for the tests: a python3 with nibabel / pydicom / numpy (Debian's
// python3-nibabel, python3-pydicom) and command-line tools (dcmtk's dcmdump, dicom3tools'
// dciodvfy). Where one is missing the tests that need it skip with a message naming it; under CI
// (the CI variable set) they fail instead: see .ci/install-system.sh.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { it } from 'vitest';
import { repoRoot } from './shared.js';

const inCI = process.env.CI !== undefined;
const found = new Map<string, string | null>();

/** A python3 that imports every module in `modules`, or null. Debian's own first: pyenv shims lack its packages. */
export function pythonWith(modules: readonly string[]): string | null {
  const want = modules.join(',');
  if (!found.has(want)) {
    const candidates = [process.env.PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
    const ok = candidates.find((py) => spawnSync(py, ['-c', `import ${want}`], { stdio: 'ignore' }).status === 0) ?? null;
    found.set(want, ok);
  }
  return found.get(want)!;
}

/** Whether `tool` runs (found on PATH). */
export function haveTool(tool: string): boolean {
  if (!found.has(`tool:${tool}`)) found.set(`tool:${tool}`, spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0 ? tool : null);
  return found.get(`tool:${tool}`) !== null;
}

/**
 * An `it` that needs python modules and tools: skipped with a warning naming what is missing, or,
 * under CI, run so that it fails on the missing piece.
 */
export function itWithTools(name: string, needs: { python?: readonly string[]; tools?: readonly string[] }, fn: () => unknown, timeout?: number): void {
  const missing = [
    ...(needs.python && !pythonWith(needs.python) ? [`python3 with ${needs.python.join(', ')}`] : []),
    ...(needs.tools ?? []).filter((t) => !haveTool(t)),
  ];
  if (missing.length && !inCI) console.warn(`[tools] '${name}' is skipped: ${missing.join(' and ')} missing (see .ci/install-system.sh)`);
  it.skipIf(missing.length > 0 && !inCI)(
    name,
    async () => {
      if (missing.length) throw new Error(`missing ${missing.join(' and ')} (CI=${process.env.CI})`);
      await fn();
    },
    timeout,
  );
}

const run = promisify(execFile);

/** Runs test/py/<script> with `args` under the python that has `modules`; returns its stdout parsed as JSON. */
export async function runPy<T = unknown>(script: string, modules: readonly string[], args: readonly string[]): Promise<T> {
  const py = pythonWith(modules);
  if (!py) throw new Error(`no python3 with ${modules.join(', ')}`);
  const { stdout } = await run(py, [join(repoRoot, 'test', 'py', script), ...args], { maxBuffer: 1 << 26 });
  return JSON.parse(stdout) as T;
}

// The .pth tests' form: a python3 (with torch when `torch`) for scripts given by path.

/** A python3 that runs (and imports torch, when `torch`), or null (warning once outside CI). */
export function python(torch: boolean): string | null {
  const modules = torch ? ['torch'] : ['zipfile', 'pickle'];
  const py = pythonWith(modules);
  if (!py && !inCI && !found.has(`warned:${torch}`)) {
    found.set(`warned:${torch}`, null);
    console.warn(`[python] no ${torch ? 'python3 with torch (apt-get install python3-torch)' : 'python3'}: its tests are skipped`);
  }
  return py;
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

/** Runs a Python script given by path; returns its stdout (stderr is shown on failure). */
export function runPython(torch: boolean, script: string, args: string[]): string {
  return execFileSync(requirePython(torch), [script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}
