// A PyTorch checkpoint (torch.save) opened for reading its model state_dict without Python and
// without executing anything: the container (zip, or the legacy format) gives the pickle and the
// storages, the restricted unpickler turns the pickle into data, and the state_dict is found in
// the layouts checkpoints come in:
//   - a bare state_dict: torch.save(model.state_dict(), f)
//   - {'model': state_dict, 'optimizer': …, 'epoch': …} (upstream SAM-UNet), {'state_dict': …},
//     {'model_state_dict': …}; the other entries are unpickled (nothing executed) and never read
//   - DataParallel / DistributedDataParallel's 'module.' prefix on every key, stripped.
// Only the state_dict's storages are located and checked; a tensor's bytes are read when asked
// for, one tensor at a time, straight from the file or Blob (a view of a shared storage reads
// only its own slice).

import { decodeF32, type ByteSource, type TensorData, type TensorInfo } from '../safetensors/read.js';
import { DTYPE_SIZES, type Dtype } from '../safetensors/format.js';
import { PthError, quoted } from './errors.js';
import { PyDict, StorageRef, TensorRef, typeName } from './globals.js';
import { openLegacy, sniffLegacy } from './legacy.js';
import { readExact, type ZipOptions } from './zip.js';
import { openZip } from './zip_container.js';

export interface PthOptions extends ZipOptions {
  /**
   * The checkpoint entry that holds the state_dict. Default: 'model', 'state_dict' or
   * 'model_state_dict' when the checkpoint is a dict holding one of them, else the dict itself.
   */
  stateDictKey?: string;
  /** Largest pickle accepted, in bytes (default 64 MiB; a res50 checkpoint's is ~0.3 MB). */
  maxPickleBytes?: number;
  /**
   * Most memory the unpickled objects may take, as estimated while unpickling (default: the file's
   * size, at least 1 MiB and at most 1 GiB; a state_dict's objects take a fraction of its file).
   */
  maxPickleMemory?: number;
}

/** One tensor of the state_dict: where its bytes lie (`begin`: absolute file offset). */
export interface PthTensorInfo extends TensorInfo {
  /** Key of the storage that holds it (archive entry `data/<storage>`). */
  readonly storage: string;
  /** Byte offset of the tensor inside its storage (non-zero for a view). */
  readonly storageOffset: number;
}

/** The keys under which checkpoints nest their state_dict, in the order they are looked for. */
export const STATE_DICT_KEYS = ['model', 'state_dict', 'model_state_dict'] as const;

export const DEFAULT_MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/** What a container gives: the unpickled root and its storages' bytes. */
export interface Container {
  readonly format: 'zip' | 'legacy';
  readonly root: unknown;
  /** Absolute file offset of the storage's first byte, after checking its size against the pickle. */
  locate(s: StorageRef): Promise<number>;
  /** `length` bytes at byte `offset` of the storage (a whole zip entry is CRC-checked). */
  read(s: StorageRef, offset: number, length: number): Promise<Uint8Array>;
}

/** Limits both containers pass to the unpickler. */
export interface PickleLimits {
  maxPickleBytes: number;
  maxPickleMemory: number;
}

/** A checkpoint's model state_dict, read on demand. */
export class PthCheckpoint {
  private constructor(
    /** The container's storages (the unpickled root is not kept: the optimizer state is dropped). */
    private readonly container: Omit<Container, 'root'>,
    /** The state_dict's tensors by key (prefix stripped), in the checkpoint's order. */
    readonly tensors: ReadonlyMap<string, PthTensorInfo>,
    private readonly refs: ReadonlyMap<string, TensorRef>,
    /** Where the state_dict was found: [] for a bare one, ['model'] for {'model': …}. */
    readonly stateDictPath: readonly string[],
    /** The prefix removed from every key ('module.'), or ''. */
    readonly strippedPrefix: string,
    /** The checkpoint's other top-level keys, not read ('optimizer', 'epoch', …). */
    readonly otherKeys: readonly string[],
  ) {}

  /** 'zip' (torch.save since PyTorch 1.6) or 'legacy'. */
  get format(): 'zip' | 'legacy' {
    return this.container.format;
  }

