// A ByteSource over a file on disk through a Node FileHandle (also works in Deno's Node layer).
// Kept apart from read.ts so that browser bundles never import node:fs.

import { open } from 'node:fs/promises';
import type { ByteSource } from './read.js';

export interface FileSource extends ByteSource {
  close(): Promise<void>;
}

/** Opens `path` for reading; each read fetches only the bytes asked for. Call close() when done. */
export async function fileSource(path: string): Promise<FileSource> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    return {
      size,
      async read(offset, length) {
        const out = new Uint8Array(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await fh.read(out, filled, length - filled, offset + filled);
          if (bytesRead === 0) return out.subarray(0, filled); // end of file: the caller reports it
          filled += bytesRead;
        }
        return out;
      },
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}
