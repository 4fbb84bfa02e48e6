// PyTorch checkpoints (.pth, torch.save) as a weight source, without Python and without running
// the pickle: see checkpoint.ts for the layouts read, pickle.ts and globals.ts for what the pickle
// may contain, zip.ts for the container.
//
//   const model = await SamUnet.load(gpu, await pthWeights(file));   // a File, Blob or bytes

import { blobSource, bytesSource, type ByteSource } from '../safetensors/read.js';
import type { EntryInfo, WeightProvider } from '../weights/source.js';
import { PthCheckpoint, type PthOptions } from './checkpoint.js';

export { PthCheckpoint, STATE_DICT_KEYS, DEFAULT_MAX_PICKLE_BYTES, looksLikePth, type PthOptions, type PthTensorInfo } from './checkpoint.js';
export { PthError, UnsafePickleError } from './errors.js';
export { DEFAULT_MAX_ZIP_ENTRIES } from './zip.js';

/**
 * A checkpoint's state_dict as a random-access weight source: tensors keyed by their state_dict
 * names with the 'module.' prefix stripped, each read from the file when asked for (F16 / BF16
 * converted to float32 exactly).
 */
export interface PthWeights extends WeightProvider {
  /** The checkpoint file's size in bytes. */
  readonly size: number;
  readonly checkpoint: PthCheckpoint;
}

/** The weight source of an open checkpoint. */
export function checkpointWeights(checkpoint: PthCheckpoint, size: number): PthWeights {
  const entries = new Map<string, EntryInfo>();
  for (const [name, t] of checkpoint.tensors) entries.set(name, { dtype: t.dtype, shape: t.shape });
  return { entries, read: (key) => checkpoint.readF32(key), size, checkpoint };
}

/**
 * Opens a checkpoint given as a File / Blob (read by slices: the file is never whole in memory),
 * bytes, or any ByteSource. Resolves once the pickle is read and every state_dict tensor checked.
 */
export async function pthWeights(input: Blob | ArrayBuffer | Uint8Array | ByteSource, opts: PthOptions = {}): Promise<PthWeights> {
  const src = input instanceof Uint8Array || input instanceof ArrayBuffer ? bytesSource(input) : 'slice' in input ? blobSource(input) : input;
  return checkpointWeights(await PthCheckpoint.open(src, opts), src.size);
}
