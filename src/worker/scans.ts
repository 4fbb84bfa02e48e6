// Scans in the worker: DICOM files or series and NIfTI volumes opened there (the readers and codecs
// load in the worker, never on the page), slices made into RGB for the page to draw, slices encoded
// in the background into one EmbeddingStore (persisted in IndexedDB where there is one), prompts
// propagated through the volume with progress and cancellation, corrections, and the label map
// exported as NIfTI or DICOM SEG bytes.
import { dicomImageToRgb, openScan, volumeSliceToRgb, type WindowSpec } from '../medical/index.js';
import type { SamUnet } from '../model/sam_unet.js';
import { dicomSeg } from '../volume/dicom-seg.js';
import { EmbeddingStore } from '../volume/embedding-store.js';
import { IdbEmbeddingCache } from '../volume/idb-cache.js';
import { niftiLabelMap } from '../volume/nifti-write.js';
import { segmentVolume, type SliceProgress, type VolumeSegmentation } from '../volume/propagate.js';
import { sliceSizes, type SliceAxis } from '../volume/slice.js';
import type { Volume } from '../volume/types.js';
import { SamUnetWorkerError, type Args, type HandleId, type Result } from './protocol.js';

interface OpenScan {
  volume: Volume;
  last: VolumeSegmentation | null;
}

/** The slice's RGB under `window` (a copy the page may take). */
function sliceRgb(vol: Volume, axis: SliceAxis, index: number, window: WindowSpec) {
  const s = volumeSliceToRgb(vol, { axis, index, window });
  return { s, rgb: s.image.data };
}

export class ScanHost {
  private readonly scans = new Map<HandleId, OpenScan>();
  private store: EmbeddingStore | null = null;
  private storeModel: SamUnet | null = null;
  private persistent: Promise<IdbEmbeddingCache | undefined> | null = null;

  constructor(private readonly nextId: () => HandleId) {}

  /** Forgets the store of an earlier model (its embeddings went with it). */
  dropModel(): void {
    this.store?.destroy();
    this.store = null;
    this.storeModel = null;
    for (const s of this.scans.values()) s.last = null;
  }

  release(id: HandleId): boolean {
    return this.scans.delete(id);
  }

  clear(): void {
    this.dropModel();
    this.scans.clear();
  }

  private async storeFor(model: SamUnet, weightsId: string): Promise<EmbeddingStore> {
    if (this.store && this.storeModel === model) return this.store;
    this.store?.destroy();
    this.persistent ??= typeof indexedDB === 'undefined' ? Promise.resolve(undefined) : IdbEmbeddingCache.open().catch(() => undefined);
    this.store = new EmbeddingStore(model, { weightsId, persistent: await this.persistent });
    this.storeModel = model;
    return this.store;
  }

  private get(id: HandleId, what: string): OpenScan {
    const s = this.scans.get(id);
    if (!s) throw new SamUnetWorkerError(`${what}: scan ${id} is not open (it was released)`);
    return s;
  }

