// `sam-unet batch` as a user runs it (dist/cli.js in a subprocess, synthetic res34 weights, Node +
// lavapipe), on a manifest of six phantom images, a corrupt PNG and a volume item:
//   A  a full run, SIGKILLed as soon as two masks exist (possibly in the middle of an item);
//   B  --resume, interrupted by SIGINT after its first item: it finishes the current item, exits 130;
//   C  --resume --shard 1/2 and D  --resume --shard 2/2 complete the rest (D: the two bad items fail,
//      exit 1, each listed with its error; the others are done).
// Afterwards no partial file is left, every mask is a whole PNG, and the masks of one item per
// kind of prompt (two boxes; points only; box and point) equal the library's for the same inputs. Also: usage and manifest errors exit 2
// naming the line, and --dry-run shows shards 1/3, 2/3, 3/3 covering every line exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '../src/image/png.js';
import { maskFromLogits } from '../src/image/mask.js';
import { sheppLogan } from '../src/image/phantom.js';
import { syntheticWeights } from '../src/model/keys.js';
import type { PromptSet } from '../src/model/prompts.js';
import { SamUnet } from '../src/model/sam_unet.js';
import { testGpu } from './helpers/gpu.js';
import { repoRoot } from './helpers/shared.js';

const cli = join(repoRoot, 'dist', 'cli.js');
const dir = mkdtempSync(join(tmpdir(), 'sam-unet-batch-'));
const outDir = join(dir, 'out');
const manifest = join(dir, 'manifest.jsonl');

type Line = { input: string; boxes?: number[][]; points?: number[][]; out: string } | Record<string, unknown>;
const sizes = [48, 56, 64, 72, 80, 88];
const lines: Line[] = [
  { input: 'p0.png', boxes: [[8, 8, 30, 36]], out: 'masks/p0.png' },
  { input: 'p1.png', boxes: [[4, 6, 40, 44], [20, 10, 50, 30]], out: 'masks/p1.png' }, // two sets: p1-0.png, p1-1.png
  { input: 'p2.png', points: [[30, 32, 1], [5, 5, 0]], out: 'masks/p2.png' },
  { input: 'corrupt.png', boxes: [[1, 1, 9, 9]], out: 'masks/corrupt.png' },
  { input: 'p3.png', boxes: [[10, 12, 60, 50]], out: 'p3.png' },
  { input: 'p4.png', boxes: [[15, 15, 70, 64]], points: [[40, 40, 1]], out: 'masks/p4.png' },
  { input: 'p5.png', boxes: [[2, 3, 80, 85]], out: 'masks/p5.png' },
  { input: 'ct.nii.gz', boxes: [[3, 1, 1, 20, 20]], out: 'ct-labels.nii.gz', seg: 'ct-seg.dcm' },
];
/** Image items' masks, by manifest line (1-based). */
const masks: Record<number, string[]> = {
  1: ['masks/p0.png'], 2: ['masks/p1-0.png', 'masks/p1-1.png'], 3: ['masks/p2.png'], 5: ['p3.png'], 6: ['masks/p4.png'], 7: ['masks/p5.png'],
};
const allMasks = Object.values(masks).flat().map((m) => join(outDir, m));

