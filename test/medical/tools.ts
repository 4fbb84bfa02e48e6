// The independent tools the medical tests compare against: Debian's python3 with pydicom, nibabel
// and numpy, dcmtk, dcm2niix, and the data their packages ship (pydicom's test files, nibabel's
// test data, the MRIcron templates). `.ci/install-system.sh` installs them. A test that needs one
// is skipped with a message naming it when it is absent and CI is unset; under CI it fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const inCI = process.env.CI !== undefined;

/** Debian's python3 (the one apt's python3-pydicom and python3-nibabel install into). */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const memo = new Map<string, string | null>();
/** null when `check` succeeds, else why the tool is missing. */
function probe(key: string, check: () => boolean): string | null {
  if (!memo.has(key)) {
    let ok = false;
    try {
      ok = check();
    } catch {
      ok = false;
    }
    memo.set(key, ok ? null : key);
  }
  return memo.get(key)!;
}

const pyImports = (mods: string) => spawnSync(PYTHON, ['-c', `import ${mods}`], { stdio: 'ignore' }).status === 0;
const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

export const TOOLS = {
  pydicom: () => probe('python3-pydicom (with numpy)', () => pyImports('pydicom, numpy')),
  nibabel: () => probe('python3-nibabel', () => pyImports('nibabel, numpy')),
  dcmtk: () => probe('dcmtk (dcmcjpeg, dcmdjpeg, dcmcrle, dcmcjpls, dcmdjpls)', () => ['dcmcjpeg', 'dcmdjpeg', 'dcmcrle', 'dcmcjpls', 'dcmdjpls'].every(onPath)),
  dcm2niix: () => probe('dcm2niix', () => onPath('dcm2niix')),
  mricron: () => probe('mricron-data (/usr/share/mricron/templates)', () => existsSync(MRICRON_TEMPLATES)),
};
export type Tool = keyof typeof TOOLS;

export const MRICRON_TEMPLATES = '/usr/share/mricron/templates';

/** The list of missing tools among `need` (empty when all are there). */
export function missing(...need: Tool[]): string[] {
  return need.map((t) => TOOLS[t]()).filter((m): m is string => m !== null);
}

/**
 * True when the test should be skipped: some tool is missing and CI is unset (a warning names
 * them). Under CI a missing tool makes this false, so the test runs and fails naming it.
 */
export function skipWithout(...need: Tool[]): boolean {
  const m = missing(...need);
  if (m.length && !inCI) {
    console.warn(`[medical] skipped: needs ${m.join(', ')} (bash .ci/install-system.sh installs them)`);
    return true;
  }
  return false;
}

/** Throws naming the missing tools (under CI a missing tool is a failure, not a skip). */
export function requireTools(...need: Tool[]): void {
  const m = missing(...need);
  if (m.length) throw new Error(`missing test tools: ${m.join(', ')} (run bash .ci/install-system.sh; CI=${process.env.CI ?? 'unset'})`);
}

/** pydicom's own test files (Debian's python3-pydicom ships them). */
export function pydicomTestFiles(): string {
  return execFileSync(PYTHON, ['-c', 'import pydicom.data, os; print(os.path.join(os.path.dirname(pydicom.data.__file__), "test_files"))'], { encoding: 'utf8' }).trim();
}

/** nibabel's test data folder. */
export function nibabelTestData(): string {
  return execFileSync(PYTHON, ['-c', 'import nibabel.tests, os; print(os.path.join(os.path.dirname(nibabel.tests.__file__), "data"))'], { encoding: 'utf8' }).trim();
}

/** Runs one of the scripts in test/medical/py with Debian's python3; returns stdout. */
export function runPython(script: string, args: string[]): string {
  const path = fileURLToPath(new URL(`./py/${script}`, import.meta.url));
  const r = spawnSync(PYTHON, [path, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Runs a command; throws with its stderr when it fails. */
export function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A fresh temporary folder, and a function that removes it. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