  async open({ files, series }: Args<'openScan'>): Promise<Result<'openScan'>> {
    if (!Array.isArray(files) || !files.length || !files.every((f) => f instanceof Blob)) throw new TypeError('openScan: files must be a non-empty array of Files or Blobs');
    const scan = await openScan(files, { seriesInstanceUID: series });
    let volume: Volume;
    if (scan.kind === 'volume') volume = scan.volume;
    else {
      // One 2-D image: a volume of one slice on a unit grid (no position to place it by).
      const img = scan.image;
      if (img.channels !== 1) {
        const { image } = dicomImageToRgb(img);
        const data = new Float32Array(image.width * image.height);
        for (let p = 0; p < data.length; p++) data[p] = (image.data[3 * p]! + image.data[3 * p + 1]! + image.data[3 * p + 2]!) / 3;
        img.frames.splice(0, img.frames.length, data);
      }
      const [w, h] = [img.info.columns, img.info.rows];
      const data = new Float32Array(w * h * img.frames.length);
      img.frames.forEach((f, k) => data.set(f, k * w * h));
      volume = {
        dims: [w, h, img.frames.length], data, affine: Float64Array.from([-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), spacing: [1, 1, 1],
        modality: img.info.modality, window: img.info.window, invert: img.invert, source: { kind: 'nifti', version: 1, affineFrom: 'pixdim' },
      };
    }
    const id = this.nextId();
    this.scans.set(id, { volume, last: null });
    const slices = sliceSizes(volume);
    return {
      id, kind: volume.source.kind, dims: [...volume.dims] as [number, number, number], spacing: [...volume.spacing] as [number, number, number], affine: Array.from(volume.affine),
      modality: volume.modality, window: volume.window ?? null, slices, warnings: [...(volume.warnings ?? [])],
    };
  }

  slice({ scan, axis, index, window }: Args<'scanSlice'>): { value: Result<'scanSlice'>; transfer: Transferable[] } {
    const { volume } = this.get(scan, 'scanSlice');
    const { s, rgb } = sliceRgb(volume, axis, index, window);
    return { value: { width: s.geometry.width, height: s.geometry.height, rgb, window: s.map.description }, transfer: [rgb.buffer as ArrayBuffer] };
  }

  /** Encodes slices into the store (the page asks for the ones around the current slice). */
  async prefetch(model: SamUnet, weightsId: string, { scan, axis, window, indices }: Args<'prefetchScan'>, signal: AbortSignal): Promise<Result<'prefetchScan'>> {
    const { volume } = this.get(scan, 'prefetchScan');
    const store = await this.storeFor(model, weightsId);
    let encoded = 0;
    for (const k of indices) {
      signal.throwIfAborted();
      const before = store.stats.encodes;
      const lease = await store.acquireImage(volumeSliceToRgb(volume, { axis, index: k, window }).image);
      lease.release();
      encoded += store.stats.encodes - before;
    }
    return { encoded, cached: indices.length - encoded };
  }

  async segment(model: SamUnet, weightsId: string, a: Args<'segmentScan'>, signal: AbortSignal, progress: (p: SliceProgress) => void) {
    const s = this.get(a.scan, 'segmentScan');
    const store = await this.storeFor(model, weightsId);
    const previous = a.correct && s.last && s.last.axis === a.axis ? s.last : undefined;
    const r = await segmentVolume(model, s.volume, a.prompts, { axis: a.axis, window: a.window, strategy: a.strategy, store, signal, onProgress: progress, previous });
    s.last = r;
    const labels = r.labels.slice();
    const slices = [...r.records.values()].flatMap((m) => [...m.values()].map((x) => ({ label: x.label, slice: x.slice, area: x.mask ? x.area : 0, from: x.from })));
    return { value: { labels, dims: [...s.volume.dims] as [number, number, number], encodes: r.encodes, decodes: r.decodes, slices }, transfer: [labels.buffer as ArrayBuffer] };
  }

  export({ scan, format }: Args<'exportScan'>): { value: Result<'exportScan'>; transfer: Transferable[] } {
    const s = this.get(scan, 'exportScan');
    if (!s.last) throw new SamUnetWorkerError('exportScan: nothing segmented on this scan yet');
    let bytes: Uint8Array;
    if (format === 'nifti') bytes = niftiLabelMap(s.last.labels, s.volume);
    else if (format === 'seg') {
      if (s.volume.source.kind !== 'dicom') throw new SamUnetWorkerError('exportScan: a DICOM SEG references a DICOM series; this scan is not one (export NIfTI)');
      bytes = dicomSeg(s.last.labels, s.volume);
    } else throw new TypeError(`exportScan: format must be 'nifti' or 'seg', got ${JSON.stringify(format)}`);
    return { value: bytes, transfer: [bytes.buffer as ArrayBuffer] };
  }
}
