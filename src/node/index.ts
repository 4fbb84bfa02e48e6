// Node-only entry (`sam-unet-webgpu/node`): weights from a path on disk. Browser bundles import
// the package root, which never reaches node:fs; this file does.
import { open } from 'node:fs/promises';
import type { Gpu } from '../gpu/device.js';
import type { Variant } from '../model/config.js';
import { ModelWeights } from '../model/weights.js';
import { streamWeights, type StreamWeightProvider, type StreamWeightsOptions } from '../weights/sources.js';

export { fileSource, type FileSource } from '../safetensors/node.js';

/** Chunk size of the file stream: large enough that per-chunk overhead does not matter. */
const CHUNK = 4 * 1024 * 1024;

/**
 * The file as a ReadableStream that reads a chunk only when the consumer asks for one
 * (highWaterMark 0), so at most one chunk is in flight: Readable.toWeb(createReadStream()) reads
 * ahead of a slow consumer.
 */
export async function fileStream(path: string, chunkSize = CHUNK): Promise<{ stream: ReadableStream<Uint8Array>; size: number }> {
  const fh = await open(path, 'r');
  let size: number;
  try {
    size = (await fh.stat()).size;
  } catch (e) {
    await fh.close();
    throw e;
  }
  let pos = 0;
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await fh.close();
    }
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        try {
          const buf = new Uint8Array(Math.min(chunkSize, Math.max(0, size - pos)));
          const { bytesRead } = buf.byteLength ? await fh.read(buf, 0, buf.byteLength, pos) : { bytesRead: 0 };
          if (bytesRead === 0) {
            await close();
            c.close();
            return;
          }
          pos += bytesRead;
          c.enqueue(buf.subarray(0, bytesRead));
        } catch (e) {
          await close().catch(() => {});
          c.error(e);
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
  return { stream, size };
}

/**
 * The safetensors file at `path` as streamed weights (read once, in file order, one tensor in
 * memory at a time). Pass it to SamUnet.load or ModelWeights.load.
 */
export async function fileWeights(path: string, opts: Omit<StreamWeightsOptions, 'size'> = {}): Promise<StreamWeightProvider> {
  const { stream, size } = await fileStream(path);
  return streamWeights(stream, { ...opts, size });
}

/** Streams the file at `path` into GPU buffers. */
export async function loadWeightsFromFile(
  gpu: Gpu,
  path: string,
  opts: Omit<StreamWeightsOptions, 'size'> & { variant?: Variant } = {},
): Promise<ModelWeights> {
  return ModelWeights.load(gpu, await fileWeights(path, opts), { variant: opts.variant });
}
