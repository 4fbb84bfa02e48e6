// Where weights come from. A source names its tensors up front (`entries`), so that the loader can
// check the whole key set before any value arrives, and then gives the values in one of two ways:
// - random access, `read(key)` in any order (a safetensors file read by slices, a PyTorch
//   checkpoint, the synthetic rule);
// - a pushed sequence, `tensors()`, every tensor once in the source's own order (a download, a
//   file stream).
// The loader consumes one pushed sequence either way: pushedTensors() wraps a random-access source.

/** A weight set the model cannot use, or a source that misbehaves; the message names the tensor. */
export class WeightError extends Error {
  override name = 'WeightError';
}

/** What a source says about one tensor before reading it. */
export interface EntryInfo {
  /** The stored dtype ('F32', 'F16', 'BF16', 'I64', …, as safetensors names them). */
  dtype: string;
  shape: readonly number[];
}

/** Where weights come from: a safetensors file, a stream, a checkpoint, or the synthetic rule. */
export interface WeightProvider {
  /** Every tensor the source holds, with its dtype and shape. */
  readonly entries: ReadonlyMap<string, EntryInfo>;
  /** The tensor's values as float32 (F16 / BF16 converted). */
  read(key: string): Promise<Float32Array>;
  /**
   * Sequential sources only (a download, a file stream): every tensor once, in the source's own
   * order. When present, the loader consumes this instead of calling read().
   */
  tensors?(): AsyncIterable<PushedTensor>;
  /** Total bytes of the source, when known (for progress). */
  readonly size?: number;
}

/** One tensor of a sequential source. */
export interface PushedTensor {
  key: string;
  /** Its values as float32; called at most once. */
  values(): Float32Array;
  /** Source bytes consumed up to the end of this tensor. */
  bytesRead?: number;
}

/**
 * The source as one pushed sequence: its own tensors() when it has one, else the keys of `order`
 * read one at a time (so a random-access source holds one tensor in memory at a time).
 */
export function pushedTensors(src: WeightProvider, order: readonly string[]): AsyncIterable<PushedTensor> {
  if (src.tensors) return src.tensors();
  return (async function* () {
    for (const key of order) {
      const v = await src.read(key);
      yield { key, values: () => v };
    }
  })();
}
