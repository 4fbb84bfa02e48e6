// Hostile DICOM and NIfTI files (test/fuzz/fuzz-medical.ts): a seeded batch of mutated real files,
// each of which must read into a well-formed result or fail with a ScanError, within a time limit.
// FUZZ_MEDICAL_CASES / FUZZ_MEDICAL_SEED override the batch (npm run fuzz:medical runs 10000).
import { describe, expect, it } from 'vitest';
import { formatSummary, loadBases, makeCase, runFuzz } from '../fuzz/fuzz-medical.js';
import { requireTools, skipWithout } from './tools.js';

const CASES = Number(process.env.FUZZ_MEDICAL_CASES ?? 300);
const SEED = Number(process.env.FUZZ_MEDICAL_SEED ?? 20261205);

describe.skipIf(skipWithout('pydicom', 'nibabel'))('medical fuzz', () => {
  it(`${CASES} seeded cases end in a well-formed result or a ScanError`, async () => {
    requireTools('pydicom', 'nibabel');
    const s = await runFuzz({ cases: CASES, seed: SEED, caseTimeoutMs: 5000 });
    console.log(formatSummary(s));
    expect(s.failures.map((f) => `case ${f.index} ${f.mutation} of ${f.base}: ${f.failure}`)).toEqual([]);
    expect(s.ok).toBeGreaterThan(0);
    expect(s.rejected).toBeGreaterThan(CASES / 4);
  });

  it('cases are reproducible from (seed, index)', () => {
    requireTools('pydicom', 'nibabel');
    const bases = loadBases();
    for (const i of [0, 7, 123]) {
      const [a, b] = [makeCase(bases, 5, i), makeCase(bases, 5, i)];
      expect(a.mutation).toBe(b.mutation);
      expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    }
  });
});