  /**
   * Reads the container's directory and the pickle, finds the state_dict and checks every one of
   * its tensors and storages (dtype, contiguity, bounds, sizes). No tensor data is read.
   */
  static async open(src: ByteSource, opts: PthOptions = {}): Promise<PthCheckpoint> {
    const limits: PickleLimits = {
      maxPickleBytes: opts.maxPickleBytes ?? DEFAULT_MAX_PICKLE_BYTES,
      maxPickleMemory: opts.maxPickleMemory ?? Math.min(2 ** 30, Math.max(2 ** 20, src.size)),
    };
    const head = await readExact(src, 0, Math.min(src.size, 512), 'the first bytes of the file');
    const container = isZip(head) ? await openZip(src, opts, limits) : sniffLegacy(head) ? await openLegacy(src, limits) : notACheckpoint(head);
    const { dict, path } = findStateDict(container.root, opts.stateDictKey);
    const keys = [...dict.items.keys()];
    const prefix = keys.length > 0 && keys.every((k) => typeof k === 'string' && k.startsWith('module.')) ? 'module.' : '';
    const tensors = new Map<string, PthTensorInfo>();
    const refs = new Map<string, TensorRef>();
    const starts = new Map<StorageRef, number>();
    for (const [k, v] of dict.items) {
      if (typeof k !== 'string') throw new PthError(`the state_dict has a ${typeName(k)} key; its keys must be str`);
      const name = k.slice(prefix.length);
      if (!(v instanceof TensorRef)) throw new PthError(`state_dict entry ${quoted(k)} is a ${typeName(v)}, not a tensor`);
      if (!v.contiguous) {
        throw new PthError(`tensor ${quoted(k)} is a non-contiguous view (size [${v.shape}], stride [${v.stride}]): save it with .contiguous()`);
      }
      let start = starts.get(v.storage);
      if (start === undefined) starts.set(v.storage, (start = await container.locate(v.storage)));
      const size = DTYPE_SIZES[v.storage.dtype];
      const storageOffset = v.offset * size;
      tensors.set(name, { name, dtype: v.storage.dtype, shape: v.shape, begin: start + storageOffset, byteLength: v.numel * size, storage: v.storage.key, storageOffset });
      refs.set(name, v);
    }
    const { root, ...storages } = container;
    const otherKeys = root instanceof PyDict && path.length ? [...root.items.keys()].filter((k) => k !== path[0]).map(String) : [];
    return new PthCheckpoint(storages, tensors, refs, path, prefix, otherKeys);
  }

  /** The tensor's place and shape; an unknown name is a PthError naming it. */
  info(name: string): PthTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new PthError(`no tensor named ${quoted(name)} in the checkpoint's state_dict`);
    return t;
  }

  /** The tensor's raw little-endian bytes (F16 / BF16 as their bit patterns). */
  async read(name: string): Promise<TensorData> {
    const info = this.info(name);
    const ref = this.refs.get(name)!;
    return { info, data: await this.container.read(ref.storage, info.storageOffset, info.byteLength) };
  }

  /** The tensor as float32 values (F16 and BF16 converted exactly); other dtypes are a PthError. */
  async readF32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    if (!FLOATS.has(info.dtype)) throw new PthError(`tensor ${quoted(name)} has dtype ${info.dtype}; readF32 converts only F32, F16 and BF16`);
    return decodeF32(await this.read(name));
  }
}

const FLOATS = new Set<Dtype>(['F32', 'F16', 'BF16']);

/** Whether a file starting with `head` (8 bytes suffice) is a PyTorch checkpoint: a zip archive or the legacy pickle format. */
export const looksLikePth = (head: Uint8Array): boolean => isZip(head) || sniffLegacy(head);

const isZip = (h: Uint8Array) => h.length >= 4 && h[0] === 0x50 && h[1] === 0x4b && (h[2] === 3 || h[2] === 5) && (h[3] === 4 || h[3] === 6);

/** Says what the file is when it is no checkpoint this reader knows. */
function notACheckpoint(h: Uint8Array): never {
  if (h.length >= 262 && new TextDecoder().decode(h.subarray(257, 262)) === 'ustar') {
    throw new PthError('this is a tar file: the checkpoint format of PyTorch < 0.4, not read here; load it in Python and re-save it with torch.save');
  }
  if (h.length >= 9 && h[8] === 0x7b && h[5] === 0 && h[6] === 0 && h[7] === 0) {
    throw new PthError('this is a safetensors file, not a PyTorch checkpoint: open it as safetensors');
  }
  throw new PthError('not a PyTorch checkpoint: neither a zip archive (torch.save since PyTorch 1.6) nor the legacy pickle format');
}

/** The state_dict: `key`'s value, else the first of STATE_DICT_KEYS that holds tensors, else the root. */
function findStateDict(root: unknown, key: string | undefined): { dict: PyDict; path: string[] } {
  if (!(root instanceof PyDict)) throw new PthError(`the checkpoint holds a ${typeName(root)}, not a state_dict (a dict of tensors)`);
  const holdsTensors = (d: unknown): boolean => d instanceof PyDict && [...d.items.values()].some((v) => v instanceof TensorRef);
  if (key !== undefined) {
    const v = root.items.get(key);
    if (!(v instanceof PyDict)) throw new PthError(`the checkpoint's entry ${quoted(key)} is ${v === undefined ? 'missing' : `a ${typeName(v)}`}, not a state_dict`);
    return { dict: v, path: [key] };
  }
  for (const k of STATE_DICT_KEYS) {
    const v = root.items.get(k);
    if (holdsTensors(v)) return { dict: v as PyDict, path: [k] };
  }
  if (holdsTensors(root)) return { dict: root, path: [] };
  const keys = [...root.items.keys()].slice(0, 12).map((k) => (typeof k === 'string' ? JSON.stringify(k.slice(0, 60)) : typeName(k)));
  throw new PthError(
    `no state_dict in the checkpoint: it is a dict with keys ${keys.join(', ') || '(none)'}${root.items.size > 12 ? ', …' : ''}, ` +
      `holding no tensors, and none of ${STATE_DICT_KEYS.join(', ')} holds tensors (name the entry with stateDictKey)`,
  );
}
