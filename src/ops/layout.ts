// Layout changes: general permutation (shaders/layout_permute.wgsl when the innermost dim stays,
// shaders/layout_transpose.wgsl, a tiled transpose, when it moves). SAM's window partition / merge
// happens inside the attention kernels (attention_relpos.ts).
import { ceilDiv, grid } from '../gpu/dispatch.js';
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';

/**
 * The same permutation on fewer dims: size-1 dims dropped, and input dims that stay adjacent and in
 * order in the output merged. Returns the merged input dims and the permutation over them.
 */
export function simplifyPermutation(shape: readonly number[], perm: readonly number[]): { dims: number[]; perm: number[] } {
  // Drop size-1 dims, renumbering the others.
  const newIndex = new Map<number, number>();
  const reduced: number[] = [];
  shape.forEach((d, k) => {
    if (d > 1) {
      newIndex.set(k, reduced.length);
      reduced.push(d);
    }
  });
  if (!reduced.length) return { dims: [1], perm: [0] };
  const kept = perm.filter((k) => shape[k]! > 1).map((k) => newIndex.get(k)!);
  // Runs of consecutive input dims, in output order.
  const runs: number[][] = [];
  for (const k of kept) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1]! + 1 === k) last.push(k);
    else runs.push([k]);
  }
  const byInput = [...runs].sort((a, b) => a[0]! - b[0]!);
  const dims = byInput.map((r) => r.reduce((s, k) => s * reduced[k]!, 1));
  return { dims, perm: runs.map((r) => byInput.indexOf(r)) };
}

/**
 * The layout_transpose.wgsl variant a permute recorded on `p` now takes: 'cpu' (no workgroup memory,
 * the plan's layout path; see gpu/kernels.ts) or 'tiled' (workgroup-memory tiles, the real-GPU path).
 */
export function transposeKernel(p: Plan): 'cpu' | 'tiled' {
  return p.kernels.layout;
}

/** x.permute(perm) made contiguous; rank ≤ 6. */
export function permute(p: Plan, x: Tensor, perm: number[], label = 'permute'): Tensor {
  const r = x.rank;
  if (r > 6 || perm.length !== r || [...perm].sort((a, b) => a - b).some((k, i) => k !== i)) {
    throw new Error(`${label}: [${perm}] is not a permutation of the ${r} dims of '${x.label}' [${x.shape}] (rank ≤ 6)`);
  }
  const y = p.temp(perm.map((k) => x.shape[k]!), label);
  const { dims, perm: P } = simplifyPermutation(x.shape, perm);
  const n = dims.length;
  const inStride = new Array<number>(n);
  for (let k = n - 1, s = 1; k >= 0; k--) {
    inStride[k] = s;
    s *= dims[k]!;
  }
  const outStride = new Array<number>(n); // by input dim
  for (let j = n - 1, s = 1; j >= 0; j--) {
    outStride[P[j]!] = s;
    s *= dims[P[j]!]!;
  }
  const L = n - 1;
  const Q = P[n - 1]!;
  if (Q === L) {
    // Innermost dim unchanged: a strided gather, coalesced on both sides.
    const [, d1, d2, d3, d4, d5] = [...new Array<number>(6 - n).fill(1), ...P.map((k) => dims[k]!)] as number[];
    const [s0, s1, s2, s3, s4, s5] = [...new Array<number>(6 - n).fill(0), ...P.map((k) => inStride[k]!)] as number[];
    p.dispatch({
      shader: 'layout_permute',
      inputs: [x],
      outputs: [y],
      params: { n: y.size, d1: d1!, d2: d2!, d3: d3!, d4: d4!, d5: d5!, s0: s0!, s1: s1!, s2: s2!, s3: s3!, s4: s4!, s5: s5! },
      groups: grid(ceilDiv(y.size, 256)),
      label,
    });
    return y;
  }
  const others = dims.map((_, k) => k).filter((k) => k !== Q && k !== L);
  while (others.length < 4) others.unshift(-1);
  // Per other dim j (absent ones: size 1, strides 0): its size Dj and its input / output strides.
  const D = others.map((k) => (k < 0 ? 1 : dims[k]!));
  const si = others.map((k) => (k < 0 ? 0 : inStride[k]!));
  const so = others.map((k) => (k < 0 ? 0 : outStride[k]!));
  const TQ = ceilDiv(dims[Q]!, 32);
  const TL = ceilDiv(dims[L]!, 32);
  const total = TQ * TL * D.reduce((a, b) => a * b, 1);
  const [D0, D1, D2, D3] = D as [number, number, number, number];
  const [si0, si1, si2, si3] = si as [number, number, number, number];
  const [so0, so1, so2, so3] = so as [number, number, number, number];
  p.dispatch({
    shader: 'layout_transpose',
    constants: { CPU: transposeKernel(p) === 'cpu' ? 1 : 0 },
    inputs: [x],
    outputs: [y],
    params: { DQ: dims[Q]!, DL: dims[L]!, TQ, TL, sQ: inStride[Q]!, sL: outStride[L]!, total, D0, D1, D2, D3, si0, si1, si2, si3, so0, so1, so2, so3 },
    groups: grid(total),
    label,
  });
  return y;
}
