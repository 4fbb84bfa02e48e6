// Embeds every shaders/<op>.wgsl into src/generated/shaders.ts so that the same sources reach
// the browser bundle, Deno and Node without a file-system read at run time, with each kernel's
// binding layout, params struct and override constants as TypeScript types (shader-layout.mjs).
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitShadersTs, kernelLayout, kernelSources } from './shader-layout.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'shaders');
// Files named _<part>.wgsl are shared snippets, pulled into a kernel by a line `#include "_<part>.wgsl"`;
// a kernel that includes _storage.wgsl also gets an f16 twin <name>_f16, one that includes
// _reduce.wgsl a subgroup variant <name>_sg (kernelSources, AXES).
const { kernels: sources, snippets } = kernelSources(dir);
const kernels = sources.map((k) => ({ ...k, layout: kernelLayout(k.name, k.code) }));
const out = emitShadersTs(kernels, snippets);
const target = join(root, 'src', 'generated', 'shaders.ts');
mkdirSync(dirname(target), { recursive: true });
if (!existsSync(target) || readFileSync(target, 'utf8') !== out) writeFileSync(target, out);
