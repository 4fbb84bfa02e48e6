// The legacy checkpoint format (PyTorch < 1.6, or torch.save(…, _use_new_zipfile_serialization=False)):
// five pickles back to back (the magic number 0x1950a86a20f9469cfc6c, the protocol version 1001,
// sys_info, the object, the sorted list of storage keys), then every storage in that order as an
// 8-byte little-endian element count followed by its elements.
// ref: torch/serialization.py, _legacy_save and _legacy_load.

import type { ByteSource } from '../safetensors/read.js';
import type { Container, PickleLimits } from './checkpoint.js';
import { PthError } from './errors.js';
import { PyDict, resolveGlobal, StorageRef, typeName } from './globals.js';
import { TruncatedPickleError, unpickle } from './pickle.js';
import { storageBytes, storageLoader } from './storages.js';
import { readExact } from './zip.js';

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;
/** The pickles are read in a window that grows from this size (a state_dict's pickles fit in it). */
const FIRST_WINDOW = 1 << 20;

/** Whether the file starts like a pickle (the legacy format's first byte is PROTO). */
export const sniffLegacy = (h: Uint8Array): boolean => h.length >= 2 && h[0] === 0x80 && h[1]! <= 5;

/** Reads the legacy pickles (in a window that grows while they run past it) and locates every storage. */
export async function openLegacy(src: ByteSource, limits: PickleLimits): Promise<Container> {
  const most = Math.min(src.size, limits.maxPickleBytes);
  for (let window = Math.min(most, FIRST_WINDOW); ; window = Math.min(most, window * 4)) {
    const bytes = await readExact(src, 0, window, 'the legacy checkpoint pickles');
    try {
      return await parse(src, bytes, limits);
    } catch (e) {
      if (!(e instanceof TruncatedPickleError) || window === src.size) throw e;
      if (window === most) throw new PthError(`the legacy checkpoint's pickles run past ${most} bytes, the cap (maxPickleBytes)`);
    }
  }
}

async function parse(src: ByteSource, b: Uint8Array, limits: PickleLimits): Promise<Container> {
  const storages = new Map<string, StorageRef>();
  const noPid = () => {
    throw new PthError('a persistent id outside the legacy format\'s object pickle');
  };
  let at = 0;
  const next = (persistentLoad: (pid: unknown) => unknown = noPid) => {
    const r = unpickle(b, at, { findGlobal: resolveGlobal, persistentLoad, maxMemory: limits.maxPickleMemory });
    at = r.end;
    return r.value;
  };
  if (next() !== MAGIC) throw new PthError('a pickle without the legacy checkpoint magic number: not a PyTorch checkpoint');
  const version = next();
  if (version !== PROTOCOL_VERSION) throw new PthError(`legacy checkpoint protocol version ${String(version)}, expected ${PROTOCOL_VERSION}`);
  const sysInfo = next();
  if (!(sysInfo instanceof PyDict)) throw new PthError(`the legacy checkpoint's sys_info is a ${typeName(sysInfo)}, not a dict`);
  if (sysInfo.items.get('little_endian') !== true) {
    throw new PthError('the checkpoint was saved on a big-endian machine: not supported; load and re-save it on a little-endian one');
  }
  const root = next(storageLoader(storages, true));
  const keys = next();
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new PthError(`the legacy checkpoint's storage key list is a ${typeName(keys)}`);
  // The storages follow in the order of the list: an element count, then the elements.
  const starts = new Map<string, number>();
  let pos = at;
  for (const key of keys as string[]) {
    const s = storages.get(key);
    if (!s) throw new PthError(`storage "${key.slice(0, 64)}" is listed but no tensor names it, so its element size is unknown`);
    if (starts.has(key)) throw new PthError(`storage "${key}" is listed twice`);
    if (pos + 8 > src.size) throw new PthError(`storage "${key}" runs past the end of the file (${src.size} bytes)`);
    const head = await readExact(src, pos, 8, `the element count of storage "${key}"`);
    const dv = new DataView(head.buffer, head.byteOffset, 8);
    const count = dv.getUint32(4, true) * 2 ** 32 + dv.getUint32(0, true);
    if (count !== s.numel) throw new PthError(`storage "${key}" holds ${count} elements in the file, the pickle says ${s.numel}`);
    starts.set(key, pos + 8);
    pos += 8 + storageBytes(s);
    if (pos > src.size) throw new PthError(`storage "${key}" runs past the end of the file (${src.size} bytes)`);
  }
  return container(src, root, starts);
}

/** The storages' accessors, made apart from parse() so that they do not keep the pickles' bytes alive. */
function container(src: ByteSource, root: unknown, starts: ReadonlyMap<string, number>): Container {
  const start = (s: StorageRef) => {
    const p = starts.get(s.key);
    if (p === undefined) throw new PthError(`storage "${s.key}" is not in the legacy checkpoint's storage list`);
    return p;
  };
  return {
    format: 'legacy',
    root,
    locate: async (s) => start(s),
    read: (s, offset, length) => readExact(src, start(s) + offset, length, `storage "${s.key}"`),
  };
}
