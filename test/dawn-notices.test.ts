// Dawn's two native adapter-limit notices (src/gpu/dawn-notices.ts) are kept from CLI users: the
// line filter on text cut at every position, and `sam-unet info` (dist/cli.js, built by npm test),
// whose stderr must hold neither notice while its stdout still names the adapter.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DAWN_LIMIT_NOTICE, NoticeFilter } from '../src/gpu/dawn-notices.js';
import { repoRoot } from './helpers/shared.js';

const notice = (kind: string) => `Warning: maxDynamic${kind}BuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.`;

describe('NoticeFilter', () => {
  const text = `${notice('Uniform')}\nadapter: llvmpipe\n${notice('Storage')}\r\nWarning: something else\nloading 10%\rloading 20%\nWarning: maxDynamic`;
  const kept = 'adapter: llvmpipe\nWarning: something else\nloading 10%\rloading 20%\nWarning: maxDynamic';

  it('drops whole notice lines only, wherever the chunks are cut', () => {
    for (let a = 0; a <= text.length; a++) {
      for (let b = a; b <= text.length; b += 7) {
        let out = '';
        const f = new NoticeFilter((s) => (out += s));
        for (const chunk of [text.slice(0, a), text.slice(a, b), text.slice(b)]) f.push(chunk);
        f.end();
        expect(out, `cut at ${a}, ${b}`).toBe(kept);
      }
    }
  });

  it('passes a partial line at once unless it may still become a notice; a notice mid-line is kept', () => {
    let out = '';
    const f = new NoticeFilter((s) => (out += s));
    f.push('progress 5%');
    expect(out).toBe('progress 5%');
    f.push(` ${notice('Uniform')}\n`); // not at a line start: not Dawn's line
    expect(out).toBe(`progress 5% ${notice('Uniform')}\n`);
    f.push('Warning: max');
    expect(out).toBe(`progress 5% ${notice('Uniform')}\n`);
    f.push('imum exceeded\n');
    expect(out.endsWith('Warning: maximum exceeded\n')).toBe(true);
    expect(DAWN_LIMIT_NOTICE.test(notice('Storage'))).toBe(true);
  });
});

it('sam-unet info prints the adapter and neither Dawn notice', async () => {
  const r = await promisify(execFile)(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'info']);
  expect(JSON.parse(r.stdout).adapter.name).toMatch(/\S/);
  expect(r.stderr).not.toMatch(/artificially reduced/);
});
