// The record-once executor.
//
// Forward code calls ops (src/ops/*) against a Plan; each op records one or more dispatches of a
// WGSL kernel over virtual tensors. `build()` then, once:
//   - creates every pipeline (pipelines.ts: createComputePipelineAsync, cached by shader + constants),
//   - assigns the temporary tensors to GPU buffers by liveness (allocator.ts: a buffer is reused
//     after the last dispatch that touches its tensor), so peak activation memory stays small,
//   - creates every params uniform and bind group.
// `run()` writes the inputs, encodes the recorded dispatch list into one command buffer, submits it
// once and reads back only the requested outputs. Nothing is allocated or created per run.
// A cached segment (`cached()`, inputs.ts) is skipped while its key inputs are the same GPU buffers
// as in the last completed run: the decoder keeps its image-only work there. time() and profile()
// (timing.ts) are for benchmarks; a run sleeps through most of its expected time first (wait.ts).
// Why this file is over 400 lines: what is left is one class whose methods share the recorded
// dispatch list, the tensors and their buffers (record, build, bind, encode, run and its failure
// paths); the parts that stand alone already live apart (allocator, pipelines, inputs/segments,
// timing, wait, dispatch checks), and splitting the rest would pass that state around instead.
import { allocate, PlanError, type Allocation } from './allocator.js';
import {
  assertDeviceAlive, captureGpuErrors, deviceLost, deviceLostError, gpuErrorToThrow, GpuResourceError, watchDevice, type Gpu,
} from './device.js';
import { checkDispatch, checkFeatures, type DispatchSpec, type ShaderName } from './dispatch.js';
import { kernelPaths, kernelTuning, type KernelFamily, type KernelPath, type KernelPaths, type KernelTuning } from './kernels.js';
import { pipelineFor, pipelineKey } from './pipelines.js';
import { checkRunInputs, Segments, type RunInput } from './inputs.js';
import { Tensor, numel, storageBytes, type DType, type TensorKind } from './tensor.js';
import { profileDispatches, timeRuns, type DispatchTime, type Timeable } from './timing.js';
import { PoliteWait, sleep } from './wait.js';
import { f16ArrayToF32 } from '../safetensors/half.js';

export { PlanError } from './allocator.js';

export interface PlanOptions {
  /** The kernel variant per family (kernels.ts); a family left out takes the adapter's default. */
  kernels?: Partial<Record<KernelFamily, KernelPath>>;
  /** Split-K GEMMs and subgroup reductions on the tiled path (kernels.ts KernelTuning); default: the adapter's. */
  tuning?: Partial<KernelTuning>;
}

/** A recorded dispatch, its params packed into the uniform's words. */
interface Recorded {
  shader: ShaderName;
  constants?: Readonly<Record<string, number>>;
  inputs: Tensor[];
  outputs: Tensor[];
  /** The params uniform (null: the shader has none). */
  params: Uint32Array<ArrayBuffer> | null;
  groups: [number, number?, number?];
  label: string;
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
  /** What a run sleeps before it awaits the GPU (Dawn's busy wait, see wait.ts). */
  private readonly wait: PoliteWait;
  /** Cached segments (cached()): dispatches skipped while their key inputs are unchanged. */
  private readonly segments = new Segments();
  private destroyed = false;
  private encodedLast = 0;
  stats: BuildStats | null = null;

  /** The kernel variant each family's ops record on this plan. */
  readonly kernels: KernelPaths;
  /** Split-K GEMMs and subgroup reductions on this plan's tiled kernels. */
  readonly tuning: KernelTuning;

  constructor(gpu: Gpu, label = 'plan', opts: PlanOptions = {}) {
    this.gpu = gpu;
    this.label = label;
    this.kernels = kernelPaths(gpu.info, opts.kernels);
    this.tuning = kernelTuning(gpu.info, (gpu.device as { features?: GPUSupportedFeatures } | undefined)?.features, opts.tuning);
    this.wait = new PoliteWait(gpu.info);
    watchDevice(gpu.device);
  }

  get device(): GPUDevice {
    return this.gpu.device;
  }

  private newTensor(shape: readonly number[], kind: TensorKind, label: string, buffer?: GPUBuffer, base?: Tensor, dtype?: DType): Tensor {
    if (this.built) throw new PlanError(`plan '${this.label}' is built: no new tensors`);
    const t = new Tensor(this.tensors.length, shape, kind, label, buffer, base, dtype);
    this.tensors.push(t);
    return t;
  }

  /** An input written by `run()` under `name`. */
  input(name: string, shape: readonly number[]): Tensor {
    if (this.inputsByName.has(name)) throw new PlanError(`duplicate input '${name}'`);
    const t = this.newTensor(shape, 'input', name);
    this.inputsByName.set(name, t);
    return t;
  }

