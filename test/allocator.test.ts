// The liveness allocator (src/gpu/allocator.ts) on dispatch lists written by hand and on random
// ones checked against a brute-force overlap check. No GPU.
import { describe, expect, it } from 'vitest';
import { allocate, PlanError, REUSE_FACTOR, slotBytes, type AllocDispatch, type AllocTensor, type Allocation } from '../src/gpu/allocator.js';
import type { TensorKind } from '../src/gpu/tensor.js';

const T = (bytes: number, kind: TensorKind = 'temp', viewOf?: number): AllocTensor => ({ bytes, kind, label: `t${bytes}`, viewOf });
const D = (reads: number[], writes: number[], label = 'op'): AllocDispatch => ({ reads, writes, label });

/** The id of the tensor owning t's storage. */
const rootOf = (tensors: readonly AllocTensor[], t: number): number => (tensors[t]!.viewOf === undefined ? t : rootOf(tensors, tensors[t]!.viewOf!));

/** [first, last] dispatch touching each root (absent: untouched). */
function liveRanges(tensors: readonly AllocTensor[], dispatches: readonly AllocDispatch[]): Map<number, [number, number]> {
  const r = new Map<number, [number, number]>();
  dispatches.forEach((d, i) => {
    for (const t of [...d.reads, ...d.writes]) {
      const id = rootOf(tensors, t);
      const cur = r.get(id);
      r.set(id, cur ? [cur[0], i] : [i, i]);
    }
  });
  return r;
}

/** What is wrong with an allocation (empty: nothing), every pair of tensors checked. */
function allocationProblems(tensors: readonly AllocTensor[], dispatches: readonly AllocDispatch[], a: Allocation): string[] {
  const live = liveRanges(tensors, dispatches);
  const problems: string[] = [];
  tensors.forEach((t, id) => {
    const root = rootOf(tensors, id);
    const kind = tensors[root]!.kind;
    const s = a.slotOf[id]!;
    if (s !== a.slotOf[root]) problems.push(`view ${id} is not in its root's slot`);
    if (kind === 'external' || (kind === 'temp' && !live.has(root))) {
      if (s !== -1) problems.push(`tensor ${id} (${kind}) has slot ${s}, expected none`);
    } else if (s < 0) {
      problems.push(`tensor ${id} (${kind}) has no slot`);
    } else {
      if (a.slots[s]!.bytes < t.bytes) problems.push(`slot ${s} (${a.slots[s]!.bytes} B) is too small for tensor ${id} (${t.bytes} B)`);
      if (a.slots[s]!.kind !== kind) problems.push(`slot ${s} is '${a.slots[s]!.kind}', tensor ${id} '${kind}'`);
    }
  });
  const roots = tensors.map((_, id) => id).filter((id) => tensors[id]!.viewOf === undefined && a.slotOf[id]! >= 0);
  for (const x of roots) {
    for (const y of roots) {
      if (x >= y || a.slotOf[x] !== a.slotOf[y]) continue;
      if (tensors[x]!.kind !== 'temp' || tensors[y]!.kind !== 'temp') problems.push(`${tensors[x]!.kind} ${x} and ${tensors[y]!.kind} ${y} share slot ${a.slotOf[x]}`);
      const [rx, ry] = [live.get(x)!, live.get(y)!];
      if (!(rx[1] < ry[0] || ry[1] < rx[0])) problems.push(`tensors ${x} [${rx}] and ${y} [${ry}] share slot ${a.slotOf[x]} while both are live`);
    }
  }
  const sum = (xs: number[]) => xs.reduce((n, b) => n + b, 0);
  const tempBytes = sum(a.slots.filter((s) => s.kind === 'temp').map((s) => s.bytes));
  if (a.tempBytes !== tempBytes) problems.push(`tempBytes ${a.tempBytes}, the temp slots hold ${tempBytes}`);
  if (a.pinnedBytes !== sum(a.slots.map((s) => s.bytes)) - tempBytes) problems.push(`pinnedBytes ${a.pinnedBytes} is not the other slots' bytes`);
  const unshared = sum(roots.filter((id) => tensors[id]!.kind === 'temp').map((id) => tensors[id]!.bytes));
  if (a.tempBytesUnshared !== unshared) problems.push(`tempBytesUnshared ${a.tempBytesUnshared}, expected ${unshared}`);
  return problems;
}

const checkAllocation = (tensors: readonly AllocTensor[], dispatches: readonly AllocDispatch[], a: Allocation): void =>
  expect(allocationProblems(tensors, dispatches, a)).toEqual([]);

