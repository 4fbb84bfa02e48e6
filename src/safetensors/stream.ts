// Sequential safetensors parsing of a ReadableStream (e.g. a fetch body): the header first, then
// each tensor in data-offset order. Buffering is bounded: one tensor being assembled plus the
// chunk being consumed; gaps between tensors are skipped without being kept.

import { SafetensorsError, type TensorInfo } from './format.js';
import { DEFAULT_MAX_HEADER_BYTES, byOffset, headerLengthOf, parseHeader, type HeaderLimits, type SafetensorsHeader } from './header.js';

export interface StreamOptions extends HeaderLimits {
  /** Total length when known (a Content-Length): then offsets past it are rejected up front. */
  size?: number;
  /** Called once the header is parsed, before the first tensor. */
  onHeader?: (header: SafetensorsHeader) => void;
  /** Called after every chunk with the bytes received so far and `size` if given. */
  onProgress?: (bytesReceived: number, size: number | undefined) => void;
}

/** One tensor of the stream. `data` is its own buffer (byteOffset 0), aligned for typed views. */
export interface StreamTensor {
  readonly info: TensorInfo;
  readonly data: Uint8Array;
  readonly header: SafetensorsHeader;
  /** Position in data-offset order. */
  readonly index: number;
  /** Stream bytes consumed up to the end of this tensor. */
  readonly bytesRead: number;
}

/** First allocation for a tensor; a header cannot make us allocate much more than arrived. */
const INITIAL_CAPACITY = 16 * 1024 * 1024;

/** Pulls exact byte counts out of a chunked stream. */
class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private at = 0;
  /** Bytes consumed. */
  position = 0;
  /** Bytes received. */
  received = 0;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly onChunk: (received: number) => void,
  ) {}

  /** Makes bytes available; false at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.at === this.chunk.byteLength) {
      const { done, value } = await this.reader.read();
      if (done) return false;
      this.chunk = value;
      this.at = 0;
      this.received += value.byteLength;
      this.onChunk(this.received);
    }
    return true;
  }

  /** Exactly n bytes in a fresh buffer; `what` names them when the stream ends first. */
  async take(n: number, what: () => string): Promise<Uint8Array> {
    let out = new Uint8Array(Math.min(n, INITIAL_CAPACITY));
    let filled = 0;
    while (filled < n) {
      if (!(await this.fill())) throw this.truncated(what());
      if (filled === out.byteLength) {
        const grown = new Uint8Array(Math.min(n, 2 * out.byteLength));
        grown.set(out);
        out = grown;
      }
      const k = Math.min(n - filled, this.chunk.byteLength - this.at, out.byteLength - filled);
      out.set(this.chunk.subarray(this.at, this.at + k), filled);
      this.at += k;
      filled += k;
      this.position += k;
    }
    return out;
  }

  /** Discards n bytes. */
  async skip(n: number, what: () => string): Promise<void> {
    while (n > 0) {
      if (!(await this.fill())) throw this.truncated(what());
      const k = Math.min(n, this.chunk.byteLength - this.at);
      this.at += k;
      n -= k;
      this.position += k;
    }
  }

  private truncated(what: string): SafetensorsError {
    return new SafetensorsError(`truncated: the stream ended after ${this.position} bytes, inside ${what}`);
  }
}

/**
 * Parses a safetensors stream, yielding each tensor in data-offset order (the header comes with
 * every item and through `onHeader`). The stream is cancelled once the last tensor is out, on an
 * error, or when the caller breaks out of the loop.
 */
export async function* readSafetensorsStream(
  stream: ReadableStream<Uint8Array>,
  opts: StreamOptions = {},
): AsyncGenerator<StreamTensor, void, undefined> {
  const reader = stream.getReader();
  const src = new ChunkReader(reader, (received) => opts.onProgress?.(received, opts.size));
  try {
    const prefix = await src.take(8, () => 'the 8-byte header length (shorter than 8 bytes)');
    const n = headerLengthOf(prefix, opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
    if (opts.size !== undefined && n > opts.size - 8) {
      throw new SafetensorsError(`header length ${n} runs past the end of the file (${opts.size} bytes)`);
    }
    const headerBytes = await src.take(n, () => `the ${n}-byte header`);
    const header = parseHeader(headerBytes, opts.size === undefined ? undefined : opts.size - 8 - n, opts.maxTensors);
    opts.onHeader?.(header);
    const ordered = byOffset(header.tensors);
    for (let index = 0; index < ordered.length; index++) {
      const info = ordered[index]!;
      const what = () => `tensor "${info.name}" (bytes [${info.begin}, ${info.begin + info.byteLength}))`;
      let data: Uint8Array;
      if (info.byteLength === 0) {
        data = new Uint8Array(0);
      } else {
        await src.skip(info.begin - src.position, what);
        data = await src.take(info.byteLength, what);
      }
      yield { info, data, header, index, bytesRead: src.position };
    }
  } finally {
    // Also after the last tensor: bytes past it (a gap at the end) are not needed.
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
