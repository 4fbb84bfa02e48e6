// The record-once executor.
//
// Forward code calls ops (src/ops/*) against a Plan; each op records one or more dispatches of a
// WGSL kernel over virtual tensors. `build()` then, once:
//   - creates every pipeline (createComputePipelineAsync, cached by shader + constants),
//   - assigns the temporary tensors to GPU buffers by liveness (a buffer is reused as soon as the
//     last dispatch that reads its tensor has been recorded), so peak activation memory stays small,
//   - creates every params uniform and bind group.
// `run()` writes the inputs, encodes the recorded dispatch list into one command buffer, submits it
// once and reads back only the requested outputs. Nothing is allocated or created per run.
// A cached segment (`cached()`) is skipped while its key inputs are the same GPU buffers as in the
// last completed run: the decoder keeps its image-only work there.
import { SHADERS } from '../generated/shaders.js';
import {
  assertDeviceAlive, captureGpuErrors, deviceLost, deviceLostError, gpuErrorToThrow, GpuResourceError, watchDevice, type Gpu,
} from './device.js';
import { Tensor, numel, storageBytes, type DType, type TensorKind } from './tensor.js';

export interface DispatchSpec {
  /** shaders/<shader>.wgsl */
  shader: string;
  /** Pipeline-overridable constants (`override NAME: …` in the shader): the specialisation key. */
  constants?: Record<string, number>;
  /** Bound in order at bindings 0.., read-only storage. */
  inputs: Tensor[];
  /** Bound after the inputs, read_write storage. */
  outputs: Tensor[];
  /** 32-bit words of the params uniform, bound last (see u32/f32 helpers). Empty: no uniform. */
  params: number[];
  /** Workgroup counts. */
  groups: [number, number?, number?];
  label?: string;
}

interface Recorded extends DispatchSpec {
  index: number;
}

/** Bit pattern of an f32, for packing floats into the params words. */
export function f32bits(x: number): number {
  const f = new Float32Array([x]);
  return new Uint32Array(f.buffer)[0]!;
}

export const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b);

/** Splits `n` workgroups over x and y so that neither exceeds 65535; shaders rebuild the linear index
 * as `wg.x + wg.y * nwg.x`. */
export function grid(n: number, maxPerDim = 65535): [number, number] {
  if (n <= maxPerDim) return [Math.max(1, n), 1];
  const y = ceilDiv(n, maxPerDim);
  return [ceilDiv(n, y), y];
}

export interface BuildStats {
  dispatches: number;
  pipelines: number;
  /** Bytes of the liveness-shared temporary buffers. */
  tempBytes: number;
  /** Bytes temporaries would take without sharing. */
  tempBytesUnshared: number;
  /** Bytes of the plan's own inputs and outputs (weights excluded). */
  pinnedBytes: number;
}

type Pipelines = Map<string, Promise<GPUComputePipeline>>;
const pipelineCaches = new WeakMap<GPUDevice, Pipelines>();

