// Copies the codec WebAssembly files next to the built DICOM codec loader
// (dist/medical/dicom/wasm/), where src/medical/dicom/codecs.ts finds them in a browser through
// `new URL('./wasm/<file>', import.meta.url)` (bundlers such as Vite emit them as assets). Node
// loads them from the codec packages themselves.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const out = join(root, 'dist', 'medical', 'dicom', 'wasm');
mkdirSync(out, { recursive: true });
for (const [pkg, file] of [
  ['@cornerstonejs/codec-libjpeg-turbo-8bit', 'libjpegturbowasm_decode.wasm'],
  ['@cornerstonejs/codec-charls', 'charlswasm_decode.wasm'],
  ['@cornerstonejs/codec-openjpeg', 'openjpegwasm_decode.wasm'],
]) {
  copyFileSync(require.resolve(`${pkg}/decodewasm`), join(out, file));
}
