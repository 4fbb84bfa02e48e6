// One way to get a WebGPU device in the browser, Deno (navigator.gpu) and Node (npm `webgpu`, Dawn).
//
// On Node without a GPU, Dawn only sees the Vulkan drivers named by VK_ICD_FILENAMES when
// `create()` runs. When the variable is unset we try the software drivers that a Debian machine
// can have, in order of speed: Mesa's lavapipe (Mesa >= 23; Dawn rejects Mesa 22) and the
// SwiftShader that Debian's `chromium` package ships.

/** Limits the model needs, with the smallest value it works with (all are WebGPU defaults). */
export const REQUIRED_LIMITS: Readonly<Record<string, number>> = {
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxBufferSize: 256 * 1024 * 1024,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupsPerDimension: 65535,
};

/** Limits we take as large as the adapter offers (big images, large batches). */
const TAKE_MAX = ['maxStorageBufferBindingSize', 'maxBufferSize'] as const;

export const NODE_ICD_CANDIDATES: readonly string[] = [
  '/usr/share/vulkan/icd.d/lvp_icd.json',
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
  '/usr/lib/chromium/vk_swiftshader_icd.json',
];

export interface AdapterDescription {
  /** A one-line human description, e.g. "llvmpipe: Mesa 25.0.7 (vendor mesa) via Node + Dawn". */
  name: string;
  runtime: 'browser' | 'deno' | 'node';
  vendor: string;
  architecture: string;
  description: string;
  isSoftware: boolean;
  features: string[];
  /** The Vulkan ICD file Dawn was pointed at (Node only). */
  icd?: string;
}

export interface Gpu {
  /** The GPU object the adapter came from. Dawn's instance dies with it: keep it referenced. */
  gpu: GPU;
  device: GPUDevice;
  adapter: GPUAdapter;
  info: AdapterDescription;
  hasF16: boolean;
  hasTimestamps: boolean;
  /** The device was given 'subgroups' (the tiled kernels' subgroup reductions, PlanOptions.tuning). */
  hasSubgroups?: boolean;
}

export interface GpuOptions {
  powerPreference?: GPUPowerPreference;
  /** Ask for `shader-f16` when the adapter has it. */
  f16?: boolean;
  /** Ask for `timestamp-query` when the adapter has it. */
  timestamps?: boolean;
  /** Ask for `subgroups` when the adapter has it (default true: the tiled kernels use it for reductions). */
  subgroups?: boolean;
  /** Node only: options passed to the npm `webgpu` package's `create()`. */
  dawnOptions?: string[];
  /** An already obtained `GPU` object (navigator.gpu or Dawn's); skips discovery. */
  gpu?: GPU;
}

export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}

/** The WebGPU device was lost (destroyed, driver reset, …): nothing more can run on it. Request a new
 * device (requestGpu) and load the model again. */