/** Pipelines are shared by every plan on a device, keyed by shader name + constants. */
function pipelineFor(device: GPUDevice, shader: string, constants: Record<string, number> | undefined): Promise<GPUComputePipeline> {
  let cache = pipelineCaches.get(device);
  if (!cache) pipelineCaches.set(device, (cache = new Map()));
  const keys = constants ? Object.keys(constants).sort() : [];
  const key = shader + (keys.length ? '|' + keys.map((k) => `${k}=${constants![k]}`).join(',') : '');
  let p = cache.get(key);
  if (!p) {
    const code = SHADERS[shader];
    if (code === undefined) throw new Error(`unknown shader '${shader}' (no shaders/${shader}.wgsl)`);
    const module = device.createShaderModule({ code, label: shader });
    const desc: GPUComputePipelineDescriptor = {
      layout: 'auto',
      label: key,
      compute: { module, entryPoint: 'main', constants: constants && keys.length ? constants : undefined },
    };
    p = device.createComputePipelineAsync(desc);
    p.catch(() => cache!.delete(key));
    cache.set(key, p);
  }
  return p;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Plan {
  readonly gpu: Gpu;
  readonly label: string;
  private tensors: Tensor[] = [];
  private recorded: Recorded[] = [];
  private inputsByName = new Map<string, Tensor>();
  private outputsByName = new Map<string, Tensor>();
  private built = false;
  private pipelines: GPUComputePipeline[] = [];
  private bindGroups: GPUBindGroup[] = [];
  private ownBuffers: GPUBuffer[] = [];
  private staging = new Map<string, GPUBuffer>();
  private queue: Promise<unknown> = Promise.resolve();
  /** The expected time of one run (ms), learnt from the last: what politeWait sleeps on. */
  private runEstimateMs = Infinity;
  private runsSeen = 0;
  /** Cached segments (cached()): dispatches [start, end) skipped while their key inputs are unchanged. */
  private segments: { start: number; end: number; keys: string[]; last: Map<string, GPUBuffer> | null; offsets: Map<string, number> }[] = [];
  /** Per segment, whether the run being encoded skips it. */
  private skipping: boolean[] = [];
  private destroyed = false;
  stats: BuildStats | null = null;

  constructor(gpu: Gpu, label = 'plan') {
    this.gpu = gpu;
    this.label = label;
    watchDevice(gpu.device);
  }

  get device(): GPUDevice {
    return this.gpu.device;
  }

  private newTensor(shape: readonly number[], kind: TensorKind, label: string, buffer?: GPUBuffer, base?: Tensor, dtype?: DType): Tensor {
    if (this.built) throw new Error(`plan '${this.label}' is built: no new tensors`);
    const t = new Tensor(this.tensors.length, shape, kind, label, buffer, base, dtype);
    this.tensors.push(t);
    return t;
  }

  /** An input written by `run()` under `name`. */
  input(name: string, shape: readonly number[]): Tensor {
    if (this.inputsByName.has(name)) throw new Error(`duplicate input '${name}'`);
    const t = this.newTensor(shape, 'input', name);
    this.inputsByName.set(name, t);
    return t;
  }

  /** A tensor that lives in a buffer owned elsewhere (weights, an encoded image), stored as `dtype`. */
  external(buffer: GPUBuffer, shape: readonly number[], label: string, dtype: DType = 'f32'): Tensor {
    const bytes = storageBytes(dtype, numel(shape));
    if (buffer.size < bytes) throw new Error(`external '${label}': buffer of ${buffer.size} bytes is smaller than ${dtype} shape [${shape}]`);
    return this.newTensor(shape, 'external', label, buffer, undefined, dtype);
  }

  /** A temporary whose buffer is shared with others by liveness. */
  temp(shape: readonly number[], label = 'tmp'): Tensor {
    return this.newTensor(shape, 'temp', label);
  }

  /** The same storage under another shape with as many elements (free: no dispatch). */
  reshape(t: Tensor, shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== t.size) throw new Error(`reshape '${t.label}' [${t.shape}] -> [${shape}]: ${t.size} != ${n} elements`);
    return this.newTensor(shape, t.kind, t.label, undefined, t.root);
  }

  /** Makes `t` readable after `run()` under `name` (its buffer is then never shared). */
  output(name: string, t: Tensor): Tensor {
    if (this.outputsByName.has(name)) throw new Error(`duplicate output '${name}'`);
    if (t.root.kind === 'temp') t.root.kind = 'output';
    this.outputsByName.set(name, t);
    return t;
  }

  hasOutput(name: string): boolean {
    return this.outputsByName.has(name);
  }

  outputTensor(name: string): Tensor {
    const t = this.outputsByName.get(name);
    if (!t) throw new Error(`plan '${this.label}' has no output '${name}'`);
    return t;
  }

  inputTensor(name: string): Tensor {
    const t = this.inputsByName.get(name);
    if (!t) throw new Error(`plan '${this.label}' has no input '${name}'`);
    return t;
  }

  dispatch(spec: DispatchSpec): void {
    if (this.built) throw new Error(`plan '${this.label}' is built: no new dispatches`);
    if (!(spec.shader in SHADERS)) throw new Error(`unknown shader '${spec.shader}'`);
    for (const t of [...spec.inputs, ...spec.outputs]) {
      if (this.tensors[t.id] !== t) throw new Error(`${spec.shader}: tensor '${t.label}' belongs to another plan`);
    }
    // A written buffer may appear once only (read-only bindings of one buffer may repeat).
    const written = new Set<number>();
    for (const t of spec.outputs) {
      if (t.root.kind === 'external' || t.root.kind === 'input') throw new Error(`${spec.shader}: '${t.label}' is read-only (${t.root.kind})`);
      if (written.has(t.root.id) || spec.inputs.some((i) => i.root === t.root)) {
        throw new Error(`${spec.shader}: tensor '${t.label}' is written and bound again in one dispatch`);
      }
      written.add(t.root.id);
    }
    const [x, y = 1, z = 1] = spec.groups;
    for (const g of [x, y, z]) {
      if (!Number.isInteger(g) || g < 0 || g > 65535) throw new Error(`${spec.shader}: bad workgroup count ${spec.groups}`);
    }
    this.recorded.push({ ...spec, index: this.recorded.length });
  }

  get dispatchCount(): number {
    return this.recorded.length;
  }

  /**
   * Records what `fn` records as a segment that run() skips while the plan inputs named in `keys`
   * are given as the same GPU buffers (and offsets) as in the last run that completed: their
   * contents must then not have changed (an ImageEmbedding's buffers never do). A key given as a
   * Float32Array always recomputes; `keys` may be empty (then the segment runs once). The segment
   * may read only the key inputs, externals (weights) and what it writes itself; every tensor it
   * writes keeps a buffer of its own, so it still holds the last computed values when skipped.
   * time() and profile() always run the whole plan.
   */
  cached<T>(keys: readonly string[], fn: () => T): T {
    if (this.built) throw new Error(`plan '${this.label}' is built: no new segments`);
    for (const k of keys) if (!this.inputsByName.has(k)) throw new Error(`cached segment: plan '${this.label}' has no input '${k}'`);
    const keyTensors = new Set(keys.map((k) => this.inputsByName.get(k)!));
    const firstTensor = this.tensors.length;
    const start = this.recorded.length;
    const result = fn();
    const end = this.recorded.length;
    const own = (t: Tensor) => t.root.id >= firstTensor;
    for (let i = start; i < end; i++) {
      const d = this.recorded[i]!;
      for (const t of d.inputs) {
        const r = t.root;
        if (r.kind !== 'external' && !keyTensors.has(r) && !own(r)) {
          throw new Error(`cached segment of plan '${this.label}': ${d.label ?? d.shader} reads '${r.label}', which is neither a key input (${keys.join(', ') || 'none'}), a weight, nor written in the segment`);
        }
      }
      for (const t of d.outputs) if (t.root.kind === 'temp') t.root.kind = 'pinned';
    }
    if (end > start) this.segments.push({ start, end, keys: [...keys], last: null, offsets: new Map() });
    return result;
  }

  /** Creates pipelines, buffers (by liveness) and bind groups. Call once. */
  async build(): Promise<BuildStats> {
    if (this.built) throw new Error(`plan '${this.label}' already built`);
    this.built = true;
    const device = this.device;
    try {
      assertDeviceAlive(device, `plan '${this.label}'`);
      this.checkLimits();
    } catch (e) {
      this.failBuild(e as Error);
    }
    const pipelinePromises = this.recorded.map((d) => pipelineFor(device, d.shader, d.constants));

    // Liveness: first and last dispatch touching each tensor.
    const first = new Map<number, number>();
    const last = new Map<number, number>();
    for (const d of this.recorded) {
      for (const v of [...d.inputs, ...d.outputs]) {
        const t = v.root;
        if (!first.has(t.id)) first.set(t.id, d.index);
        last.set(t.id, d.index);
      }
    }
    for (const d of this.recorded) {
      for (const v of d.inputs) {
        const t = v.root;
        if (t.kind === 'temp' && first.get(t.id) === d.index && !d.outputs.some((o) => o.root === t)) {
          this.failBuild(new Error(`${d.shader}: temp '${t.label}' is read before anything writes it`));
        }
      }
    }
    const allocated = captureGpuErrors(device, () => {
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const make = (bytes: number, label: string) => {
        const b = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage, label });
        this.ownBuffers.push(b);
        return b;
      };
      let pinnedBytes = 0;
      for (const t of this.tensors) {
        if (t.base) continue;
        if ((t.kind === 'input' || t.kind === 'output' || t.kind === 'pinned') && !t.buffer) {
          t.buffer = make(t.bytes, t.label);
          pinnedBytes += t.buffer.size;
        }
      }
      // Temps: best-fit from a free list, in dispatch order.
      const free: GPUBuffer[] = [];
      const endsAt = new Map<number, Tensor[]>();
      for (const t of this.tensors) {
        if (t.base || t.kind !== 'temp' || !first.has(t.id)) continue;
        const e = last.get(t.id)!;
        if (!endsAt.has(e)) endsAt.set(e, []);
        endsAt.get(e)!.push(t);
      }
      let tempBytes = 0;
      let tempBytesUnshared = 0;
      for (const d of this.recorded) {
        for (const v of d.outputs) {
          const t = v.root;
          if (t.kind !== 'temp' || t.buffer) continue;
          tempBytesUnshared += t.bytes;
          let best = -1;
          for (let i = 0; i < free.length; i++) {
            if (free[i]!.size >= t.bytes && (best < 0 || free[i]!.size < free[best]!.size)) best = i;
          }
          if (best >= 0 && free[best]!.size <= 4 * Math.max(t.bytes, 4096)) {
            t.buffer = free.splice(best, 1)[0]!;
          } else {
            t.buffer = make(t.bytes, `temp:${t.label}`);
            tempBytes += t.buffer.size;
          }
        }
        for (const t of endsAt.get(d.index) ?? []) if (t.buffer) free.push(t.buffer);
      }
      return { pinnedBytes, tempBytes, tempBytesUnshared };
    });
    const { pinnedBytes, tempBytes, tempBytesUnshared } = allocated.result;
    const allocErr = await allocated.errors;
    if (allocErr) this.failBuild(gpuErrorToThrow(device, allocErr, `plan '${this.label}': creating ${((pinnedBytes + tempBytes) / 2 ** 20).toFixed(1)} MiB of buffers`));
    try {
      this.pipelines = await Promise.all(pipelinePromises);
    } catch (e) {
      this.failBuild(deviceLost(device) ? deviceLostError(device, `plan '${this.label}'`) : (e as Error));
    }
    // destroy() while building: what was made is freed; make nothing more.
    if (this.destroyed) throw new Error(`plan '${this.label}' was destroyed while it was being built`);
    const bound = captureGpuErrors(device, () => this.bindAll(device));
    const bindErr = await bound.errors;
    if (bindErr) this.failBuild(gpuErrorToThrow(device, bindErr, `plan '${this.label}': creating bind groups`));
    this.stats = {
      dispatches: this.recorded.length,
      pipelines: new Set(this.pipelines).size,
      tempBytes,
      tempBytesUnshared,
      pinnedBytes,
    };
    return this.stats;
  }

  /** Frees what build() made and throws `e`. */
  private failBuild(e: Error): never {
    this.destroy();
    throw e;
  }

  /**
   * Every tensor must fit one storage binding and one buffer of this device; the error names the
   * tensor, its size and the limit (a binding over the limit would otherwise be an invalid bind group,
   * and the plan would run nothing).
   */
  private checkLimits(): void {
    const lim = this.device.limits;
    const maxBinding = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
    const seen = new Set<Tensor>();
    for (const d of this.recorded) {
      for (const v of [...d.inputs, ...d.outputs]) {
        const t = v.root;
        if (seen.has(t)) continue;
        seen.add(t);
        if (t.bytes > maxBinding) {
          throw new GpuResourceError(
            `plan '${this.label}': tensor '${t.label}' [${t.shape}] needs ${t.bytes} bytes, more than this device's ` +
              `maxStorageBufferBindingSize (${lim.maxStorageBufferBindingSize} bytes, maxBufferSize ${lim.maxBufferSize})`,
          );
        }
      }
    }
  }

  private bindAll(device: GPUDevice): void {
    this.bindGroups = this.recorded.map((d, i) => {
      const entries: GPUBindGroupEntry[] = [...d.inputs, ...d.outputs].map((t, b) => ({
        binding: b,
        resource: { buffer: t.buffer!, offset: 0, size: Math.max(4, t.bytes) },
      }));
      if (d.params.length) {
        const words = new Uint32Array(Math.max(4, Math.ceil(d.params.length / 4) * 4));
        words.set(d.params.map((w) => w >>> 0));
        const ub = device.createBuffer({ size: words.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: `${d.shader}:params` });
        device.queue.writeBuffer(ub, 0, words);
        this.ownBuffers.push(ub);
        entries.push({ binding: entries.length, resource: { buffer: ub } });
      }
      return device.createBindGroup({ layout: this.pipelines[i]!.getBindGroupLayout(0), entries, label: d.label ?? d.shader });
    });
    for (const [name, t] of this.outputsByName) {
      const s = device.createBuffer({ size: Math.max(16, Math.ceil(t.bytes / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: `read:${name}` });
      this.ownBuffers.push(s);
      this.staging.set(name, s);
    }
  }

  /** Encodes the recorded dispatches (and copies in / out) into `encoder`. */
  encode(encoder: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites): void {
    const pass = encoder.beginComputePass({ label: this.label, timestampWrites });
    for (let i = 0; i < this.recorded.length; i++) {
      const seg = this.segments.findIndex((g) => i >= g.start && i < g.end);
      if (seg >= 0 && this.skipping[seg]) {
        i = this.segments[seg]!.end - 1;
        continue;
      }
      const d = this.recorded[i]!;
      pass.setPipeline(this.pipelines[i]!);
      pass.setBindGroup(0, this.bindGroups[i]!);
      pass.dispatchWorkgroups(d.groups[0], d.groups[1] ?? 1, d.groups[2] ?? 1);
    }
    pass.end();
  }

  /**
   * Writes `inputs`, runs the plan once and returns the outputs named in `read` (all outputs by
   * default). Calls on one plan are serialised: they share its input and output buffers.
   * `opts.copyOut` copies outputs into other buffers within the same submission (so that a later run
   * cannot overwrite them first). A run on a lost device rejects with GpuDeviceLostError; commands the
   * device rejects (a destroyed input buffer, …) reject the run instead of returning stale outputs.
   */
  run(
    inputs: Record<string, Float32Array | { buffer: GPUBuffer; offset?: number }> = {},
    read?: readonly string[],
    opts: { copyOut?: Record<string, GPUBuffer> } = {},
  ): Promise<Record<string, Float32Array>> {
    const job = this.queue.then(() => this.runNow(inputs, read ?? [...this.outputsByName.keys()], opts.copyOut ?? {}));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private async runNow(
    inputs: Record<string, Float32Array | { buffer: GPUBuffer; offset?: number }>,
    read: readonly string[],
    copyOut: Record<string, GPUBuffer>,
  ): Promise<Record<string, Float32Array>> {
    if (this.destroyed) throw new Error(`plan '${this.label}' was destroyed`);
    if (!this.built) throw new Error(`plan '${this.label}' is not built: call build() first`);
    const device = this.device;
    assertDeviceAlive(device, `plan '${this.label}'`);
    // Every argument is checked before anything is written.
    for (const name of Object.keys(inputs)) if (!this.inputsByName.has(name)) throw new Error(`plan '${this.label}' has no input '${name}'`);
    for (const [name, t] of this.inputsByName) {
      const v = inputs[name];
      if (v === undefined) throw new Error(`plan '${this.label}': input '${name}' is missing`);
      if (v instanceof Float32Array) {
        if (v.length !== t.size) throw new Error(`input '${name}': expected ${t.size} floats for shape [${t.shape}], got ${v.length}`);
      } else if (!v || !v.buffer || (v.offset ?? 0) + t.bytes > v.buffer.size) {
        throw new Error(`input '${name}': a GPU buffer of at least ${(v?.offset ?? 0) + t.bytes} bytes is needed`);
      }
    }
    for (const name of read) this.outputTensor(name);
    for (const [name, b] of Object.entries(copyOut)) {
      const t = this.outputTensor(name);
      if (b.size < Math.ceil(t.bytes / 4) * 4) throw new Error(`copyOut '${name}': buffer of ${b.size} bytes, ${t.bytes} needed`);
    }
    // Cached segments this run skips: each key input given as the same buffer as in the last run
    // that completed. Until this run completes, none counts as computed.
    const sameBuffer = (g: (typeof this.segments)[number], k: string) => {
      const v = inputs[k]!;
      return !(v instanceof Float32Array) && v.buffer === g.last!.get(k) && (v.offset ?? 0) === g.offsets.get(k);
    };
    this.skipping = this.segments.map((g) => g.last !== null && g.keys.every((k) => sameBuffer(g, k)));
    for (const g of this.segments) g.last = null;
    const { errors } = captureGpuErrors(device, () => {
      const encoder = device.createCommandEncoder({ label: this.label });
      for (const [name, t] of this.inputsByName) {
        const v = inputs[name]!;
        if (v instanceof Float32Array) {
          // npm `webgpu` cannot take views of a SharedArrayBuffer: copy those first.
          device.queue.writeBuffer(t.buffer!, 0, (v.buffer instanceof ArrayBuffer ? v : new Float32Array(v)) as Float32Array<ArrayBuffer>);
        } else {
          encoder.copyBufferToBuffer(v.buffer, v.offset ?? 0, t.buffer!, 0, t.bytes);
        }
      }
      try {
        this.encode(encoder);
      } finally {
        this.skipping = [];
      }
      for (const name of read) {
        const t = this.outputTensor(name);
        encoder.copyBufferToBuffer(t.buffer!, 0, this.staging.get(name)!, 0, Math.ceil(t.bytes / 4) * 4);
      }
      for (const [name, b] of Object.entries(copyOut)) {
        const t = this.outputTensor(name);
        encoder.copyBufferToBuffer(t.buffer!, 0, b, 0, Math.ceil(t.bytes / 4) * 4);
      }
      device.queue.submit([encoder.finish()]);
    });
    const t0 = performance.now();
    const out: Record<string, Float32Array> = {};
    let slept = 0;
    try {
      if (read.length) {
        slept = await this.politeWait();
        await Promise.all(read.map((name) => this.staging.get(name)!.mapAsync(GPUMapMode.READ)));
        for (const name of read) {
          const s = this.staging.get(name)!;
          out[name] = new Float32Array(s.getMappedRange(0, this.outputTensor(name).bytes).slice(0));
          s.unmap();
        }
      } else {
        slept = await this.politeWait();
        await device.queue.onSubmittedWorkDone();
      }
    } catch (e) {
      // Leave no staging buffer mapped (a mapped buffer cannot be copied into by the next run).
      for (const name of read) {
        try {
          this.staging.get(name)?.unmap();
        } catch {
          /* not mapped, or destroyed */
        }
      }
      throw await this.runFailure(e);
    }
    const err = await errors;
    if (deviceLost(device)) throw deviceLostError(device, `plan '${this.label}'`);
    if (err) throw gpuErrorToThrow(device, err, `plan '${this.label}' run`);
    this.learnRunTime(performance.now() - t0, slept);
    for (const g of this.segments) {
      if (g.keys.some((k) => inputs[k] instanceof Float32Array)) continue;
      g.last = new Map(g.keys.map((k) => [k, (inputs[k] as { buffer: GPUBuffer }).buffer]));
      g.offsets = new Map(g.keys.map((k) => [k, (inputs[k] as { offset?: number }).offset ?? 0]));
    }
    return out;
  }

  /** The error to report for a run whose readback failed. */
  private async runFailure(e: unknown): Promise<Error> {
    const device = this.device;
    if (this.destroyed) return new Error(`plan '${this.label}' was destroyed while it ran`);
    // Dawn rejects pending maps with an AbortError when the device is destroyed; `lost` may settle a
    // moment later.
    if (!deviceLost(device)) await Promise.race([device.lost?.then(() => undefined), sleep(50)]);
    if (deviceLost(device)) return deviceLostError(device, `plan '${this.label}'`);
    return e instanceof Error ? e : new Error(`plan '${this.label}': ${String(e)}`);
  }

  /**
   * Dawn in Node busy-waits a JS thread while a GPU promise is pending, which steals a core from a
   * software adapter (the res50 encoder took 4.9 s instead of 3.0 s on lavapipe). Sleeping for most
   * of the expected run time first gives that core back. Returns the ms slept.
   */
  private async politeWait(reps = 1): Promise<number> {
    const ms = Number.isFinite(this.runEstimateMs) ? this.runEstimateMs * reps * 0.85 : 0;
    if (this.gpu.info.runtime === 'node' && this.gpu.info.isSoftware && ms > 17) {
      await sleep(ms);
      return ms;
    }
    return 0;
  }

  /** Updates what politeWait sleeps on from a run of `reps` repetitions that took `ms`, `sleptMs` of it asleep. */
  private learnRunTime(ms: number, sleptMs: number, reps = 1): void {
    let per = ms / reps;
    // The first run pays for work a driver defers (shader compilation, first touch of buffers): it
    // took 1.8x (encoder) to 10x (decoder) a warm run on lavapipe. Half of it is a guess that spares
    // the second run the busy wait; an oversleep is corrected below.
    if (this.runsSeen++ === 0) per *= 0.5;
    // Woken to find the work done: the run may have been much shorter than the sleep. Otherwise the
    // run took `ms` (the estimate follows the last run both ways: a slow run, e.g. on a machine busy
    // with other work, costs at most one oversleep).
    if (sleptMs > 0 && ms - sleptMs < 0.05 * sleptMs) per = (0.8 * sleptMs) / reps;
    this.runEstimateMs = per;
  }

  /**
   * Runs the recorded dispatches `n` times in one command buffer (inputs as last written) and
   * returns the wall time per repetition in ms, and the GPU time per repetition when the device has
   * `timestamp-query`. For benchmarks.
   */
  async time(n: number): Promise<{ wallMs: number; gpuMs: number | null }> {
    if (!this.built) throw new Error(`plan '${this.label}' is not built`);
    const device = this.device;
    const ts = this.gpu.hasTimestamps;
    const qs = ts ? device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
    const resolve = ts ? device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }) : null;
    const read = ts ? device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }) : null;
    try {
      const encoder = device.createCommandEncoder({ label: `${this.label} x${n}` });
      for (let i = 0; i < n; i++) {
        const tw: GPUComputePassTimestampWrites | undefined = qs
          ? { querySet: qs, beginningOfPassWriteIndex: i === 0 ? 0 : undefined, endOfPassWriteIndex: i === n - 1 ? 1 : undefined }
          : undefined;
        this.encode(encoder, tw && (tw.beginningOfPassWriteIndex !== undefined || tw.endOfPassWriteIndex !== undefined) ? tw : undefined);
      }
      if (qs) {
        encoder.resolveQuerySet(qs, 0, 2, resolve!, 0);
        encoder.copyBufferToBuffer(resolve!, 0, read!, 0, 16);
      }
      const t0 = performance.now();
      device.queue.submit([encoder.finish()]);
      const slept = await this.politeWait(n);
      await device.queue.onSubmittedWorkDone();
      const wallMs = (performance.now() - t0) / n;
      this.learnRunTime(wallMs * n, slept, n);
      let gpuMs: number | null = null;
      if (read) {
        await read.mapAsync(GPUMapMode.READ);
        const t = new BigUint64Array(read.getMappedRange());
        const dt = Number(t[1]! - t[0]!) / 1e6 / n;
        read.unmap();
        gpuMs = dt > 0 ? dt : null;
      }
      return { wallMs, gpuMs };
    } finally {
      qs?.destroy();
      resolve?.destroy();
      read?.destroy();
    }
  }

  /**
   * GPU time of every recorded dispatch: each one runs `reps` times in a compute pass of its own,
   * between two timestamps, all in one command buffer (inputs as last written). Returns null when
   * the device has no `timestamp-query`. For benchmarks: a dispatch timed alone misses the overlap
   * a real run may get between neighbours, so the sum can exceed `time()`'s.
   */
  async profile(reps = 3): Promise<{ label: string; shader: string; gpuMs: number }[] | null> {
    if (!this.built) throw new Error(`plan '${this.label}' is not built`);
    if (!this.gpu.hasTimestamps) return null;
    const device = this.device;
    const out: { label: string; shader: string; gpuMs: number }[] = [];
    const CHUNK = 2048; // dispatches per query set (two queries each; Dawn allows 4096 per set)
    for (let first = 0; first < this.recorded.length; first += CHUNK) {
      const n = Math.min(CHUNK, this.recorded.length - first);
      const qs = device.createQuerySet({ type: 'timestamp', count: 2 * n });
      const resolve = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      const read = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      try {
        const encoder = device.createCommandEncoder({ label: `${this.label} profile` });
        for (let j = 0; j < n; j++) {
          const i = first + j;
          const d = this.recorded[i]!;
          const pass = encoder.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * j, endOfPassWriteIndex: 2 * j + 1 } });
          pass.setPipeline(this.pipelines[i]!);
          pass.setBindGroup(0, this.bindGroups[i]!);
          for (let r = 0; r < reps; r++) pass.dispatchWorkgroups(d.groups[0], d.groups[1] ?? 1, d.groups[2] ?? 1);
          pass.end();
        }
        encoder.resolveQuerySet(qs, 0, 2 * n, resolve, 0);
        encoder.copyBufferToBuffer(resolve, 0, read, 0, 16 * n);
        device.queue.submit([encoder.finish()]);
        await this.politeWait(reps);
        await device.queue.onSubmittedWorkDone();
        await read.mapAsync(GPUMapMode.READ);
        const t = new BigUint64Array(read.getMappedRange());
        for (let j = 0; j < n; j++) {
          const d = this.recorded[first + j]!;
          const dt = Number(t[2 * j + 1]! - t[2 * j]!) / 1e6 / reps;
          out.push({ label: d.label ?? d.shader, shader: d.shader, gpuMs: Math.max(0, dt) });
        }
        read.unmap();
      } finally {
        qs.destroy();
        resolve.destroy();
        read.destroy();
      }
    }
    return out;
  }

  /** Bytes of every GPU buffer the plan owns (temporaries, inputs, outputs, params, staging). */
  get gpuBytes(): number {
    let n = 0;
    for (const b of this.ownBuffers) n += b.size;
    return n;
  }

  /** Frees every buffer the plan created (not externals). */
  destroy(): void {
    this.destroyed = true;
    for (const b of this.ownBuffers) b.destroy();
    this.ownBuffers = [];
    this.staging.clear();
    this.bindGroups = [];
  }

  get bufferCount(): number {
    return this.ownBuffers.length;
  }
}
