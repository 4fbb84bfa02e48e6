// The messages between SamUnetWorker (client.ts, on the app's thread) and the worker host (host.ts).
//
// One table, Methods, names every request with its argument, its result and its progress events.
// A call is { type: 'call', id, method, args }; the host answers with any number of
// { type: 'progress', id, progress } and then one { type: 'result', id, value } or
// { type: 'error', id, error }. { type: 'cancel', id } asks the host to stop a call (the handler's
// AbortSignal fires). Large arrays travel as transferables, never copied: results are moved to the
// app; images are moved to the worker when the app asks for it.
//
// Adding a request: one entry in Methods, one handler in host.ts, one method in client.ts.
import {
  GpuDeviceLostError, GpuResourceError, GpuUnavailableError, ImageDecodeError, ImageInputError, PlanError, PromptError, SafetensorsError, WeightError,
} from '../index.js';
import { PthError, UnsafePickleError } from '../pth/errors.js';
import { DicomError, NiftiError, ScanError, SeriesError, type ScanFailure, type SeriesProblem } from '../medical/errors.js';
import type { PropagationStrategy, SliceAxis, SliceProgress, VolumePrompt, WindowSpec } from '../index.js';
import type { AdapterDescription, DecodeResult, ImageEmbedding, LoadProgress, Precision, PromptSet, RgbImage, Variant } from '../index.js';

/** Where the worker gets the weights: computed there, fetched there, or streamed from a File/Blob (safetensors, or a PyTorch .pth checkpoint told by its first bytes). */
export type WorkerWeights =
  | { kind: 'synthetic'; variant: Variant }
  /** Fetched by the worker (streamed, kept in the Cache API: see fetchWeights). */
  | { kind: 'url'; url: string; cacheName?: string | null }
  /** A File or Blob: structured-cloned, so its bytes are not copied; the worker streams them. */
  | { kind: 'blob'; blob: Blob };

export interface WorkerModelInfo {
  variant: Variant;
  precision: Precision;
  /** GPU bytes and buffers the weights took. */
  bytes: number;
  bufferCount: number;
  /** Keys in the file the model does not use. */
  unexpected: string[];
  /** URL weights: whether they came from the Cache API, and whether this download was cached. */
  fromCache?: boolean;
  cached?: boolean;
  /** Why this download was not cached. */
  cacheError?: string;
}

export type ImageFrame = ImageEmbedding['frame'];

/**
 * An image for the worker: a PNG/JPEG File or Blob (decoded there), an RGB image, or the
 * Shepp–Logan phantom of that many pixels a side (made there: a test input).
 */
export type WorkerImageSource = Blob | RgbImage | { phantom: number };

/** An RGBA colour, 0–255 per channel. */
export type Rgba = readonly [number, number, number, number];

export interface WorkerDecodeResult extends DecodeResult {
  /** Per set: pixels inside the mask. */
  areas: number[];
  /** Per set, when decode was asked for an overlay: the mask in that colour, transparent elsewhere. */
  overlays: ImageBitmap[] | null;
}

/** A scan opened in the worker (openScan). */
export interface WorkerScanInfo {
  id: HandleId;
  /** 'dicom' (a series or a multi-frame file) or 'nifti' (also a 2-D DICOM image, shown as one slice). */
  kind: 'dicom' | 'nifti';
  dims: [number, number, number];
  spacing: [number, number, number];
  /** Voxel to world (RAS+ mm), 4×4 row-major. */
  affine: number[];
  modality: string;
  window: { center: number; width: number } | null;
  /** Per axis: the number of slices and their size in display pixels. */
  slices: Record<SliceAxis, { count: number; width: number; height: number }>;
  warnings: string[];
}

export interface WorkerSegmentation {
  /** The label per voxel on the scan's grid (i fastest). */
  labels: Uint8Array | Uint16Array;
  dims: [number, number, number];
  encodes: number;
  decodes: number;
  /** Per label and decoded slice: its mask's area (0 where it vanished) and its key slice. */
  slices: { label: number; slice: number; area: number; from: number }[];
}

/** A handle's id as it travels to the worker. */
export type HandleId = number;