export class GpuDeviceLostError extends Error {
  override name = 'GpuDeviceLostError';
  constructor(
    message: string,
    /** GPUDeviceLostInfo.reason: 'destroyed' or 'unknown' (undefined when not yet reported). */
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** The device refused to create or run something: out of memory, or over one of its limits. The
 * message names the plan or weight, the sizes and the limit. */
export class GpuResourceError extends Error {
  override name = 'GpuResourceError';
}

interface LostState {
  info: { reason: string; message: string } | null;
}
const lostStates = new WeakMap<GPUDevice, LostState>();

/** Starts watching `device.lost` (idempotent); deviceLost() then reports the loss. */
export function watchDevice(device: GPUDevice): void {
  if (lostStates.has(device)) return;
  const state: LostState = { info: null };
  lostStates.set(device, state);
  const lost = (device as { lost?: Promise<GPUDeviceLostInfo> }).lost;
  lost?.then(
    (i) => void (state.info = { reason: String(i?.reason ?? 'unknown'), message: String(i?.message ?? '') }),
    () => undefined,
  );
}

/** How the device was lost, or null while it is usable (as far as has been reported). */
export function deviceLost(device: GPUDevice): { reason: string; message: string } | null {
  return lostStates.get(device)?.info ?? null;
}

/** The error to throw for work on a lost device; `what` names the work (e.g. "decode"). */
export function deviceLostError(device: GPUDevice, what: string): GpuDeviceLostError {
  const i = deviceLost(device);
  const why = i ? `${i.reason}${i.message ? `: ${i.message}` : ''}` : 'reason not reported';
  return new GpuDeviceLostError(
    `${what}: the WebGPU device was lost (${why}); request a new device and load the model again`,
    i?.reason,
  );
}

/** Throws a GpuDeviceLostError when `device` is known to be lost. */
export function assertDeviceAlive(device: GPUDevice, what: string): void {
  if (deviceLost(device)) throw deviceLostError(device, what);
}

/**
 * Runs `fn` (synchronous WebGPU calls) inside out-of-memory and validation error scopes. Returns its
 * result and a promise of the first error the scopes caught (null when none). Keep `fn` synchronous:
 * error scopes are a per-device stack, and another plan's calls between push and pop would land in
 * these scopes.
 */
export function captureGpuErrors<T>(device: GPUDevice, fn: () => T): { result: T; errors: Promise<GPUError | null> } {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = fn();
  } catch (e) {
    void device.popErrorScope().catch(() => null);
    void device.popErrorScope().catch(() => null);
    throw e;
  }
  const validation = device.popErrorScope();
  const oom = device.popErrorScope();
  const errors = Promise.all([oom.catch(() => null), validation.catch(() => null)]).then(([o, v]) => o ?? v ?? null);
  return { result, errors };
}

/** A thrown error for a GPUError caught by captureGpuErrors. */
export function gpuErrorToThrow(device: GPUDevice, err: GPUError, what: string): Error {
  if (deviceLost(device)) return deviceLostError(device, what);
  const kind = typeof GPUOutOfMemoryError !== 'undefined' && err instanceof GPUOutOfMemoryError ? 'out of GPU memory' : 'rejected by WebGPU';
  return new GpuResourceError(`${what}: ${kind}: ${err.message.split('\n')[0]}`);
}

function runtimeName(): 'browser' | 'deno' | 'node' {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string } }; window?: unknown };
  if (g.Deno !== undefined) return 'deno';
  if (g.window !== undefined || typeof (globalThis as { document?: unknown }).document !== 'undefined') return 'browser';
  if (g.process?.versions?.node) return 'node';
  return 'browser';
}

/** Checks an adapter against REQUIRED_LIMITS; throws naming every missing limit or feature. */
export function checkAdapter(adapter: GPUAdapter, features: readonly string[] = []): void {
  const problems: string[] = [];
  for (const [k, need] of Object.entries(REQUIRED_LIMITS)) {
    const have = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof have !== 'number' || have < need) problems.push(`limit ${k} is ${have}, the model needs ${need}`);
  }
  for (const f of features) if (!adapter.features.has(f)) problems.push(`feature '${f}' is missing`);
  if (problems.length) throw new GpuUnavailableError(`WebGPU adapter cannot run SAM-UNet: ${problems.join('; ')}`);
}

function describe(adapter: GPUAdapter, runtime: AdapterDescription['runtime'], icd?: string): AdapterDescription {
  const ai = (adapter as { info?: GPUAdapterInfo }).info;
  const vendor = ai?.vendor ?? '';
  const architecture = ai?.architecture ?? '';
  const description = ai?.description ?? '';
  const features = [...adapter.features].map(String).sort();
  const text = `${description} ${vendor} ${architecture}`.toLowerCase();
  const isFallback = (ai as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true;
  const isSoftware = isFallback || /llvmpipe|lavapipe|swiftshader|software/.test(text);
  const what = description || [vendor, architecture].filter(Boolean).join(' ') || 'unknown adapter';
  const via = runtime === 'node' ? 'Node + Dawn' : runtime === 'deno' ? 'Deno' : 'browser';
  const name = `${what}${vendor && !what.includes(vendor) ? ` (${vendor})` : ''} via ${via}${isSoftware ? ' [software]' : ''}`;
  return { name, runtime, vendor, architecture, description, isSoftware, features, icd };
}

/**
 * import() of a Node-only module through a parameter, so that bundlers neither resolve it nor
 * write its name into a browser bundle as an import (this only runs in Node).
 */
function nodeImport<T>(spec: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ spec) as Promise<T>;
}

