// The page of test/runtimes/idb-cache.test.ts: the IndexedDB embedding cache, bundled as an app would.
import { EMBEDDING_LENGTHS } from '../../../src/model/sam_unet.js';
import { IdbEmbeddingCache } from '../../../src/volume/idb-cache.js';

declare global {
  interface Window {
    idbTest: { IdbEmbeddingCache: typeof IdbEmbeddingCache; EMBEDDING_LENGTHS: typeof EMBEDDING_LENGTHS; ready: boolean };
  }
}
window.idbTest = { IdbEmbeddingCache, EMBEDDING_LENGTHS, ready: true };
