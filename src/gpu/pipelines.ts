// The compute pipelines of every plan on a device, created once per shader + override constants
// (the specialisation key) and shared: the res50 encoder's ~500 dispatches use a few dozen.
import { SHADERS } from '../generated/shaders.js';

type Pipelines = Map<string, Promise<GPUComputePipeline>>;
const caches = new WeakMap<GPUDevice, Pipelines>();

/** The cache key: the shader name, then its constants sorted by name (`matmul|ACT=2,BIAS=1`). */
export function pipelineKey(shader: string, constants?: Readonly<Record<string, number>>): string {
  const keys = constants ? Object.keys(constants).sort() : [];
  return shader + (keys.length ? '|' + keys.map((k) => `${k}=${constants![k]}`).join(',') : '');
}

/** The pipeline of `shader` (shaders/<shader>.wgsl) with `constants`; a failed creation is not cached. */
export function pipelineFor(device: GPUDevice, shader: string, constants?: Readonly<Record<string, number>>): Promise<GPUComputePipeline> {
  let cache = caches.get(device);
  if (!cache) caches.set(device, (cache = new Map()));
  const key = pipelineKey(shader, constants);
  let p = cache.get(key);
  if (!p) {
    const code = SHADERS[shader as keyof typeof SHADERS];
    if (code === undefined) throw new Error(`unknown shader '${shader}' (no shaders/${shader}.wgsl)`);
    const module = device.createShaderModule({ code, label: shader });
    const hasConstants = !!constants && Object.keys(constants).length > 0;
    p = device.createComputePipelineAsync({
      layout: 'auto',
      label: key,
      compute: { module, entryPoint: 'main', constants: hasConstants ? { ...constants } : undefined },
    });
    p.catch(() => cache!.delete(key));
    cache.set(key, p);
  }
  return p;
}
