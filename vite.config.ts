// The demo page (demo/). `npx vite` (npm run demo:dev) serves it against the TypeScript sources.
// `npx vite build` (npm run demo:build) bundles it into out/demo against the built package: the
// imports of 'sam-unet-webgpu' and 'sam-unet-webgpu/worker' resolve through package.json's exports
// map to dist/ (run `npm run build` first), exactly as in an app that installed the package.
import { fileURLToPath } from 'node:url';
import { defineConfig, type Alias } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig(({ command }) => {
  const alias: Alias[] = command === 'serve'
    ? [
      { find: /^sam-unet-webgpu$/, replacement: here('./src/index.ts') },
      { find: /^sam-unet-webgpu\/worker$/, replacement: here('./src/worker/worker.ts') },
    ]
    : [];
  return {
    root: here('./demo'),
    base: './',
    resolve: { alias },
    // A module worker, bundled as ES: it may code-split (codecs loaded on demand).
    worker: { format: 'es' },
    // The dev server serves the worker's modules unbundled: jpeg-js, CommonJS, must be pre-bundled.
    optimizeDeps: { include: ['jpeg-js'] },
    build: {
      // Three pages: the demo, the scan demo (scan.html) and the benchmark page (bench.html, its run in bench-worker.ts).
      rollupOptions: { input: { index: here('./demo/index.html'), scan: here('./demo/scan.html'), bench: here('./demo/bench.html') } },
      outDir: here('./out/demo'),
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: true,
      reportCompressedSize: false,
    },
    server: { host: '127.0.0.1', fs: { allow: [here('.')] } },
    preview: { host: '127.0.0.1' },
  };
});
