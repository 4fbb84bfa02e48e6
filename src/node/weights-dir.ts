// Where the CLI finds weights: a `weights/` folder (git-ignored in a checkout; see weights/README.md)
// in the current directory, then the package's own (beside dist/). `--weights NAME` with a bare name
// (no path separator) that is not a file here is looked up there as NAME or NAME<ext>; without
// --weights, the one weights file in those folders is used.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** File name endings of weight files the CLI reads. */
export const WEIGHT_EXTENSIONS = ['.safetensors', '.pth'];

/** ./weights, then the package's weights/ (two levels above this file: src/node or dist/node). */
export function weightDirs(cwd = process.cwd()): string[] {
  const own = resolve(fileURLToPath(new URL('../../weights', import.meta.url)));
  const here = resolve(cwd, 'weights');
  return here === own ? [here] : [here, own];
}

const isFile = (path: string): boolean => existsSync(path) && statSync(path).isFile();

/** Weight files in `dirs` (full paths, sorted per folder). */
export function listWeights(dirs = weightDirs()): string[] {
  return dirs.flatMap((d) => {
    if (!existsSync(d) || !statSync(d).isDirectory()) return [];
    return readdirSync(d).filter((f) => WEIGHT_EXTENSIONS.some((e) => f.endsWith(e))).sort().map((f) => join(d, f));
  });
}

/**
 * The weights `arg` names: 'synthetic:…' and paths as they are; a bare name that is not a file in
 * the current directory, found in `dirs` as NAME or NAME<ext>. An Error lists the places tried.
 */
export function resolveWeights(arg: string, dirs = weightDirs()): string {
  if (arg.startsWith('synthetic:') || arg !== basename(arg) || isFile(arg)) return arg;
  const tried = dirs.flatMap((d) => [arg, ...WEIGHT_EXTENSIONS.map((e) => arg + e)].map((f) => join(d, f)));
  const found = tried.find(isFile);
  if (found) return found;
  throw new Error(`weights '${arg}': no such file here, nor ${tried.join(', ')} (see weights/README.md)`);
}