async function nodeAdapter(opts: GpuOptions): Promise<{ gpu: GPU; adapter: GPUAdapter; icd?: string }> {
  let mod: { create: (o: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = await nodeImport('webgpu');
  } catch (e) {
    // npm `webgpu` (Dawn, ~130 MB of native binaries) is an optional peer dependency: a web app's
    // install does not fetch it, a Node user installs it.
    const err = e as { code?: string; message?: string };
    const notInstalled = err.code === 'ERR_MODULE_NOT_FOUND' && /'webgpu'/.test(err.message ?? '');
    throw new GpuUnavailableError(
      notInstalled
        ? "Node has no WebGPU: sam-unet-webgpu runs on the npm package 'webgpu' (Dawn) in Node, an optional peer dependency that is not installed. Run 'npm install webgpu'."
        : `Node has no WebGPU: the npm package 'webgpu' is installed but could not be loaded (${err.message}). Run 'npm install webgpu' again for this platform.`,
    );
  }
  // Dawn's GPU* constants (GPUBufferUsage, …) are globals in browsers and Deno.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const env = process.env;
  const tried: string[] = [];
  const candidates = env.VK_ICD_FILENAMES ? [env.VK_ICD_FILENAMES] : [undefined, ...NODE_ICD_CANDIDATES];
  const { existsSync } = await nodeImport<typeof import('node:fs')>('node:fs');
  for (const icd of candidates) {
    if (icd !== undefined && !existsSync(icd)) continue;
    if (icd !== undefined) env.VK_ICD_FILENAMES = icd;
    const gpu = mod.create(opts.dawnOptions ?? []);
    const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
    tried.push(icd ?? 'default Vulkan drivers');
    if (adapter) return { gpu, adapter, icd };
    if (icd !== undefined && candidates[0] !== icd) delete env.VK_ICD_FILENAMES;
  }
  throw new GpuUnavailableError(
    `No WebGPU adapter found in Node (tried ${tried.join(', ')}). On a machine without a GPU install a software ` +
      `Vulkan driver: Debian 12 'apt-get install -t bookworm-backports mesa-vulkan-drivers' (Mesa >= 23) or ` +
      `'apt-get install chromium' (SwiftShader), or point VK_ICD_FILENAMES at an ICD json.`,
  );
}

/** Finds an adapter, checks the limits the model needs, and returns a device. */
export async function requestGpu(opts: GpuOptions = {}): Promise<Gpu> {
  const runtime = runtimeName();
  let adapter: GPUAdapter | null = null;
  let icd: string | undefined;
  let gpu: GPU | undefined = opts.gpu;
  if (gpu) {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
  } else if (runtime === 'node' && !(globalThis as { navigator?: Navigator }).navigator?.gpu) {
    ({ gpu, adapter, icd } = await nodeAdapter(opts));
  } else {
    gpu = (globalThis as { navigator?: Navigator }).navigator?.gpu;
    if (!gpu) {
      throw new GpuUnavailableError(
        runtime === 'deno'
          ? 'Deno has no navigator.gpu: run with --unstable-webgpu (Deno < 2) or install a Vulkan driver (mesa-vulkan-drivers).'
          : 'This browser has no WebGPU (navigator.gpu is undefined). Use Chrome/Edge 113+ or start Chromium with --enable-unsafe-webgpu.',
      );
    }
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference });
  }
  if (!adapter) {
    throw new GpuUnavailableError(
      'WebGPU is present but no adapter was returned. Install a Vulkan driver (on Debian: mesa-vulkan-drivers) or enable WebGPU in the browser.',
    );
  }
  checkAdapter(adapter);
  const requiredFeatures: GPUFeatureName[] = [];
  const hasF16 = !!opts.f16 && adapter.features.has('shader-f16');
  if (hasF16) requiredFeatures.push('shader-f16');
  const hasTimestamps = !!opts.timestamps && adapter.features.has('timestamp-query');
  if (hasTimestamps) requiredFeatures.push('timestamp-query');
  const hasSubgroups = (opts.subgroups ?? true) && adapter.features.has('subgroups' as GPUFeatureName);
  if (hasSubgroups) requiredFeatures.push('subgroups' as GPUFeatureName);
  const requiredLimits: Record<string, number> = {};
  for (const k of Object.keys(REQUIRED_LIMITS)) {
    const have = (adapter.limits as unknown as Record<string, number>)[k];
    requiredLimits[k] = (TAKE_MAX as readonly string[]).includes(k) ? have : REQUIRED_LIMITS[k]!;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'sam-unet' });
  watchDevice(device);
  return { gpu: gpu!, device, adapter, info: describe(adapter, runtime, icd), hasF16, hasTimestamps, hasSubgroups };
}
