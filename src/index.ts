// sam-unet-webgpu: SAM-UNet medical image segmentation on WebGPU, in the browser, Deno and Node.
export {
  requestGpu, checkAdapter, GpuUnavailableError, GpuDeviceLostError, GpuResourceError, REQUIRED_LIMITS,
  type Gpu, type GpuOptions, type AdapterDescription,
} from './gpu/device.js';
export { trackBuffers, type BufferTracker, type BufferCounts } from './gpu/tracking.js';
export { Plan, type BuildStats } from './gpu/plan.js';
export {
  SamUnet, ImageEmbedding, ImageInputError, maxLogitsPixels, MAX_INPUT_SIDE, MAX_ASPECT_RATIO, MAX_DECODE_BATCH, type DecodeResult,
} from './model/sam_unet.js';
export { PromptError, MAX_POINTS, type PromptSet, type Box, type Point } from './model/prompts.js';
export { ModelWeights, WeightError, detectVariant, type Variant, type Precision, type WeightProvider, type PushedTensor, type LoadProgress, type LoadOptions } from './model/weights.js';
export {
  safetensorsWeights, syntheticWeights, streamWeights, blobWeights, loadWeightsFromStream,
  type StreamProgress, type StreamWeightsOptions, type StreamWeightProvider,
} from './model/providers.js';
export {
  fetchWeights, clearWeightCache, cachedWeightUrls, DEFAULT_WEIGHT_CACHE, type FetchWeightsOptions, type FetchedWeights,
} from './browser/index.js';
export { modelKeys } from './model/keys.js';
export { SafetensorsFile, SafetensorsError, bytesSource, blobSource, readSafetensorsStream, type ByteSource, type TensorInfo } from './safetensors/read.js';
export { serializeSafetensors, writeSafetensors } from './safetensors/write.js';
export { syntheticValues, syntheticStateDict } from './weights/synthetic.js';
export { decodeImage, encodePng, ImageDecodeError, type RgbImage } from './image/decode.js';
export { sheppLogan } from './image/phantom.js';
export { overlayMask, drawBox, drawPoints } from './image/overlay.js';
// Volumes: embeddings kept across slices (GPU → CPU → IndexedDB), label maps as NIfTI, DICOM SEG, PNG slices.
export { EMBEDDING_LENGTHS, type EmbeddingData } from './model/sam_unet.js';
export {
  EmbeddingStore, EMBEDDING_BYTES, type EmbeddingStoreOptions, type EmbeddingLease, type EmbeddingStoreStats, type PersistentEmbeddingCache,
} from './volume/embedding-store.js';
export { embeddingKey, safetensorsIdentity, sha256Hex } from './volume/embedding-key.js';
export { IdbEmbeddingCache, DEFAULT_EMBEDDING_DB, type IdbEmbeddingCacheOptions } from './volume/idb-cache.js';
export { LabelMapError, LABEL_COLORS, labelColor, type Labels } from './volume/labels.js';
export { niftiLabelMap, affineToQuatern, type NiftiWriteOptions } from './volume/nifti-write.js';
export { dicomSeg, SEGMENTATION_STORAGE, type DicomSegOptions, type SegmentDescription, type Code } from './volume/dicom-seg.js';
export { DicomWriteError } from './volume/dicom-write.js';
export { labelSlicesPng, type PngSlicesOptions } from './volume/png-slices.js';