describe('allocate', () => {
  it('a chain x -> a -> b -> c -> y reuses a for c, never a buffer the same dispatch reads', () => {
    const tensors = [T(4000, 'input'), T(4000), T(4000), T(4000), T(4000, 'output')];
    const dispatches = [D([0], [1]), D([1], [2]), D([2], [3]), D([3], [4])];
    const a = allocate(tensors, dispatches);
    checkAllocation(tensors, dispatches, a);
    expect(a.slotOf[3]).toBe(a.slotOf[1]);
    expect(a.slotOf[2]).not.toBe(a.slotOf[1]);
    expect(a.slots.map((s) => s.kind)).toEqual(['input', 'output', 'temp', 'temp']);
    expect(a.tempBytes).toBe(2 * 4000);
    expect(a.tempBytesUnshared).toBe(3 * 4000);
    expect(a.slots[2]!.label).toBe('temp:t4000');
  });

  it('best fit: the smallest free buffer that holds the tensor, and none over the 4× bound', () => {
    const big = 1 << 20;
    // t1 (1 MiB) and t2 (5000 B) die at dispatch 1; then t4 (4000 B) takes t2's buffer, and t5
    // (64 KiB) a new one: t1's is more than 4× its size.
    const tensors = [T(16, 'input'), T(big), T(5000), T(16), T(4000), T(big / 16), T(16, 'output')];
    const dispatches = [D([0], [1, 2]), D([1, 2], [3]), D([3], [4, 5]), D([4, 5], [6])];
    const a = allocate(tensors, dispatches);
    checkAllocation(tensors, dispatches, a);
    expect(a.slotOf[4]).toBe(a.slotOf[2]);
    expect(a.slotOf[5]).not.toBe(a.slotOf[1]);
    expect(a.slots[a.slotOf[5]!]!.bytes).toBe(big / 16);
    // Within the bound, the big free buffer is taken.
    const t3 = [T(16, 'input'), T(big), T(16), T(big / REUSE_FACTOR), T(16, 'output')];
    const d3 = [D([0], [1]), D([1], [2]), D([2], [3]), D([3], [4])];
    const c = allocate(t3, d3);
    checkAllocation(t3, d3, c);
    expect(c.slotOf[3]).toBe(c.slotOf[1]);
    // Small tensors count as 4 KiB: a 16 KiB buffer may hold a 16-byte tensor.
    const t4 = [T(16, 'input'), T(16384), T(16), T(16), T(16, 'output')];
    const d4 = [D([0], [1]), D([1], [2]), D([2], [3]), D([3], [4])];
    expect(allocate(t4, d4).slotOf[3]).toBe(allocate(t4, d4).slotOf[1]);
  });

  it('views share their root; inputs, outputs and pinned tensors never share, even when dead', () => {
    const tensors = [
      T(800, 'input'), T(800), T(800, 'temp', 1), T(800, 'pinned'), T(800), T(800, 'output'), T(800), T(800, 'external'), T(800, 'output', 5),
    ];
    const dispatches = [D([0], [1]), D([2, 7], [3]), D([3], [4]), D([4], [5]), D([8], [6])];
    const a = allocate(tensors, dispatches);
    checkAllocation(tensors, dispatches, a);
    expect(a.slotOf[2]).toBe(a.slotOf[1]);
    expect(a.slotOf[8]).toBe(a.slotOf[5]);
    expect(a.slotOf[7]).toBe(-1);
    // The pinned tensor (a cached segment's result) is dead after dispatch 2, yet nothing takes its buffer.
    expect(a.slotOf[6]).not.toBe(a.slotOf[3]);
    expect(a.slotOf[4]).not.toBe(a.slotOf[3]);
    expect(a.slots[a.slotOf[3]!]!.kind).toBe('pinned');
    expect(a.pinnedBytes).toBe(3 * slotBytes(800));
  });

  it('an input or output no dispatch touches still gets its buffer; an untouched temp none', () => {
    const tensors = [T(10, 'input'), T(10), T(10, 'output')];
    const a = allocate(tensors, []);
    expect(a.slotOf).toEqual([0, -1, 1]);
    expect(a.slots.map((s) => s.bytes)).toEqual([16, 16]);
  });

  it('a temp read before anything writes it is a PlanError naming the dispatch and the tensor', () => {
    const tensors = [T(16, 'input'), { ...T(64), label: 'ghost' }, T(16, 'output')];
    const run = () => allocate(tensors, [D([0, 1], [2], 'mix')], "plan 'p'");
    expect(run).toThrow(PlanError);
    expect(run).toThrow("plan 'p': mix reads temp 'ghost' before anything writes it");
    // Read through a view: the same.
    const viaView = [...tensors, T(64, 'temp', 1)];
    expect(() => allocate(viaView, [D([3], [2], 'view read')])).toThrow(/view read reads temp 'ghost'/);
    // Written first, read after: fine.
    expect(() => allocate(tensors, [D([0], [1]), D([1], [2])])).not.toThrow();
  });

  it('random dispatch lists: no two live tensors share a buffer (checked against every pair)', () => {
    let s = 12345;
    const rnd = (n: number) => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return Math.floor((s / 4294967296) * n);
    };
    const kinds: TensorKind[] = ['temp', 'temp', 'temp', 'temp', 'pinned', 'output', 'external'];
    let reused = 0;
    for (let trial = 0; trial < 300; trial++) {
      const tensors: AllocTensor[] = [T(4 * (1 + rnd(64)), 'input'), T(4 * (1 + rnd(64)), 'input')];
      const written = [0, 1];
      const dispatches: AllocDispatch[] = [];
      for (let i = 0, n = 3 + rnd(40); i < n; i++) {
        // Reads: tensors already written (or their views); writes: one or two new tensors.
        const reads = Array.from({ length: 1 + rnd(3) }, () => written[rnd(written.length)]!);
        const writes: number[] = [];
        for (let w = 0, nw = 1 + rnd(2); w < nw; w++) {
          const kind = kinds[rnd(kinds.length)]!;
          if (kind === 'external') {
            tensors.push(T(4 * (1 + rnd(2000)), 'external'));
            written.push(tensors.length - 1);
            continue;
          }
          tensors.push(T(4 * (1 + rnd(rnd(2) ? 100 : 5000)), kind));
          writes.push(tensors.length - 1);
        }
        dispatches.push(D(reads, writes));
        for (const w of writes) {
          written.push(w);
          if (rnd(3) === 0) {
            tensors.push(T(tensors[w]!.bytes, tensors[w]!.kind, w)); // a view, read later
            written.push(tensors.length - 1);
          }
        }
      }
      const a = allocate(tensors, dispatches);
      checkAllocation(tensors, dispatches, a);
      reused += a.tempBytesUnshared - a.tempBytes;
    }
    expect(reused, 'the random lists exercise reuse').toBeGreaterThan(0);
  });
});
