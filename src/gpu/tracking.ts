// Opt-in GPU buffer accounting for tests and benchmarks: wraps a GPUDevice's createBuffer (and the
// destroy of every buffer it makes) to count the buffers and bytes that are alive, i.e. created and
// not yet destroyed. Buffers dropped without destroy() stay counted: that is the leak this finds.
//
//   const t = trackBuffers(gpu.device);
//   … work …
//   t.live  // { buffers, bytes }
//   t.stop();  // restores the device's own createBuffer
//
// Nothing here runs unless trackBuffers is called; the library itself never calls it.

export interface BufferCounts {
  /** Buffers created and not yet destroyed. */
  buffers: number;
  /** Their total size in bytes. */
  bytes: number;
}

export interface LiveBuffer {
  label: string;
  size: number;
  usage: number;
}

export interface BufferTracker {
  /** What is alive now. */
  readonly live: BufferCounts;
  /** The largest `live` seen since tracking started (or since resetPeak). */
  readonly peak: BufferCounts;
  /** Buffers created / destroyed since tracking started. */
  readonly created: number;
  readonly destroyed: number;
  /** The buffers alive now, with their labels (to name a leak). */
  liveBuffers(): LiveBuffer[];
  resetPeak(): void;
  /** Stops counting new buffers and restores the device's createBuffer. Buffers already tracked keep
   * their wrapped destroy (harmless). */
  stop(): void;
}

const trackers = new WeakMap<GPUDevice, BufferTracker>();

/**
 * Starts counting `device`'s buffers. Only buffers created after this call are counted. Calling it
 * again on a device that is already tracked returns the same tracker.
 */
export function trackBuffers(device: GPUDevice): BufferTracker {
  const existing = trackers.get(device);
  if (existing) return existing;
  const live = new Map<GPUBuffer, LiveBuffer>();
  let bytes = 0;
  let peakBuffers = 0;
  let peakBytes = 0;
  let created = 0;
  let destroyed = 0;
  let active = true;
  // An own property shadows the prototype's method; deleting it restores the original.
  const hadOwn = Object.prototype.hasOwnProperty.call(device, 'createBuffer');
  const original = device.createBuffer;
  const wrapped = function (this: GPUDevice, desc: GPUBufferDescriptor): GPUBuffer {
    const buffer = original.call(this, desc);
    if (!active) return buffer;
    created++;
    const info: LiveBuffer = { label: desc.label ?? '', size: buffer.size, usage: desc.usage };
    live.set(buffer, info);
    bytes += info.size;
    if (live.size > peakBuffers) peakBuffers = live.size;
    if (bytes > peakBytes) peakBytes = bytes;
    const destroy = buffer.destroy;
    // GPUBuffer.destroy() may be called more than once; only the first call frees.
    Object.defineProperty(buffer, 'destroy', {
      configurable: true,
      writable: true,
      value: function (this: GPUBuffer) {
        const i = live.get(buffer);
        if (i) {
          live.delete(buffer);
          bytes -= i.size;
          destroyed++;
        }
        return destroy.call(buffer);
      },
    });
    return buffer;
  };
  Object.defineProperty(device, 'createBuffer', { configurable: true, writable: true, value: wrapped });
  const tracker: BufferTracker = {
    get live() {
      return { buffers: live.size, bytes };
    },
    get peak() {
      return { buffers: peakBuffers, bytes: peakBytes };
    },
    get created() {
      return created;
    },
    get destroyed() {
      return destroyed;
    },
    liveBuffers: () => [...live.values()].map((b) => ({ ...b })),
    resetPeak() {
      peakBuffers = live.size;
      peakBytes = bytes;
    },
    stop() {
      if (!active) return;
      active = false;
      if (hadOwn) Object.defineProperty(device, 'createBuffer', { configurable: true, writable: true, value: original });
      else delete (device as { createBuffer?: unknown }).createBuffer;
      trackers.delete(device);
    },
  };
  trackers.set(device, tracker);
  return tracker;
}

/** The tracker of `device`, if trackBuffers was called on it and not stopped. */
export function bufferTracker(device: GPUDevice): BufferTracker | undefined {
  return trackers.get(device);
}
