// Which GPU buffer each tensor of a plan lives in: a pure function of the recorded dispatch list,
// tested without a device (test/allocator.test.ts).
//
// - Inputs, outputs and pinned tensors (written by a cached segment) get a buffer each, never
//   shared: run() writes and reads them by name, and a skipped segment's results must survive.
// - Temporaries share buffers by liveness. Walking the dispatches in order, a temporary gets a
//   buffer when a dispatch first writes it: the smallest free one that holds it (best fit), if that
//   one is at most 4× its size (or 16 KiB), else a new one. A buffer returns to the free list after
//   the last dispatch that touches its tensor, so a dispatch never writes a buffer it also reads.
// - A view (reshape) lives in its root's buffer; externals (weights, encoded images) in their own.

import type { TensorKind } from './tensor.js';

/** Something wrong in what was recorded into a plan; the message names the plan, op and tensor. */
export class PlanError extends Error {
  override name = 'PlanError';
}

export interface AllocTensor {
  /** Bytes of its storage (for a view: the same as its root's). */
  bytes: number;
  kind: TensorKind;
  label: string;
  /** For a view: the id (index) of the tensor whose storage it shares. */
  viewOf?: number;
}

export interface AllocDispatch {
  /** Tensor ids bound read-only. */
  reads: readonly number[];
  /** Tensor ids bound read_write. */
  writes: readonly number[];
  label: string;
}

/** One buffer to create. */
export interface Slot {
  /** Size in bytes: the largest tensor it holds, rounded up to 16 (at least 16). */
  bytes: number;
  kind: 'temp' | 'input' | 'output' | 'pinned';
  /** The first tensor it holds (temporaries are labelled `temp:<label>`). */
  label: string;
}

export interface Allocation {
  slots: Slot[];
  /** Per tensor id: the index of its slot, or -1 (an external, or a temporary no dispatch touches). */
  slotOf: number[];
  /** Bytes of the slots of temporaries. */
  tempBytes: number;
  /** Bytes the temporaries would take without sharing. */
  tempBytesUnshared: number;
  /** Bytes of the input, output and pinned slots. */
  pinnedBytes: number;
}

/** A reused buffer may be at most this many times the tensor's size (tensors under 4 KiB count as 4 KiB). */
export const REUSE_FACTOR = 4;
const REUSE_FLOOR = 4096;

/** A buffer's size for `bytes` of data: WebGPU wants multiples of 4; 16 keeps vec4 bindings whole. */
export const slotBytes = (bytes: number): number => Math.max(16, Math.ceil(bytes / 16) * 16);

/**
 * Assigns every tensor a slot. Throws PlanError when a dispatch reads a temporary that no earlier
 * dispatch wrote (its contents would be whatever the shared buffer last held).
 */
export function allocate(tensors: readonly AllocTensor[], dispatches: readonly AllocDispatch[], what = 'plan'): Allocation {
  const root = (id: number): number => {
    let r = id;
    for (let n = 0; tensors[r]!.viewOf !== undefined; n++) {
      if (n > tensors.length) throw new PlanError(`${what}: tensor '${tensors[id]!.label}' is a view of itself`);
      r = tensors[r]!.viewOf!;
    }
    return r;
  };
  const roots = tensors.map((_, id) => root(id));
  const kind = (id: number) => tensors[roots[id]!]!.kind;

  // Liveness: the first and last dispatch touching each root.
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  dispatches.forEach((d, i) => {
    for (const v of [...d.reads, ...d.writes]) {
      const r = roots[v]!;
      if (!first.has(r)) first.set(r, i);
      last.set(r, i);
    }
  });
  dispatches.forEach((d, i) => {
    for (const v of d.reads) {
      const r = roots[v]!;
      if (kind(r) === 'temp' && first.get(r) === i && !d.writes.some((w) => roots[w] === r)) {
        throw new PlanError(`${what}: ${d.label} reads temp '${tensors[r]!.label}' before anything writes it`);
      }
    }
  });

  const slots: Slot[] = [];
  const slotOfRoot = new Map<number, number>();
  let pinnedBytes = 0;
  tensors.forEach((t, id) => {
    if (t.viewOf !== undefined || (t.kind !== 'input' && t.kind !== 'output' && t.kind !== 'pinned')) return;
    slotOfRoot.set(id, slots.length);
    slots.push({ bytes: slotBytes(t.bytes), kind: t.kind, label: t.label });
    pinnedBytes += slotBytes(t.bytes);
  });

  // Temporaries: best fit from a free list, in dispatch order.
  const endsAt = new Map<number, number[]>();
  for (const [r, e] of last) {
    if (kind(r) !== 'temp') continue;
    if (!endsAt.has(e)) endsAt.set(e, []);
    endsAt.get(e)!.push(r);
  }
  const free: number[] = [];
  let tempBytes = 0;
  let tempBytesUnshared = 0;
  dispatches.forEach((d, i) => {
    for (const w of d.writes) {
      const r = roots[w]!;
      if (kind(r) !== 'temp' || slotOfRoot.has(r)) continue;
      const bytes = tensors[r]!.bytes;
      tempBytesUnshared += bytes;
      let best = -1;
      for (let j = 0; j < free.length; j++) {
        const s = slots[free[j]!]!.bytes;
        if (s >= bytes && (best < 0 || s < slots[free[best]!]!.bytes)) best = j;
      }
      if (best >= 0 && slots[free[best]!]!.bytes <= REUSE_FACTOR * Math.max(bytes, REUSE_FLOOR)) {
        slotOfRoot.set(r, free.splice(best, 1)[0]!);
      } else {
        slotOfRoot.set(r, slots.length);
        slots.push({ bytes: slotBytes(bytes), kind: 'temp', label: `temp:${tensors[r]!.label}` });
        tempBytes += slotBytes(bytes);
      }
    }
    for (const r of endsAt.get(i) ?? []) if (slotOfRoot.has(r)) free.push(slotOfRoot.get(r)!);
  });
  const slotOf = roots.map((r) => slotOfRoot.get(r) ?? -1);
  return { slots, slotOf, tempBytes, tempBytesUnshared, pinnedBytes };
}
