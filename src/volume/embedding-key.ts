// Keys for cached embeddings: SHA-256 (crypto.subtle: browsers, Deno, Node ≥ 20) over what the
// encoder's output depends on: the weights, the precision they run in, and the prepared input with
// its frame. Two slices with the same pixels share a key; a different checkpoint never does.
import type { FrameInfo } from '../model/prompts.js';
import type { SafetensorsFile } from '../safetensors/read.js';
import { concatBytes } from '../util/bytes.js';

const utf8 = new TextEncoder();

/** Lowercase hex SHA-256 of the parts, concatenated (strings as UTF-8). */
export async function sha256Hex(...parts: (Uint8Array | string)[]): Promise<string> {
  const all = concatBytes(parts.map((p) => (typeof p === 'string' ? utf8.encode(p) : p)));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The key of the embedding of a prepared input (SamUnet.prepare's `input` and `frame`) under the
 * model `modelId` (EmbeddingStore gives weightsId|variant|precision).
 */
export function embeddingKey(modelId: string, input: Float32Array, frame: FrameInfo): Promise<string> {
  const f = new Uint8Array(new Uint32Array([frame.width, frame.height, frame.inputW, frame.inputH]).buffer);
  const view = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  // The separator keeps 'a' + 'bc' apart from 'ab' + 'c'; the frame and input have fixed sizes.
  return sha256Hex(modelId, '\u0000', f, view);
}

/** Bytes read from each tensor at its start, middle and end by safetensorsIdentity. */
const SAMPLE = 256;

/**
 * An identity for the weights in a safetensors file, for embedding keys: SHA-256 of the file's
 * size, its header (names, dtypes, shapes, offsets, metadata) and SAMPLE bytes at the start, the
 * middle and the end of every tensor: two checkpoints of one architecture (same header) differ in
 * those bytes. It reads about 0.3 MB of a 500 MB file. A fingerprint, not a hash of every byte:
 * where weights may differ only elsewhere, give the store an id of your own (a release name).
 */
export async function safetensorsIdentity(file: SafetensorsFile): Promise<string> {
  const header = JSON.stringify({
    size: file.source.size,
    metadata: file.metadata,
    tensors: file.header.tensors.map((t) => [t.name, t.dtype, t.shape, t.begin, t.byteLength]),
  });
  const parts: (Uint8Array | string)[] = ['safetensors\u0000', header];
  for (const t of file.header.tensors) {
    const n = Math.min(SAMPLE, t.byteLength);
    for (const at of new Set([0, Math.floor((t.byteLength - n) / 2), t.byteLength - n])) {
      if (n > 0) parts.push(await file.source.read(t.begin + at, n));
    }
  }
  return `sha256:${await sha256Hex(...parts)}`;
}
