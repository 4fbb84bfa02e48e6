import { describe, expect, it } from 'vitest';
import { attentionRelPos, attentionRelPosKernel } from '../src/ops/attention_relpos.js';
import { describeKernelPaths, newPlan, rand, expectClose } from './helpers/gpu.js';
import { samQkvRef, samRelPosAttnRef } from './helpers/reference.js';

// GPU fp32 against the float64 reference: every element within atol + rtol·|ref|.
const ATOL = 2e-5;
const RTOL = 1e-4;

interface Case {
  B: number;
  S: number;
  ws: number;
  heads: number;
  d: number;
}

const cases: Case[] = [
  { B: 1, S: 16, ws: 14, heads: 3, d: 64 }, // windowed: 16 -> 28, four 14×14 windows
  { B: 2, S: 16, ws: 14, heads: 2, d: 8 },
  { B: 1, S: 16, ws: 16, heads: 2, d: 64 }, // global
  { B: 2, S: 9, ws: 4, heads: 3, d: 8 }, // 9 -> 12, nine windows
  { B: 2, S: 9, ws: 4, heads: 2, d: 24 },
  { B: 1, S: 16, ws: 14, heads: 12, d: 64 }, // the ViT-B block itself (C = 768)
  { B: 1, S: 20, ws: 14, heads: 2, d: 16 }, // 20 -> 28: windows of 14×14, 14×6, 6×14, 6×6 real tokens
  { B: 1, S: 33, ws: 32, heads: 1, d: 8 }, // the largest window: 33 -> 64, 1024 queries in one window
];

const name = (c: Case) => `B${c.B} S${c.S} ws${c.ws} h${c.heads} d${c.d}`;

/** Inputs and the float64 reference of a case, made once for both kernel paths. */
const made = new Map<number, ReturnType<typeof makeCase>>();
function caseData(n: number, c: Case): ReturnType<typeof makeCase> {
  if (!made.has(n)) made.set(n, makeCase(n, c));
  return made.get(n)!;
}

function makeCase(n: number, c: Case) {
  const C = c.heads * c.d;
  const T = c.S * c.S;
  const L = 2 * c.ws - 1;
  // "Normed" tokens, a qkv Linear (weight [3C, C], bias) scaled so that q and k are O(1.5).
  const x = rand(c.B * T * C, 10 + n, -1.7, 1.7);
  const a = 1.5 * Math.sqrt(3 / C);
  const w = rand(3 * C * C, 20 + n, -a, a);
  const bq = rand(3 * C, 30 + n, -0.5, 0.5);
  const rh = rand(L * c.d, 40 + n, -0.3, 0.3);
  const rw = rand(L * c.d, 50 + n, -0.3, 0.3);
  const qkv = Float32Array.from(samQkvRef(x, c.B * T, C, w, bq)); // the real tokens only
  const ref = samRelPosAttnRef(x, w, bq, rh, rw, { B: c.B, S: c.S, C, heads: c.heads, ws: c.ws });

  return { C, T, L, qkv, bq, rh, rw, ref };
}

// Every case runs on both kernels, whatever the adapter: 'tiled' (attention_relpos.wgsl, the
// real-GPU kernel) and 'cpu' (attention_relpos_cpu.wgsl, what software adapters take; every case
// here has d % 4 == 0).
describeKernelPaths('attention', (path, kernels) => {
  describe('attention_relpos', () => {
    for (const [n, c] of cases.entries()) {
      it(`${name(c)} matches upstream window_partition + Attention(use_rel_pos) + window_unpartition (atol ${ATOL}, rtol ${RTOL})`, async () => {
        const { C, T, L, qkv, bq, rh, rw, ref } = caseData(n, c);
        const p = await newPlan('attention_relpos', { kernels });
        expect(attentionRelPosKernel(p, c.d)).toBe(path);
        const y = attentionRelPos(
          p,
          p.input('qkv', [c.B, T, 3 * C]),
          p.input('bias', [3 * C]),
          p.input('rh', [L, c.d]),
          p.input('rw', [L, c.d]),
          { heads: c.heads, size: c.S, window: c.ws },
        );
        p.output('y', y);
        await p.build();
        const out = await p.run({ qkv, bias: bq, rh, rw });
        expectClose(out.y!, ref, ATOL, RTOL, name(c));
        p.destroy();
      });
    }
  });
});
