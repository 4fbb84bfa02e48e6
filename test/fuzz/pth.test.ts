// Hostile checkpoints by the seeded batch (test/fuzz/fuzz-pth.ts): each case must load exactly
// what it holds or fail with a named error (PthError / UnsafePickleError), within a time limit,
// without reading outside the file. FUZZ_CASES / FUZZ_SEED override the batch (the script runs
// 10,000 and more: npm run fuzz:pth).
import { describe, expect, it } from 'vitest';
import { formatSummary, makeCase, runFuzz } from './fuzz-pth.js';

const CASES = Number(process.env.FUZZ_CASES ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 20240601);

describe('pth fuzz', () => {
  it(`${CASES} seeded cases end in the expected tensors or a named error`, async () => {
    const s = await runFuzz({ cases: CASES, seed: SEED, caseTimeoutMs: 5000 });
    console.log(formatSummary(s));
    expect(s.failures.map((f) => `case ${f.index} ${f.mutation}: ${f.failure}`)).toEqual([]);
    expect(s.cases).toBe(CASES);
    const families = new Set(Object.keys(s.byMutation).map((m) => m.split('-')[0]));
    expect([...families].sort()).toEqual(['bytes', 'generated', 'pickle', 'storage', 'zip']);
    expect(s.byMutation['generated']!.ok, 'generated checkpoints that loaded exactly').toBeGreaterThan(CASES / 20);
    expect(s.rejected).toBeGreaterThan(CASES / 2);
  });

  it('cases are reproducible from (seed, index)', async () => {
    for (const i of [0, 7, 123]) {
      const a = await makeCase(5, i);
      const b = await makeCase(5, i);
      expect(a.mutation).toBe(b.mutation);
      expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    }
  });
});
