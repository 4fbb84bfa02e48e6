// What Plan.run takes as inputs: checked against the plan's inputs before anything is written, and
// what they let a run skip: the cached segments (Plan.cached), ranges of recorded dispatches skipped
// while their key inputs are given as the same GPU buffers, at the same offsets, as in the last run
// that completed. Until a run completes, no segment counts as computed (a failed run recomputes).
import { PlanError } from './allocator.js';
import type { Tensor } from './tensor.js';

/** What run() takes for an input: values, or a GPU buffer (at an offset) to copy them from. */
export type RunInput = Float32Array | { buffer: GPUBuffer; offset?: number };

/** Throws a PlanError unless `inputs` gives each of `expected` (by name) exactly once, with its size. */
export function checkRunInputs(what: string, expected: ReadonlyMap<string, Tensor>, inputs: Readonly<Record<string, RunInput>>): void {
  for (const name of Object.keys(inputs)) if (!expected.has(name)) throw new PlanError(`${what} has no input '${name}'`);
  for (const [name, t] of expected) {
    const v = inputs[name];
    if (v === undefined) throw new PlanError(`${what}: input '${name}' is missing`);
    if (v instanceof Float32Array) {
      if (v.length !== t.size) throw new PlanError(`input '${name}': expected ${t.size} floats for shape [${t.shape}], got ${v.length}`);
    } else if (!v || !v.buffer || (v.offset ?? 0) + t.bytes > v.buffer.size) {
      throw new PlanError(`input '${name}': a GPU buffer of at least ${(v?.offset ?? 0) + t.bytes} bytes is needed`);
    }
  }
}

interface Segment {
  /** Dispatches [start, end). */
  start: number;
  end: number;
  keys: readonly string[];
  /** The key buffers and offsets of the last completed run, or null: not computed. */
  last: Map<string, { buffer: GPUBuffer; offset: number }> | null;
}

export class Segments {
  private list: Segment[] = [];

  add(start: number, end: number, keys: readonly string[]): void {
    if (end > start) this.list.push({ start, end, keys: [...keys], last: null });
  }

  /** Per segment, whether a run with `inputs` skips it. Every segment counts as not computed until done(). */
  begin(inputs: Readonly<Record<string, RunInput>>): boolean[] {
    const skip = this.list.map((g) =>
      g.last !== null &&
      g.keys.every((k) => {
        const v = inputs[k]!;
        const was = g.last!.get(k)!;
        return !(v instanceof Float32Array) && v.buffer === was.buffer && (v.offset ?? 0) === was.offset;
      }),
    );
    for (const g of this.list) g.last = null;
    return skip;
  }

  /** The run with `inputs` completed: each segment whose keys were all buffers now holds their results. */
  done(inputs: Readonly<Record<string, RunInput>>): void {
    for (const g of this.list) {
      const given = g.keys.map((k) => [k, inputs[k]!] as const);
      if (given.some(([, v]) => v instanceof Float32Array)) continue;
      g.last = new Map(given.map(([k, v]) => [k, { buffer: (v as { buffer: GPUBuffer }).buffer, offset: (v as { offset?: number }).offset ?? 0 }]));
    }
  }

  /** The first dispatch from i on that a run with these `skip` flags encodes (past skipped segments). */
  next(i: number, skip: readonly boolean[]): number {
    for (;;) {
      const seg = this.list.findIndex((g) => i >= g.start && i < g.end);
      if (seg < 0 || !skip[seg]) return i;
      i = this.list[seg]!.end;
    }
  }
}
