// A checkpoint on disk as a weight source (Node, and Deno's Node layer). Kept apart from index.ts
// so that browser bundles never import node:fs.

import { fileSource } from '../safetensors/node.js';
import { PthCheckpoint, type PthOptions } from './checkpoint.js';
import { checkpointWeights, type PthWeights } from './index.js';

/** The checkpoint at `path` (random access through a file handle). Call close() when loaded. */
export async function pthFileWeights(path: string, opts: PthOptions = {}): Promise<PthWeights & { close(): Promise<void> }> {
  const src = await fileSource(path);
  try {
    return { ...checkpointWeights(await PthCheckpoint.open(src, opts), src.size), close: () => src.close() };
  } catch (e) {
    await src.close();
    throw e;
  }
}
