// sam-unet-webgpu: SAM-UNet medical image segmentation on WebGPU, in the browser, Deno and Node.
export {
  requestGpu, checkAdapter, GpuUnavailableError, GpuDeviceLostError, GpuResourceError, REQUIRED_LIMITS,
  type Gpu, type GpuOptions, type AdapterDescription,
} from './gpu/device.js';
export { trackBuffers, type BufferTracker, type BufferCounts } from './gpu/tracking.js';
export { Plan, PlanError, type BuildStats, type PlanOptions } from './gpu/plan.js';
export { KERNEL_FAMILIES, type KernelFamily, type KernelPath, type KernelPaths, type KernelTuning } from './gpu/kernels.js';
export {
  SamUnet, ImageEmbedding, ImageInputError, maxLogitsPixels, MAX_INPUT_SIDE, MAX_ASPECT_RATIO, MAX_DECODE_BATCH, type DecodeResult, type SamUnetOptions,
} from './model/sam_unet.js';
export type { WarmupOptions, WarmupStats } from './model/warmup.js';
export { PromptError, MAX_POINTS, type PromptSet, type Box, type Point, type FrameInfo } from './model/prompts.js';
export { ModelWeights, loadWeightsFromStream, type LoadOptions } from './model/weights.js';
export { modelKeys, detectVariant, syntheticWeights, syntheticStateDict, type KeySpec } from './model/keys.js';
export { CONFIGS, type SamUnetConfig, type Variant } from './model/config.js';
export { WeightError, type WeightProvider, type PushedTensor, type EntryInfo } from './weights/source.js';
export { PRECISIONS, type LoadProgress, type Precision } from './weights/load.js';
export {
  safetensorsWeights, streamWeights, blobWeights, type StreamProgress, type StreamWeightsOptions, type StreamWeightProvider,
} from './weights/sources.js';
export {
  fetchWeights, clearWeightCache, cachedWeightUrls, DEFAULT_WEIGHT_CACHE, type FetchWeightsOptions, type FetchedWeights,
} from './browser/index.js';
export { SafetensorsFile, SafetensorsError, bytesSource, blobSource, readSafetensorsStream, type ByteSource, type TensorInfo } from './safetensors/read.js';
export { serializeSafetensors, writeSafetensors } from './safetensors/write.js';
export {
  pthWeights, PthCheckpoint, PthError, UnsafePickleError, looksLikePth, type PthOptions, type PthWeights, type PthTensorInfo,
} from './pth/index.js';
export { syntheticValues } from './weights/synthetic.js';
export { decodeImage, encodePng, ImageDecodeError, type RgbImage } from './image/decode.js';
export { sheppLogan } from './image/phantom.js';
export { overlayMask, drawBox, drawPoints } from './image/overlay.js';
// The model in a Web Worker: the client for the app's thread, the host for a worker (the ready-made
// worker script is `sam-unet-webgpu/worker`).
export {
  SamUnetWorker, WorkerEmbedding, WorkerImage, WorkerScan,
  type SamUnetWorkerOptions, type WorkerCallOptions, type WorkerLoadOptions, type WorkerImageOptions, type WorkerEncodeOptions,
  type WorkerDecodeOptions,
} from './worker/client.js';
export { SamUnetWorkerError, type WorkerWeights, type WorkerImageSource, type WorkerModelInfo, type WorkerDecodeResult, type WorkerScanInfo, type WorkerSegmentation, type Rgba, type Endpoint } from './worker/protocol.js';
export { serveSamUnet, type HostOptions } from './worker/host.js';
// Medical scans: DICOM files and series, NIfTI volumes, slices, values → the model's RGB.
export * from './medical/index.js';
export type { Volume, Affine, VolumeSource } from './volume/types.js';
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
export {
  segmentVolume, maskBox, interiorPoint, PROPAGATION_STRATEGIES, VolumePromptError,
  type VolumePrompt, type PropagationStrategy, type SliceRecord, type SliceProgress, type SliceSegmenter, type SegmentVolumeOptions, type VolumeSegmentation,
} from './volume/propagate.js';