beforeAll(() => {
  expect(existsSync(cli), 'dist/cli.js is missing: run npm run build').toBe(true);
  sizes.forEach((s, i) => {
    const im = sheppLogan(s);
    writeFileSync(join(dir, `p${i}.png`), encodePng(im.width, im.height, im.data, 3));
  });
  writeFileSync(join(dir, 'corrupt.png'), readFileSync(join(dir, 'p0.png')).subarray(0, 300)); // cut inside IDAT
  writeFileSync(manifest, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[]): Run {
  const child = spawn(process.execPath, [cli, 'batch', manifest, '--out-dir', outDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => err + out, done };
}

async function until(what: string, cond: () => boolean, run: Run, timeoutMs = 300_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (run.child.exitCode !== null) throw new Error(`the batch exited (${run.child.exitCode}) before ${what}:\n${run.stderr()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}:\n${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const partials = (): string[] => {
  const found: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.partial')) found.push(relative(outDir, join(d, e.name)));
    }
  };
  walk(outDir);
  return found;
};

/** Every existing mask decodes (CRC-checked, whole) and is 1-channel 0/255. */
function checkWhole(): number {
  let n = 0;
  for (const m of allMasks) {
    if (!existsSync(m)) continue;
    const img = decodePng(readFileSync(m));
    expect(img.data.every((v) => v === 0 || v === 255), m).toBe(true);
    n++;
  }
  return n;
}

async function dryRun(shard: string): Promise<string[]> {
  const r = start(['--dry-run', '--shard', shard]);
  const { code } = await r.done;
  expect(code, r.stderr()).toBe(0);
  return r.stderr().trim().split('\n').filter(Boolean);
}

describe('sam-unet batch', () => {
  it('rejects usage and manifest errors with exit 2, naming the line; --dry-run shards cover every line once', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify(lines[0])}\n{"input": "x.png", "boxes": [[1, 2, 3]], "out": "x.png"}\n`);
    const r1 = spawn(process.execPath, [cli, 'batch', bad, '--out-dir', outDir, '--weights', 'synthetic:res34']);
    let e1 = '';
    r1.stderr.on('data', (d) => (e1 += d));
    expect(await new Promise((res) => r1.on('exit', res))).toBe(2);
    expect(e1).toContain('bad.jsonl: line 2: boxes[0] must be 4 finite numbers, got [1,2,3]');
    const r2 = start(['--weights', 'synthetic:res34', '--shard', '4/3']);
    expect((await r2.done).code).toBe(2);
    expect(r2.stderr()).toMatch(/--shard must be K\/N with 1 ≤ K ≤ N/);
    const r3 = start([]);
    expect((await r3.done).code).toBe(2);
    expect(r3.stderr()).toMatch(/batch needs --weights/);

    const shards = await Promise.all(['1/3', '2/3', '3/3'].map(dryRun));
    const owned = shards.map((rows) => rows.map((row) => Number(row.split('\t')[0])));
    expect(owned).toEqual([[1, 4, 7], [2, 5, 8], [3, 6]]);
    expect(shards[0]![0]).toBe(`1\timage\t${join(dir, 'p0.png')}\t${join(outDir, 'masks/p0.png')}\ttodo`);
  }, 60_000);

  it('survives SIGKILL and SIGINT; resume and shards finish the rest; masks equal the library\'s', async () => {
    const weights = ['--weights', 'synthetic:res34'];
    // A: killed as soon as two masks exist.
    const a = start(weights);
    await until('two masks', () => allMasks.filter((m) => existsSync(m)).length >= 2, a);
    a.child.kill('SIGKILL');
    expect((await a.done).signal).toBe('SIGKILL');
    const afterKill = checkWhole();
    console.log(`[batch] A: killed with ${afterKill} mask(s) written, partial files: ${partials().join(', ') || 'none'}`);

    // B: resumed, then Ctrl-C once its first item is done: it finishes the item it is on and stops.
    const b = start([...weights, '--resume']);
    await until('an item done', () => / done\n/.test(b.stderr()), b);
    b.child.kill('SIGINT');
    const bExit = await b.done;
    expect(bExit.code, b.stderr()).toBe(130);
    expect(b.stderr()).toMatch(/interrupted: finishing the current item/);
    expect(b.stderr()).toMatch(/not run \(interrupted\)/);
    expect(partials()).toEqual([]);
    const afterInt = checkWhole();
    expect(afterInt).toBeGreaterThan(afterKill);

    // C, D: the two shards finish what is left.
    const c = start([...weights, '--resume', '--shard', '1/2']);
    const cExit = await c.done;
    expect(cExit.code, c.stderr()).toBe(0);
    expect(c.stderr()).toMatch(/batch: 4 item\(s\) in shard 1\/2: \d done, [1-4] skipped \(already done\), 0 failed/);
    const d = start([...weights, '--resume', '--shard', '2/2']);
    const dExit = await d.done;
    expect(dExit.code, d.stderr()).toBe(1);
    expect(d.stderr()).toMatch(/batch: 4 item\(s\) in shard 2\/2: \d done, \d skipped \(already done\), 2 failed/);
    expect(d.stderr()).toContain(`failed: line 4 (corrupt.png): ImageDecodeError`);
    expect(d.stderr()).toMatch(/failed: line 8 \(ct\.nii\.gz\): .*no such file/); // a volume item whose scan is missing
    console.log(`[batch] D:\n${d.stderr().trim()}`);
    expect(partials()).toEqual([]);
    expect(checkWhole()).toBe(allMasks.length);
    expect(existsSync(join(outDir, 'masks/corrupt.png'))).toBe(false);
    const rows = (await dryRun('1/1')).map((r) => r.split('\t'));
    expect(rows.filter((r) => r[1] === 'image' && r[4] === 'done').map((r) => Number(r[0]))).toEqual([1, 2, 3, 5, 6, 7]);

    // The masks are the library's: one item of each kind of prompt (two boxes; points only; a box and a point).
    const model = await SamUnet.load(await testGpu(), syntheticWeights('res34'));
    try {
      for (const [lineNo, files] of Object.entries(masks).filter(([n]) => ['2', '3', '6'].includes(n))) {
        const l = lines[Number(lineNo) - 1] as { input: string; boxes?: [number, number, number, number][]; points?: [number, number, number][] };
        const image = decodePng(readFileSync(join(dir, l.input)));
        const sets: PromptSet[] = l.boxes ? l.boxes.map((box) => ({ box, points: l.points ?? [] })) : [{ points: l.points! }];
        const r = await model.segment(image, sets);
        files.forEach((f, i) => {
          const got = decodePng(readFileSync(join(outDir, f)));
          const want = maskFromLogits(r.logits[i]!, r.width, r.height);
          expect([got.width, got.height], f).toEqual([image.width, image.height]);
          const diff = want.findIndex((v, p) => got.data[3 * p] !== v);
          expect(diff, `${f}: first differing pixel`).toBe(-1);
        });
      }
    } finally {
      model.destroy();
    }
  }, 900_000);
});
