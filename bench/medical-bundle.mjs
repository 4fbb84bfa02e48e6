// The browser bundle size with and without the DICOM codecs: two scratch Vite apps that import the
// built package (dist/, as an installed package would be; run `npm run build` first). App "image"
// decodes PNG/JPEG only; app "dicom" decodes DICOM files, which pulls in the parser and, as lazy
// chunks loaded only when a file needs them, the codecs and their .wasm assets. Prints each app's
// entry chunk and every lazy chunk and asset, minified and gzipped.
//   node bench/medical-bundle.mjs [--json OUT.json]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const apps = {
  image: `import { decodeImage } from 'sam-unet-webgpu';\nwindow.run = (b) => decodeImage(b);\n`,
  dicom: `import { decodeDicom, dicomImageToRgb } from 'sam-unet-webgpu';\nwindow.run = async (b) => dicomImageToRgb(await decodeDicom(b)).image;\n`,
};
const tmp = mkdtempSync(join(tmpdir(), 'medical-bundle-'));
const report = {};
try {
  for (const [name, main] of Object.entries(apps)) {
    const dir = join(tmp, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n');
    writeFileSync(join(dir, 'main.js'), main);
    const out = join(tmp, `out-${name}`);
    await build({
      root: dir, logLevel: 'silent', configFile: false,
      resolve: { alias: { 'sam-unet-webgpu': join(root, 'dist', 'index.js') } },
      build: { outDir: out, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
    });
    const files = readdirSync(join(out, 'assets')).map((f) => {
      const b = readFileSync(join(out, 'assets', f));
      return { file: f, bytes: statSync(join(out, 'assets', f)).size, gzip: gzipSync(b).length };
    });
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    const entry = files.find((f) => html.includes(f.file) && f.file.endsWith('.js'));
    report[name] = { entry, lazy: files.filter((f) => f !== entry) };
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const [name, r] of Object.entries(report)) {
  console.log(`${name}: entry ${r.entry.file} ${kb(r.entry.bytes)} (gzip ${kb(r.entry.gzip)})`);
  for (const f of r.lazy) console.log(`  lazy ${f.file.padEnd(44)} ${kb(f.bytes).padStart(10)} (gzip ${kb(f.gzip)})`);
}
const i = process.argv.indexOf('--json');
if (i > 0) writeFileSync(process.argv[i + 1], JSON.stringify(report, null, 2));