  /** A tensor that lives in a buffer owned elsewhere (weights, an encoded image), stored as `dtype`. */
  external(buffer: GPUBuffer, shape: readonly number[], label: string, dtype: DType = 'f32'): Tensor {
    const bytes = storageBytes(dtype, numel(shape));
    if (buffer.size < bytes) throw new PlanError(`external '${label}': buffer of ${buffer.size} bytes is smaller than ${dtype} shape [${shape}]`);
    return this.newTensor(shape, 'external', label, buffer, undefined, dtype);
  }

  /** A temporary whose buffer is shared with others by liveness, stored as `dtype`. */
  temp(shape: readonly number[], label = 'tmp', dtype: DType = 'f32'): Tensor {
    return this.newTensor(shape, 'temp', label, undefined, undefined, dtype);
  }

  /** The same storage under another shape with as many elements (free: no dispatch). */
  reshape(t: Tensor, shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== t.size) throw new PlanError(`reshape '${t.label}' [${t.shape}] -> [${shape}]: ${t.size} != ${n} elements`);
    return this.newTensor(shape, t.kind, t.label, undefined, t.root);
  }

  /** Makes `t` readable after `run()` under `name` (its buffer is then never shared). */
  output(name: string, t: Tensor): Tensor {
    if (this.outputsByName.has(name)) throw new PlanError(`duplicate output '${name}'`);
    if (t.root.kind === 'temp') t.root.kind = 'output';
    this.outputsByName.set(name, t);
    return t;
  }

  hasOutput(name: string): boolean {
    return this.outputsByName.has(name);
  }

  outputTensor(name: string): Tensor {
    const t = this.outputsByName.get(name);
    if (!t) throw new PlanError(`plan '${this.label}' has no output '${name}'`);
    return t;
  }

  inputTensor(name: string): Tensor {
    const t = this.inputsByName.get(name);
    if (!t) throw new PlanError(`plan '${this.label}' has no input '${name}'`);
    return t;
  }

  /**
   * Records one dispatch of shaders/<spec.shader>.wgsl. The binding counts, params and constants
   * are checked against the shader (dispatch.ts); a tensor written here may not be bound twice.
   */
  dispatch<S extends ShaderName>(spec: DispatchSpec<S>): void {
    const label = spec.label ?? spec.shader;
    const what = `plan '${this.label}': ${label} (${spec.shader})`;
    if (this.built) throw new PlanError(`plan '${this.label}' is built: no new dispatches`);
    for (const t of [...spec.inputs, ...spec.outputs]) {
      if (this.tensors[t.id] !== t) throw new PlanError(`${what}: tensor '${t.label}' belongs to another plan`);
    }
    const params = checkDispatch(spec, what);
    checkFeatures(spec.shader, (this.device as { features?: GPUSupportedFeatures }).features, what);
    const constants = spec.constants as Readonly<Record<string, number>> | undefined;
    this.recorded.push({ shader: spec.shader, constants, inputs: [...spec.inputs], outputs: [...spec.outputs], params, groups: spec.groups, label });
  }

  /**
   * The distinct pipelines (shader + override constants, pipelines.ts pipelineKey) of the recorded
   * dispatches, sorted: what build() compiles where no other plan on the device did first.
   */
  pipelineKeys(): string[] {
    return [...new Set(this.recorded.map((d) => pipelineKey(d.shader, d.constants)))].sort();
  }

  /**
   * Creates the pipelines of the recorded dispatches (all at once, createComputePipelineAsync) and
   * nothing else: a warm-up of the device's pipeline cache for this plan, or for another plan with
   * the same kernels. Resolves to the number of distinct pipelines. `serial` awaits each before
   * asking for the next (for benchmarks: what creating them all at once saves).
   */
  async compilePipelines(serial = false): Promise<number> {
    assertDeviceAlive(this.device, `plan '${this.label}'`);
    const seen = new Map<string, Promise<GPUComputePipeline>>();
    for (const d of this.recorded) {
      const key = pipelineKey(d.shader, d.constants);
      if (seen.has(key)) continue;
      const p = pipelineFor(this.device, d.shader, d.constants);
      seen.set(key, p);
      if (serial) await p;
    }
    await Promise.all(seen.values());
    return seen.size;
  }

  /** Dispatches recorded (what a run encodes when no cached segment is skipped). */
  get dispatchCount(): number {
    return this.recorded.length;
  }

  /** Dispatches the last run() encoded (cached segments skipped), 0 before the first run. */
  get lastRunDispatches(): number {
    return this.encodedLast;
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
    if (this.built) throw new PlanError(`plan '${this.label}' is built: no new segments`);
    for (const k of keys) if (!this.inputsByName.has(k)) throw new PlanError(`cached segment: plan '${this.label}' has no input '${k}'`);
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
          throw new PlanError(`cached segment of plan '${this.label}': ${d.label} reads '${r.label}', which is neither a key input (${keys.join(', ') || 'none'}), a weight, nor written in the segment`);
        }
      }
      for (const t of d.outputs) if (t.root.kind === 'temp') t.root.kind = 'pinned';
    }
    this.segments.add(start, end, keys);
    return result;
  }

  /** Creates pipelines, buffers (by liveness) and bind groups. Call once. */
  async build(): Promise<BuildStats> {
    if (this.built) throw new PlanError(`plan '${this.label}' already built`);
    this.built = true;
    const device = this.device;
    try {
      assertDeviceAlive(device, `plan '${this.label}'`);
      this.checkLimits();
    } catch (e) {
      this.failBuild(e as Error);
    }
    let alloc: Allocation;
    try {
      alloc = allocate(
        this.tensors.map((t) => ({ bytes: t.bytes, kind: t.kind, label: t.label, viewOf: t.base?.id })),
        this.recorded.map((d) => ({ reads: d.inputs.map((t) => t.id), writes: d.outputs.map((t) => t.id), label: d.label })),
        `plan '${this.label}'`,
      );
    } catch (e) {
      this.failBuild(e as Error);
    }
    const pipelinePromises = this.recorded.map((d) => pipelineFor(device, d.shader, d.constants));
    const allocated = captureGpuErrors(device, () => {
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const buffers = alloc.slots.map((s) => device.createBuffer({ size: s.bytes, usage, label: s.label }));
      this.ownBuffers.push(...buffers);
      this.tensors.forEach((t, id) => {
        if (!t.base && alloc.slotOf[id]! >= 0) t.buffer = buffers[alloc.slotOf[id]!];
      });
    });
    const { pinnedBytes, tempBytes, tempBytesUnshared } = alloc;
    const allocErr = await allocated.errors;
    if (allocErr) this.failBuild(gpuErrorToThrow(device, allocErr, `plan '${this.label}': creating ${((pinnedBytes + tempBytes) / 2 ** 20).toFixed(1)} MiB of buffers`));
    try {
      this.pipelines = await Promise.all(pipelinePromises);
    } catch (e) {
      this.failBuild(deviceLost(device) ? deviceLostError(device, `plan '${this.label}'`) : (e as Error));
    }
    // destroy() while building: what was made is freed; make nothing more.
    if (this.destroyed) throw new PlanError(`plan '${this.label}' was destroyed while it was being built`);
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
      if (d.params) {
        const ub = device.createBuffer({ size: d.params.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: `${d.shader}:params` });
        device.queue.writeBuffer(ub, 0, d.params);
        this.ownBuffers.push(ub);
        entries.push({ binding: entries.length, resource: { buffer: ub } });
      }
      return device.createBindGroup({ layout: this.pipelines[i]!.getBindGroupLayout(0), entries, label: d.label });
    });
    for (const [name, t] of this.outputsByName) {
      const s = device.createBuffer({ size: Math.max(16, Math.ceil(t.bytes / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: `read:${name}` });
      this.ownBuffers.push(s);
      this.staging.set(name, s);
    }
  }

  /**
   * Encodes the recorded dispatches into one compute pass of `encoder`, leaving out the cached
   * segments whose flag in `skip` is true (one flag per segment, in recording order). Returns the
   * number of dispatches encoded.
   */
  encode(encoder: GPUCommandEncoder, skip: readonly boolean[] = [], timestampWrites?: GPUComputePassTimestampWrites): number {
    const pass = encoder.beginComputePass({ label: this.label, timestampWrites });
    let n = 0;
    for (let i = this.segments.next(0, skip); i < this.recorded.length; i = this.segments.next(i + 1, skip)) {
      this.encodeDispatch(pass, i, 1);
      n++;
    }
    pass.end();
    return n;
  }

  private encodeDispatch(pass: GPUComputePassEncoder, i: number, reps: number): void {
    const d = this.recorded[i]!;
    pass.setPipeline(this.pipelines[i]!);
    pass.setBindGroup(0, this.bindGroups[i]!);
    for (let r = 0; r < reps; r++) pass.dispatchWorkgroups(d.groups[0], d.groups[1] ?? 1, d.groups[2] ?? 1);
  }

  /**
   * Writes `inputs`, runs the plan once and returns the outputs named in `read` (all outputs by
   * default; an f16 output as its f32 values). Calls on one plan are serialised: they share its input and output buffers.
   * `opts.copyOut` copies outputs into other buffers within the same submission (so that a later run
   * cannot overwrite them first). A run on a lost device rejects with GpuDeviceLostError; commands the
   * device rejects (a destroyed input buffer, …) reject the run instead of returning stale outputs.
   * `opts.warmup` marks a warm-up run (SamUnet.warmup): its time, which pays for the driver's
   * deferred compilation, is not learnt as the plan's expected run time (wait.ts).
   */
  run(
    inputs: Record<string, RunInput> = {},
    read?: readonly string[],
    opts: { copyOut?: Record<string, GPUBuffer>; warmup?: boolean } = {},
  ): Promise<Record<string, Float32Array>> {
    const job = this.queue.then(() => this.runNow(inputs, read ?? [...this.outputsByName.keys()], opts.copyOut ?? {}, !!opts.warmup));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private async runNow(
    inputs: Record<string, RunInput>,
    read: readonly string[],
    copyOut: Record<string, GPUBuffer>,
    warmup: boolean,
  ): Promise<Record<string, Float32Array>> {
    if (this.destroyed) throw new PlanError(`plan '${this.label}' was destroyed`);
    if (!this.built) throw new PlanError(`plan '${this.label}' is not built: call build() first`);
    const device = this.device;
    assertDeviceAlive(device, `plan '${this.label}'`);
    // Every argument is checked before anything is written.
    checkRunInputs(`plan '${this.label}'`, this.inputsByName, inputs);
    for (const name of read) this.outputTensor(name);
    for (const [name, b] of Object.entries(copyOut)) {
      const t = this.outputTensor(name);
      if (b.size < Math.ceil(t.bytes / 4) * 4) throw new PlanError(`copyOut '${name}': buffer of ${b.size} bytes, ${t.bytes} needed`);
    }
    const skip = this.segments.begin(inputs);
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
      this.encodedLast = this.encode(encoder, skip);
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
        slept = await this.wait.sleep();
        await Promise.all(read.map((name) => this.staging.get(name)!.mapAsync(GPUMapMode.READ)));
        for (const name of read) {
          const s = this.staging.get(name)!;
          const t = this.outputTensor(name);
          const range = s.getMappedRange(0, t.bytes);
          // An f16 output (an intermediate stage of an f16-compute plan) is read as f32 values.
          out[name] = t.dtype === 'f16' ? f16ArrayToF32(new Uint16Array(range, 0, t.size)) : new Float32Array(range.slice(0));
          s.unmap();
        }
      } else {
        slept = await this.wait.sleep();
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
    if (warmup) this.wait.warmedUp();
    else this.wait.learn(performance.now() - t0, slept);
    this.segments.done(inputs);
    return out;
  }

  /** The error to report for a run whose readback failed. */
  private async runFailure(e: unknown): Promise<Error> {
    const device = this.device;
    if (this.destroyed) return new PlanError(`plan '${this.label}' was destroyed while it ran`);
    // Dawn rejects pending maps with an AbortError when the device is destroyed; `lost` may settle a
    // moment later.
    if (!deviceLost(device)) await Promise.race([device.lost?.then(() => undefined), sleep(50)]);
    if (deviceLost(device)) return deviceLostError(device, `plan '${this.label}'`);
    return e instanceof Error ? e : new Error(`plan '${this.label}': ${String(e)}`);
  }

  /**
   * Runs the recorded dispatches `n` times in one command buffer (inputs as last written, no segment
   * skipped) and returns the wall time per repetition in ms, and the GPU time per repetition when
   * the device has `timestamp-query`. For benchmarks.
   */
  async time(n: number): Promise<{ wallMs: number; gpuMs: number | null }> {
    return timeRuns(this.timeable(), n);
  }

  /**
   * GPU time of every recorded dispatch, each run `reps` times alone between two timestamps (inputs
   * as last written); null when the device has no `timestamp-query`. For benchmarks (timing.ts).
   */
  async profile(reps = 3): Promise<DispatchTime[] | null> {
    return profileDispatches(this.timeable(), reps);
  }

  private timeable(): Timeable {
    if (!this.built || this.destroyed) throw new PlanError(`plan '${this.label}' is not built`);
    return {
      label: this.label,
      gpu: this.gpu,
      wait: this.wait,
      encodeRun: (encoder, tw) => this.encode(encoder, [], tw),
      dispatches: this.recorded.map((d, i) => ({
        label: d.label,
        shader: d.shader,
        encode: (pass: GPUComputePassEncoder, reps: number) => this.encodeDispatch(pass, i, reps),
      })),
    };
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
