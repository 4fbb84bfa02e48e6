// The compute pipelines of every plan on a device, created once per shader + override constants
// (the specialisation key) and shared: the res50 encoder's ~500 dispatches use a few dozen. Each
// shader's module is created once too (its pipelines differ only in their constants), and every
// pipeline with createComputePipelineAsync, so that a plan's pipelines compile in parallel where
// the implementation can (Dawn on its worker threads, a browser in its GPU process).
import { SHADERS } from '../generated/shaders.js';

type Constants = Readonly<Record<string, number>>;

interface DeviceCache {
  pipelines: Map<string, Promise<GPUComputePipeline>>;
  modules: Map<string, GPUShaderModule>;
}
const caches = new WeakMap<GPUDevice, DeviceCache>();

function cacheOf(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (!c) caches.set(device, (c = { pipelines: new Map(), modules: new Map() }));
  return c;
}

/** The cache key: the shader name, then its constants sorted by name (`matmul|ACT=2,BIAS=1`). */
export function pipelineKey(shader: string, constants?: Constants): string {
  const keys = constants ? Object.keys(constants).sort() : [];
  return shader + (keys.length ? '|' + keys.map((k) => `${k}=${constants![k]}`).join(',') : '');
}

/** The shader of a pipeline key (what precedes the constants). */
export function shaderOfKey(key: string): string {
  const bar = key.indexOf('|');
  return bar < 0 ? key : key.slice(0, bar);
}

/** The pipeline of `shader` (shaders/<shader>.wgsl) with `constants`; a failed creation is not cached. */
export function pipelineFor(device: GPUDevice, shader: string, constants?: Constants): Promise<GPUComputePipeline> {
  const cache = cacheOf(device);
  const key = pipelineKey(shader, constants);
  let p = cache.pipelines.get(key);
  if (!p) {
    let module = cache.modules.get(shader);
    if (!module) {
      const code = SHADERS[shader as keyof typeof SHADERS];
      if (code === undefined) throw new Error(`unknown shader '${shader}' (no shaders/${shader}.wgsl)`);
      module = device.createShaderModule({ code, label: shader });
      cache.modules.set(shader, module);
    }
    const hasConstants = !!constants && Object.keys(constants).length > 0;
    p = device.createComputePipelineAsync({
      layout: 'auto',
      label: key,
      compute: { module, entryPoint: 'main', constants: hasConstants ? { ...constants } : undefined },
    });
    p.catch(() => cache.pipelines.delete(key));
    cache.pipelines.set(key, p);
  }
  return p;
}
