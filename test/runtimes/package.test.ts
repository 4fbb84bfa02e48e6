// The package as an app sees it: package.json's exports map points at built ESM files with
// declarations, and Node imports it by name (the root and the Node-only './node' entry; the
// './worker' script refuses to run outside a worker).
// The browser side (a Vite build pulling in no Node-only module) is in chromium.test.ts; Deno
// imports the package by name in deno/golden.js.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/shared.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

describe('the package', () => {
  it('is ESM with an exports map whose entries exist, each with declarations', () => {
    expect(pkg.type).toBe('module');
    for (const [name, entry] of Object.entries(pkg.exports as Record<string, string | { types: string; import: string }>)) {
      if (typeof entry === 'string') {
        expect(existsSync(join(repoRoot, entry)), `${name} → ${entry}`).toBe(true);
        continue;
      }
      expect(existsSync(join(repoRoot, entry.import)), `${name} → ${entry.import} (run npm run build)`).toBe(true);
      expect(existsSync(join(repoRoot, entry.types)), `${name} → ${entry.types}`).toBe(true);
    }
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './node', './worker']));
  });

  it('imports by name in Node: the browser-safe root and the Node-only ./node entry', () => {
    const code = `const m = await import('sam-unet-webgpu'); const n = await import('sam-unet-webgpu/node');
      console.log(JSON.stringify({ root: Object.keys(m).sort(), node: Object.keys(n).sort() }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: repoRoot, encoding: 'utf8' }));
    expect(out.root).toEqual(expect.arrayContaining(['SamUnet', 'requestGpu', 'streamWeights', 'blobWeights', 'fetchWeights', 'loadWeightsFromStream', 'syntheticWeights']));
    expect(out.node).toEqual(expect.arrayContaining(['fileWeights', 'fileStream', 'fileSource', 'loadWeightsFromFile']));
    expect(out.root).not.toContain('fileSource'); // node:fs stays out of the root entry
  });

  it("'./worker' is a Web Worker's script: imported instead, it says how to start it", () => {
    const code = `import('sam-unet-webgpu/worker').then(() => console.log('imported'), (e) => console.log(JSON.stringify({ name: e.name, message: e.message })));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: repoRoot, encoding: 'utf8' }));
    expect(out.name).toBe('SamUnetWorkerError');
    expect(out.message).toMatch(/new Worker\(url, \{ type: 'module' \}\)/);
  });
});
