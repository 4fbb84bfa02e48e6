// The Web Worker entry (`sam-unet-webgpu/worker`): the model runs here, off the app's thread.
// Start it as a module worker and hand it to SamUnetWorker.create:
//
//   const sam = await SamUnetWorker.create(new Worker(new URL('sam-unet-webgpu/worker', import.meta.url), { type: 'module' }));
import { SamUnetWorkerError, type Endpoint } from './protocol.js';
import { serveSamUnet } from './host.js';

const scope = globalThis as unknown as Partial<Endpoint> & { document?: unknown };
if (typeof scope.postMessage !== 'function' || typeof scope.addEventListener !== 'function' || scope.document !== undefined) {
  throw new SamUnetWorkerError("sam-unet-webgpu/worker is a Web Worker's script: start it with new Worker(url, { type: 'module' }), do not import it");
}
serveSamUnet(scope as Endpoint);