export interface Methods {
  init: { args: { powerPreference?: GPUPowerPreference; f16?: boolean; timestamps?: boolean }; result: AdapterDescription };
  load: { args: { weights: WorkerWeights; precision?: Precision; variant?: Variant; warmup?: boolean }; result: WorkerModelInfo; progress: LoadProgress };
  openImage: { args: { image: WorkerImageSource; bitmap: boolean }; result: { id: HandleId; width: number; height: number; bitmap: ImageBitmap | null } };
  encode: { args: { image: HandleId | WorkerImageSource }; result: { id: HandleId; frame: ImageFrame } };
  decode: { args: { embedding: HandleId; prompts: PromptSet | readonly PromptSet[]; overlay?: Rgba }; result: WorkerDecodeResult };
  openScan: { args: { files: Blob[]; series?: string }; result: WorkerScanInfo };
  scanSlice: { args: { scan: HandleId; axis: SliceAxis; index: number; window: WindowSpec }; result: { width: number; height: number; rgb: Uint8Array; window: string } };
  prefetchScan: { args: { scan: HandleId; axis: SliceAxis; window: WindowSpec; indices: number[] }; result: { encoded: number; cached: number } };
  segmentScan: {
    args: { scan: HandleId; prompts: VolumePrompt[]; axis: SliceAxis; window: WindowSpec; strategy?: PropagationStrategy; correct?: boolean };
    result: WorkerSegmentation;
    progress: SliceProgress;
  };
  exportScan: { args: { scan: HandleId; format: 'nifti' | 'seg' }; result: Uint8Array };
  release: { args: { id: HandleId }; result: void };
  dispose: { args: Record<string, never>; result: void };
}

export type Method = keyof Methods;
export type Args<M extends Method> = Methods[M]['args'];
export type Result<M extends Method> = Methods[M]['result'];
export type Progress<M extends Method> = Methods[M] extends { progress: infer P } ? P : never;

export type ToWorker = { type: 'call'; id: number; method: Method; args: unknown } | { type: 'cancel'; id: number };
export type FromWorker =
  | { type: 'progress'; id: number; progress: unknown }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: WireError };

/** What the two sides of a worker call need of each other: a Worker, its global scope, a MessagePort. */
export interface Endpoint {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message' | 'messageerror', listener: (e: MessageEvent) => void): void;
  /** A MessagePort delivers nothing until started. */
  start?(): void;
}

/** The worker could not start, died, was destroyed, or was asked something it cannot do. */
export class SamUnetWorkerError extends Error {
  override name = 'SamUnetWorkerError';
}

/** An error as it crosses to the other thread: the class by name, and what the class carries. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** ImageDecodeError.reason, GpuDeviceLostError.reason, ScanError.reason */
  reason?: string;
  /** SeriesError.problem */
  problem?: string;
}

export function toWire(e: unknown): WireError {
  if (e instanceof Error || e instanceof DOMException) {
    const { reason, problem } = e as { reason?: unknown; problem?: unknown };
    return {
      name: e.name, message: e.message, stack: e.stack,
      reason: typeof reason === 'string' ? reason : undefined, problem: typeof problem === 'string' ? problem : undefined,
    };
  }
  return { name: 'Error', message: String(e) };
}

type Revive = (w: WireError) => Error;
let revivers: Record<string, Revive> | null = null;

/** The library's error classes and the standard ones, by their `name` (kept through minification). */
function reviverTable(): Record<string, Revive> {
  const plain = (C: new (message: string) => Error): Revive => (w) => new C(w.message);
  return (revivers ??= {
    PromptError: plain(PromptError),
    ImageInputError: plain(ImageInputError),
    WeightError: plain(WeightError),
    SafetensorsError: plain(SafetensorsError),
    PthError: plain(PthError),
    ScanError: (w) => new ScanError((w.reason ?? 'corrupt') as ScanFailure, w.message),
    DicomError: (w) => new DicomError((w.reason ?? 'corrupt') as ScanFailure, w.message),
    NiftiError: (w) => new NiftiError((w.reason ?? 'corrupt') as ScanFailure, w.message),
    SeriesError: (w) => new SeriesError((w.problem ?? 'no-images') as SeriesProblem, w.message),
    UnsafePickleError: plain(UnsafePickleError),
    GpuUnavailableError: plain(GpuUnavailableError),
    GpuResourceError: plain(GpuResourceError),
    PlanError: plain(PlanError),
    SamUnetWorkerError: plain(SamUnetWorkerError),
    ImageDecodeError: (w) => new ImageDecodeError((w.reason ?? 'corrupt') as ImageDecodeError['reason'], w.message),
    GpuDeviceLostError: (w) => new GpuDeviceLostError(w.message, w.reason),
    AbortError: (w) => new DOMException(w.message, 'AbortError'),
    TypeError: plain(TypeError),
    RangeError: plain(RangeError),
    Error: plain(Error),
  });
}

/**
 * The error on this side of the worker: the same class (so `instanceof PromptError` works), message
 * and extra fields, with the worker's stack (where it was thrown). An unknown class comes back as an
 * Error of that name.
 */
export function fromWire(w: WireError): Error {
  const revive = reviverTable()[w.name];
  const e = revive ? revive(w) : Object.assign(new Error(w.message), { name: w.name });
  try {
    if (w.stack) e.stack = w.stack;
  } catch {
    /* a read-only stack (some engines' DOMException): keep this side's */
  }
  return e;
}
