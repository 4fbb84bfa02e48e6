// The batch machinery without a GPU: manifest parsing (errors name the line), sharding, atomic
// writes and the clean-up of a killed run's partial files, the progress reporter on a terminal and
// off it, and the runner (resume, failures, a fatal error, an abort).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removePartials, writeFileAtomic } from '../src/node/batch/atomic.js';
import { inShard, ManifestError, maskPaths, parseManifest, parseShard, type BatchItem } from '../src/node/batch/manifest.js';
import { clock, progressReporter } from '../src/node/batch/progress.js';
import { runBatch, summaryText } from '../src/node/batch/run.js';

const dir = mkdtempSync(join(tmpdir(), 'sam-unet-batch-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const paths = { manifestDir: '/data/m', outDir: '/out' };
const parse = (lines: unknown[]) => parseManifest(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'), paths);
const img = (extra: Record<string, unknown> = {}) => ({ input: 'a.png', boxes: [[1, 2, 30, 40]], out: 'a-mask.png', ...extra });

describe('parseManifest', () => {
  it('reads image items: paths resolved, N boxes give N masks, blank lines keep their number', () => {
    const items = parse([img(), '', { input: '/abs/b.jpg', boxes: [[0, 0, 5, 5], [1, 1, 9, 9]], points: [[3, 3, 1], [4, 4, 0]], out: 'sub/b.png' }, { input: 'c.PNG', points: [[1, 1, 1]], out: 'c.png' }]);
    expect(items.map((i) => [i.line, i.kind, i.input, i.outputs])).toEqual([
      [1, 'image', '/data/m/a.png', ['/out/a-mask.png']],
      [3, 'image', '/abs/b.jpg', ['/out/sub/b-0.png', '/out/sub/b-1.png']],
      [4, 'image', '/data/m/c.PNG', ['/out/c.png']],
    ]);
    expect(items[1]).toMatchObject({ boxes: [[0, 0, 5, 5], [1, 1, 9, 9]], points: [[3, 3, 1], [4, 4, 0]] });
    expect(maskPaths('x.png', 1)).toEqual(['x.png']);
  });

  it('reads volume items, one object or several, with their slice indices', () => {
    const [one, many, folder] = parse([
      { input: 'ct.nii.gz', boxes: [[12, 1, 2, 30, 40]], points: [[12, 5, 6, 1]], out: 'ct-labels.nii.gz', seg: 'ct-seg.dcm' },
      { input: 'mr.nii', objects: [{ label: 2, boxes: [[0, 1, 1, 5, 5]] }, { label: 7, points: [[3, 2, 2, 1]] }], out: 'mr.nii' },
      { input: 'series1/', kind: 'volume', boxes: [[4, 0, 0, 9, 9]], out: 's1.nii.gz' },
    ]) as Extract<BatchItem, { kind: 'volume' }>[];
    expect(one).toMatchObject({ kind: 'volume', objects: [{ label: 1, boxes: [[12, 1, 2, 30, 40]], points: [[12, 5, 6, 1]] }], outputs: ['/out/ct-labels.nii.gz', '/out/ct-seg.dcm'] });
    expect(many!.objects.map((o) => o.label)).toEqual([2, 7]);
    expect(folder!.input).toBe('/data/m/series1');
  });

  it('names the line and the problem of a bad item', () => {
    const bad: [unknown, RegExp][] = [
      ['{"input": "a.png",', /line 2: not valid JSON/],
      [[1, 2], /line 2: expected a JSON object/],
      [img({ boxs: [] }), /line 2: unknown field 'boxs' \(an image item has kind, input, out, boxes, points\)/],
      [img({ input: '' }), /line 2: "input" must be a non-empty string/],
      [img({ input: 'a.tif' }), /line 2: cannot tell the kind of input 'a.tif' from its name: add "kind"/],
      [img({ kind: 'video' }), /"kind" must be "image" or "volume"/],
      [img({ out: 'a.jpg' }), /"out" 'a.jpg' must be a .png file/],
      [img({ out: '../escape.png' }), /must be a path inside --out-dir/],
      [img({ out: '/etc/x.png' }), /must be a path inside --out-dir/],
      [img({ boxes: [[1, 2, 3]] }), /boxes\[0\] must be 4 finite numbers, got \[1,2,3\]/],
      [img({ boxes: [[1, 2, 3, 'x']] }), /boxes\[0\] must be 4 finite numbers/],
      [img({ boxes: [[5, 2, 3, 9]] }), /boxes\[0\]: needs x0 < x1 and y0 < y1/],
      [img({ boxes: 'all' }), /"boxes" must be an array/],
      [img({ boxes: [], points: [[1, 1, 2]] }), /points\[0\]: the point label must be 1 \(foreground\) or 0/],
      [img({ boxes: [] }), /line 2: needs at least one box or point/],
      [{ input: 'v.nii', boxes: [[-1, 0, 0, 5, 5]], out: 'v.nii.gz' }, /boxes\[0\]: the slice index \(first number\) must be an integer ≥ 0/],
      [{ input: 'v.nii', boxes: [[0, 0, 5, 5]], out: 'v.nii.gz' }, /boxes\[0\] must be 5 finite numbers/],
      [{ input: 'v.nii', boxes: [[0, 0, 0, 5, 5]], out: 'v.png' }, /"out" 'v.png' must be a .nii or .nii.gz file/],
      [{ input: 'v.nii', boxes: [[0, 0, 0, 5, 5]], out: 'v.nii', seg: 'v.seg' }, /"seg" 'v.seg' must be a .dcm file/],
      [{ input: 'v.nii', objects: [{ label: 1, boxes: [[0, 0, 0, 5, 5]] }, { label: 1, points: [[0, 1, 1, 1]] }], out: 'v.nii' }, /label 1 is given to two objects/],
      [{ input: 'v.nii', objects: [{ label: 1, box: [0, 0, 0, 5, 5] }], out: 'v.nii' }, /unknown field 'objects\[0\]\.box'/],
      [{ input: 'v.nii', objects: [], out: 'v.nii' }, /needs "objects" \(a non-empty array\)/],
      [{ input: 'v.nii', label: 2, objects: [{ boxes: [[0, 0, 0, 5, 5]] }], out: 'v.nii' }, /either "objects" or "boxes"/],
      [img({ out: 'first.png' }), /line 2: output \/out\/first.png is also written by line 1/],
    ];
    for (const [line, want] of bad) {
      expect(() => parse([img({ out: 'first.png' }), line]), String(want)).toThrow(want);
    }
    expect(() => parse(['', '  '])).toThrow(/no items/);
    expect(() => parse([img({ boxes: [[0, 0, 2, 2], [1, 1, 3, 3]], out: 'x.png' }), img({ out: 'x-1.png' })])).toThrow(/x-1.png is also written by line 1/);
    try {
      parse([img(), img({ extra: 1 })]);
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestError);
    }
  });
});

describe('sharding', () => {
  it('gives every line to exactly one shard: line i (0-based) to shard (i mod N) + 1', () => {
    for (const n of [1, 2, 3, 7]) {
      for (let line = 1; line <= 50; line++) {
        const owners = Array.from({ length: n }, (_, k) => k + 1).filter((k) => inShard(line, { k, n }));
        expect(owners).toEqual([((line - 1) % n) + 1]);
      }
    }
    expect(parseShard('2/3')).toEqual({ k: 2, n: 3 });
    for (const bad of ['0/3', '4/3', '1/0', '1', 'a/b', '-1/3', '1/3/4']) expect(() => parseShard(bad), bad).toThrow(/K\/N with 1 ≤ K ≤ N/);
  });
});

describe('atomic writes', () => {
  it('writes whole files, creates folders, and removes only the partial files of the given outputs', async () => {
    const target = join(dir, 'deep', 'x.png');
    await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(target, new Uint8Array([4, 5])); // replaces
    expect([...readFileSync(target)]).toEqual([4, 5]);
    const folder = join(dir, 'deep');
    expect(readdirSync(folder)).toEqual(['x.png']);
    // What a killed run leaves: partials of x.png and of another shard's y.png.
    writeFileSync(join(folder, '.x.png.4242.0123abcd.partial'), 'half');
    writeFileSync(join(folder, '.y.png.4243.89abcdef.partial'), 'half');
    expect(await removePartials([target, join(dir, 'missing-folder', 'z.png')])).toBe(1);
    expect(readdirSync(folder).sort()).toEqual(['.y.png.4243.89abcdef.partial', 'x.png']);
    await expect(writeFileAtomic(join(target, 'under-a-file.png'), new Uint8Array(1))).rejects.toThrow();
    expect(readdirSync(folder).sort()).toEqual(['.y.png.4243.89abcdef.partial', 'x.png']);
  });
});

describe('progress', () => {
  const fakeClock = () => {
    let t = 0;
    return { now: () => t, tick: (s: number) => void (t += s * 1000) };
  };

  it('writes a plain line per item off a terminal, with rate and time left', () => {
    const out: string[] = [];
    const c = fakeClock();
    const r = progressReporter({ write: (s) => out.push(s), isTTY: false }, c.now);
    r.start(4, 1);
    c.tick(2);
    r.item('line 2 (b.png)', 'done');
    c.tick(2);
    r.item('line 3 (c.png)', 'failed', 'ImageDecodeError: truncated');
    c.tick(2);
    r.item('line 4 (d.png)', 'done');
    r.end();
    const quick = progressReporter({ write: (s) => out.push(s) }, () => 0);
    quick.start(3, 0);
    quick.item('line 1 (x.png)', 'failed', 'ENOENT'); // within the first second: no rate yet
    expect(out.join('')).toBe(
      'batch: 4 item(s), 1 already done\n' +
      '2/4 items, 0.50 items/s, 0:04 left · line 2 (b.png) done\n' +
      '3/4 items, 0.50 items/s, 0:02 left · line 3 (c.png) failed: ImageDecodeError: truncated\n' +
      '4/4 items, 0.50 items/s, done in 0:06 · line 4 (d.png) done\n' +
      'batch: 3 item(s)\n' +
      '1/3 items, ? items/s, ? left · line 1 (x.png) failed: ENOENT\n',
    );
    expect(out.join('')).not.toMatch(/\r|\x1b/);
  });

  it('redraws one line on a terminal, failures printed above it, cut to the width', () => {
    const out: string[] = [];
    const c = fakeClock();
    const r = progressReporter({ write: (s) => out.push(s), isTTY: true, columns: 60 }, c.now);
    r.start(3, 0);
    c.tick(10);
    r.item('line 1 (a.png)', 'done');
    r.item('line 2 (b-with-a-very-long-name-indeed.png)', 'failed', 'boom');
    r.end();
    const text = out.join('');
    expect(text.split('\n')).toHaveLength(2); // only the failure ends a line
    expect(text).toContain('failed: line 2 (b-with-a-very-long-name-indeed.png): boom\n');
    expect(text).toContain('\r\x1b[2K1/3 items, 0.10 items/s, 0:20 left · line 1 (a.png) done');
    for (const frame of text.split('\r\x1b[2K')) expect(frame.replace(/^failed.*\n/, '').length).toBeLessThanOrEqual(59);
    expect(text.endsWith('\r\x1b[2K')).toBe(true); // the line is cleared for the summary
    expect([clock(59.6), clock(3725)]).toEqual(['1:00', '1:02:05']);
  });
});

describe('runBatch', () => {
  const quiet = progressReporter({ write: () => undefined });
  const items = (n: number) => parse(Array.from({ length: n }, (_, i) => img({ input: `i${i}.png`, out: `o${i}.png` })));

  it('skips items whose outputs all exist with resume, records failures and goes on', async () => {
    const out = join(dir, 'run');
    mkdirSync(out, { recursive: true });
    const list = parseManifest(['a', 'b', 'c', 'd'].map((n) => JSON.stringify(img({ input: `${n}.png`, out: `${n}.png` }))).join('\n'), { manifestDir: dir, outDir: out });
    writeFileSync(join(out, 'b.png'), 'x');
    const seen: number[] = [];
    const s = await runBatch(list, async (it) => {
      seen.push(it.line);
      if (it.line === 3) throw new TypeError('bad pixels');
    }, { resume: true, reporter: quiet });
    expect(seen).toEqual([1, 3, 4]);
    expect(s).toMatchObject({ total: 4, done: 2, skipped: 1, notRun: 0, interrupted: false });
    expect(s.failed.map((f) => [f.item.line, f.error])).toEqual([[3, 'TypeError: bad pixels']]);
    expect(summaryText(s, { k: 1, n: 1 })).toMatch(/^batch: 4 item\(s\) in shard 1\/1: 2 done, 1 skipped \(already done\), 1 failed in [\d.]+ s\n {2}failed: line 3 \(c.png\): TypeError: bad pixels$/);
    expect(existsSync(join(out, 'a.png'))).toBe(false); // the handler wrote nothing: runBatch itself writes nothing
  });

  it('stops after a fatal error, and after the current item once aborted', async () => {
    const lost = Object.assign(new Error('device lost'), { name: 'GpuDeviceLostError' });
    const s = await runBatch(items(5), async (it) => {
      if (it.line === 2) throw lost;
    }, { resume: false, reporter: quiet, fatal: (e) => (e as Error).name === 'GpuDeviceLostError' });
    expect(s).toMatchObject({ done: 1, notRun: 3, interrupted: false });
    const ac = new AbortController();
    const seen: number[] = [];
    const t = await runBatch(items(5), async (it) => {
      seen.push(it.line);
      if (it.line === 2) ac.abort(); // Ctrl-C while item 2 runs: item 2 finishes, 3–5 do not start
    }, { resume: false, reporter: quiet, signal: ac.signal });
    expect(seen).toEqual([1, 2]);
    expect(t).toMatchObject({ done: 2, notRun: 3, interrupted: true });
  });
});
