// An encoded image: its two embeddings on the GPU (ImageEmbedding), and their values on the host
// (EmbeddingData: exportEmbedding / importEmbedding, the embedding store's CPU tier).
import type { FrameInfo } from './frame.js';
import type { SamUnet } from './sam_unet.js';

/** Values per image of the encoder's two outputs. */
export const EMBEDDING_LENGTHS = {
  /** image_embeddings [1, 256, 16, 16] */
  embeddings: 256 * 16 * 16,
  /** multi_scale_feature [1, 32, 64, 64] */
  multiScaleFeature: 32 * 64 * 64,
} as const;

/** An ImageEmbedding's values on the host (exportEmbedding / importEmbedding): 768 KiB of float32. */
export interface EmbeddingData {
  frame: FrameInfo;
  /** [1, 256, 16, 16] */
  embeddings: Float32Array;
  /** [1, 32, 64, 64] */
  multiScaleFeature: Float32Array;
}

/** An encoded image: its embeddings on the GPU, ready for any number of decodes. */
export class ImageEmbedding {
  constructor(
    readonly frame: FrameInfo,
    /** [1, 256, 16, 16] */
    readonly embeddings: GPUBuffer,
    /** [1, 32, 64, 64] */
    readonly multiScaleFeature: GPUBuffer,
    readonly owner: SamUnet,
  ) {}

  private alive = true;

  get destroyed(): boolean {
    return !this.alive;
  }

  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    this.embeddings.destroy();
    this.multiScaleFeature.destroy();
    this.owner._forget(this);
  }
}
