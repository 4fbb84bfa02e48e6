// Hostile weight files (test/fuzz/fuzz-safetensors.ts): a seeded batch of mutated safetensors files and
// broken model weight sets, each of which must load correctly or fail with a named error
// (SafetensorsError / WeightError), within a time limit, without reading more than the file holds.
// FUZZ_CASES / FUZZ_SEED override the batch (FUZZ_CASES=10000 is the full run).
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_HEADER_BYTES } from '../../src/safetensors/read.js';
import { formatSummary, makeCase, makeSemanticCase, rng, runContainerCase, runFuzz, runSemanticCase } from './fuzz-safetensors.js';

const CASES = Number(process.env.FUZZ_CASES ?? 400);

const SEED = Number(process.env.FUZZ_SEED ?? 20240601);

describe('safetensors fuzz', () => {
  it(`${CASES} seeded cases end in success or a named error`, async () => {
    const s = await runFuzz({ cases: CASES, seed: SEED, caseTimeoutMs: 5000, semanticEvery: CASES >= 2000 ? 50 : 20 });
    console.log(formatSummary(s));
    expect(s.failures.map((f) => `case ${f.index} ${f.mutation}: ${f.failure}`)).toEqual([]);
    expect(s.cases).toBe(CASES);
    // Every mutation family was exercised, and both outcomes occur.
    expect(s.ok).toBeGreaterThan(0);
    expect(s.rejected).toBeGreaterThan(CASES / 2);
    expect(s.largestReadRatio!.ratio).toBeLessThanOrEqual(1);
  });

  it('cases are reproducible from (seed, index)', () => {
    for (const i of [0, 7, 123]) {
      const a = makeCase(5, i);
      const b = makeCase(5, i);
      expect(a.mutation).toBe(b.mutation);
      expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    }
  });

  // One case per hand-picked hostile input, so a regression names the input.
  const hostile: [string, () => Uint8Array][] = [
    ['deeply nested shape', () => file(`{"a":{"dtype":"F32","shape":${'['.repeat(100000)}1${']'.repeat(100000)},"data_offsets":[0,0]}}`)],
    ['deeply nested dtype', () => file(`{"a":{"dtype":${'['.repeat(100000)}1${']'.repeat(100000)},"shape":[0],"data_offsets":[0,0]}}`)],
    ['deeply nested data_offsets', () => file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":${'['.repeat(100000)}${']'.repeat(100000)}}}`)],
    ['deeply nested objects', () => file(`{"a":${'{"x":'.repeat(100000)}1${'}'.repeat(100000)}}`)],
    ['header length 2^64 − 1', () => Uint8Array.from([255, 255, 255, 255, 255, 255, 255, 255, 123, 125])],
    ['header length near the cap, tiny file', () => prefix(DEFAULT_MAX_HEADER_BYTES - 1, '{}')],
    ['a million empty tensors (59 MB header)', () => prefix(59_000_000, '{"t0":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}')],
    ['shape whose element count overflows', () => file('{"a":{"dtype":"F32","shape":[67108864,67108864,67108864],"data_offsets":[0,0]}}')],
    ['tensor claiming 16 GiB', () => file('{"a":{"dtype":"F32","shape":[65536,65536],"data_offsets":[0,17179869184]}}')],
    ['offsets past 2^53', () => file('{"a":{"dtype":"U8","shape":[8],"data_offsets":[9007199254740990,9007199254740998]}}')],
    ['__proto__ tensor name', () => file('{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1)],
    ['__metadata__ with a non-string value', () => file('{"__metadata__":{"a":1}}')],
    ['BOM before the JSON', () => file('\ufeff{}')],
  ];
  for (const [name, make] of hostile) {
    it(`hostile: ${name}`, async () => {
      const res = await runContainerCase({ mutation: name, bytes: make() }, 0, rng(1), 5000);
      expect(res.failure, res.message).toBeNull();
    });
  }

  it('model weight mutations: each kind once', async () => {
    const seen = new Map<string, string>();
    for (let i = 0; seen.size < 15 && i < 400; i++) {
      const c = makeSemanticCase(rng(1000 + i));
      if (seen.has(c.mutation.replace(/^value-.*/, 'value'))) continue;
      const res = await runSemanticCase(c, i, 20000);
      seen.set(c.mutation.replace(/^value-.*/, 'value'), res.messageClass);
      expect(res.failure, `${c.mutation}: ${res.message}`).toBeNull();
    }
    console.log([...seen].map(([k, v]) => `  ${k.padEnd(24)} ${v}`).join('\n'));
    expect(seen.size).toBeGreaterThanOrEqual(13);
  });
});

function prefix(n: number, text: string, data = 0): Uint8Array {
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(h, 8);
  return out;
}

function file(text: string, data = 0): Uint8Array {
  return prefix(new TextEncoder().encode(text).length, text, data);
}
