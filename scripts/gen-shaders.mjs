// Embeds every shaders/<op>.wgsl into src/generated/shaders.ts so that the same sources reach
// the browser bundle, Deno and Node without a file-system read at run time, with each kernel's
// binding layout, params struct and override constants as TypeScript types (shader-layout.mjs).
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitShadersTs, expandIncludes, kernelLayout } from './shader-layout.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'shaders');
// Files named _<part>.wgsl are shared snippets, pulled into a kernel by a line `#include "_<part>.wgsl"`.
const names = readdirSync(dir).filter((f) => f.endsWith('.wgsl') && !f.startsWith('_')).sort();
const kernels = names.map((f) => {
  const name = f.slice(0, -5);
  const code = expandIncludes(dir, f);
  return { name, code, layout: kernelLayout(name, code) };
});
const out = emitShadersTs(kernels);
const target = join(root, 'src', 'generated', 'shaders.ts');
mkdirSync(dirname(target), { recursive: true });
if (!existsSync(target) || readFileSync(target, 'utf8') !== out) writeFileSync(target, out);
