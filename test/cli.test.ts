// The `sam-unet` CLI (dist/cli.js, built by `npm test`) end to end: the res34 golden case from its
// PNG, with synthetic weights written by `synth-weights`, must reproduce the reference logits.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../src/image/decode.js';
import { listWeights, resolveWeights, weightDirs } from '../src/node/weights-dir.js';
import { fileSource } from '../src/safetensors/node.js';
import { bytesSource, SafetensorsFile } from '../src/safetensors/read.js';
import { serializeSafetensors } from '../src/safetensors/write.js';
import { maxAbsDiff } from './helpers/gpu.js';
import { goldenPath, itShared, repoRoot } from './helpers/shared.js';

const run = promisify(execFile);
const cli = join(repoRoot, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'sam-unet-cli-'));

async function sam(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [cli, ...args], { maxBuffer: 1 << 24, cwd });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('sam-unet CLI', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('explains its usage and rejects bad arguments with exit code 2', async () => {
    const none = await sam([]);
    expect(none.code).toBe(2);
    const bad = await sam(['segment', 'x.png', '--weights', 'w', '--out', 'm.png', '--box', '1,2,3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--box '1,2,3': expected 4 comma-separated numbers");
    const prec = await sam(['segment', 'x.png', '--weights', 'w', '--out', 'm.png', '--box', '1,2,3,4', '--precision', 'f8']);
    expect(prec.code).toBe(2);
    expect(prec.stderr).toContain("--precision must be f32, f16, f16-compute, q8, got 'f8'");
    const unknown = await sam(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });

  it('fails with exit code 1 and a named error for a missing or corrupt weights file', async () => {
    const png = join(dir, 'tiny.png');
    const { encodePng } = await import('../src/image/decode.js');
    writeFileSync(png, encodePng(2, 2, new Uint8Array(12), 3));
    const missing = await sam(['segment', png, '--weights', join(dir, 'nope.safetensors'), '--box', '0,0,1,1', '--out', join(dir, 'm.png')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.safetensors/);
    const junk = join(dir, 'junk.safetensors');
    writeFileSync(junk, new Uint8Array([1, 2, 3]));
    const corrupt = await sam(['segment', png, '--weights', junk, '--box', '0,0,1,1', '--out', join(dir, 'm.png')]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/shorter than the 8-byte header/);
  });

  it('finds weights in weights/: a bare --weights NAME, or the one file there without --weights', async () => {
    const cwd = join(dir, 'lookup');
    const w = join(cwd, 'weights');
    mkdirSync(w, { recursive: true });
    const other = join(dir, 'other-weights');
    mkdirSync(other);
    writeFileSync(join(w, 'junk.safetensors'), new Uint8Array([1, 2, 3]));
    writeFileSync(join(other, 'b.safetensors'), new Uint8Array(0));
    writeFileSync(join(other, 'notes.txt'), 'not weights');
    // Resolution: paths and synthetic: as given; a bare name in the folders, with or without the extension.
    expect(weightDirs(cwd)[0]).toBe(w);
    expect(resolveWeights('synthetic:res34', [w])).toBe('synthetic:res34');
    expect(resolveWeights('./nope.safetensors', [w])).toBe('./nope.safetensors');
    expect(resolveWeights('junk', [other, w])).toBe(join(w, 'junk.safetensors'));
    expect(resolveWeights('b.safetensors', [other, w])).toBe(join(other, 'b.safetensors'));
    expect(() => resolveWeights('missing', [w])).toThrow(new RegExp(`weights 'missing': no such file here, nor ${w}/missing, ${w}/missing\\.safetensors`));
    expect(listWeights([w, other, join(dir, 'absent')])).toEqual([join(w, 'junk.safetensors'), join(other, 'b.safetensors')]);

    const png = join(dir, 'tiny2.png');
    const { encodePng } = await import('../src/image/decode.js');
    writeFileSync(png, encodePng(2, 2, new Uint8Array(12), 3));
    const args = [png, '--box', '0,0,1,1', '--out', join(dir, 'm2.png')];
    const named = await sam(['segment', ...args, '--weights', 'junk'], cwd);
    expect(named.code).toBe(1);
    expect(named.stderr).toContain(`${join(w, 'junk.safetensors')}: `);
    expect(named.stderr).toMatch(/shorter than the 8-byte header/);
    const lone = await sam(['segment', ...args], cwd);
    expect(lone.stderr).toContain(`weights: ${join(w, 'junk.safetensors')}`);
    expect(lone.code).toBe(1);
    writeFileSync(join(w, 'second.safetensors'), new Uint8Array(0));
    const two = await sam(['segment', ...args], cwd);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/segment needs --weights: .* hold \d+ weight files/);
  });

  itShared('segment reproduces the res34_box_point_mask golden logits from the PNG', async () => {
    const weights = join(dir, 'res34.safetensors');
    const w = await sam(['synth-weights', '--variant', 'res34', '--out', weights]);
    expect(w.code, w.stderr).toBe(0);
    const golden = await SafetensorsFile.open(await fileSource(join(goldenPath, 'res34_box_point_mask.safetensors')));
    const maskIn = join(dir, 'mask-in.safetensors');
    writeFileSync(maskIn, serializeSafetensors([{ name: 'low_res_logits', dtype: 'F32', shape: [1, 1, 64, 64], data: await golden.readF32('input.mask_inputs') }]));
    const out = join(dir, 'mask.png');
    const logitsPath = join(dir, 'logits.safetensors');
    const r = await sam(['segment', join(goldenPath, 'images', 's0619_32.png'), '--weights', weights,
      '--box', '103,44,122,59', '--point', '110,51,1', '--mask-input', maskIn, '--out', out, '--logits', logitsPath]);
    expect(r.code, r.stderr).toBe(0);
    console.log(r.stderr.trim().split('\n').map((l) => `[cli] ${l}`).join('\n'));
    expect(r.stderr).toMatch(/adapter: /);
    expect(r.stderr).toMatch(/encode \d+ ms.*decode \d+ ms/);
    const ours = await SafetensorsFile.open(bytesSource(readFileSync(logitsPath)));
    const low = maxAbsDiff(await ours.readF32('low_res_logits'), await golden.readF32('low_res_logits'));
    const refLogits = await golden.readF32('logits');
    const logits = await ours.readF32('logits');
    const full = maxAbsDiff(logits, refLogits);
    console.log(`[cli] res34_box_point_mask: low_res_logits max err ${low.maxAbs.toExponential(2)}, logits max err ${full.maxAbs.toExponential(2)}`);
    expect(low.maxAbs).toBeLessThanOrEqual(2e-3);
    expect(full.maxAbs).toBeLessThanOrEqual(2e-3);
    // The mask PNG: 255 where logits > 0, agreeing with the reference wherever |ref| > 1e-2.
    const mask = decodeImage(readFileSync(out));
    expect([mask.width, mask.height]).toEqual([225, 155]);
    for (let i = 0; i < refLogits.length; i++) {
      if (Math.abs(refLogits[i]!) > 1e-2) expect(mask.data[i * 3]! > 0, `mask pixel ${i}`).toBe(refLogits[i]! > 0);
    }
  });
});
