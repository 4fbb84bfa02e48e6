// Storages: what a persistent id in a checkpoint's pickle names, and where its bytes lie in the
// file. torch.save (zip format) writes ('storage', storage_type, key, location, numel) and the
// bytes as the archive entry `<archive>/data/<key>`; the legacy format (PyTorch < 1.6, or
// _use_new_zipfile_serialization=False) adds a sixth element, view_metadata, and writes the
// storages after the pickles, each as an 8-byte element count and the elements.
// ref: torch/serialization.py, _save / _legacy_save (persistent_id) and _load / _legacy_load.

import { DTYPE_SIZES } from '../safetensors/format.js';
import { PthError } from './errors.js';
import { isTuple, PyGlobal, StorageRef, typeName } from './globals.js';

/** Storage keys are short decimal numbers; a longer one is hostile. */
const MAX_KEY = 64;

/**
 * The persistent_load of a checkpoint: checks a persistent id and returns its storage, the same
 * StorageRef for every id with the same key (several tensors may view one storage). An id that
 * names a known key with another type or size is an error.
 */
export function storageLoader(storages: Map<string, StorageRef>, legacy: boolean): (pid: unknown) => StorageRef {
  const arity = legacy ? 6 : 5;
  return (pid) => {
    if (!isTuple(pid) || pid.length !== arity || pid[0] !== 'storage') {
      throw new PthError(
        `a persistent id is a ${typeName(pid)}${isTuple(pid) ? ` of ${pid.length}` : ''}, not ('storage', type, key, location, numel${legacy ? ', view' : ''})`,
      );
    }
    const [, type, key, location, numel, view] = pid;
    if (!(type instanceof PyGlobal) || !type.rules.storage) throw new PthError(`a persistent id names ${typeName(type)} as its storage type`);
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY) throw new PthError(`a persistent id's storage key is not a short string`);
    if (typeof location !== 'string') throw new PthError(`storage "${key}": location is a ${typeName(location)}, not a str`);
    if (!Number.isSafeInteger(numel) || (numel as number) < 0) throw new PthError(`storage "${key}": element count ${String(numel)} is not an integer ≥ 0`);
    if (legacy && view !== null) throw new PthError(`storage "${key}" is a storage view (legacy format of PyTorch < 0.4): re-save the checkpoint with a current torch.save`);
    const dtype = type.rules.storage;
    if (!Number.isSafeInteger((numel as number) * DTYPE_SIZES[dtype])) throw new PthError(`storage "${key}": ${String(numel)} elements is too large`);
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== dtype || known.numel !== numel) {
        throw new PthError(`storage "${key}" is named as ${known.numel} × ${known.dtype} and as ${String(numel)} × ${dtype}`);
      }
      return known;
    }
    const s = new StorageRef(key, dtype, numel as number, location);
    storages.set(key, s);
    return s;
  };
}

/** Bytes of a storage: numel × the element size of its type. */
export const storageBytes = (s: StorageRef): number => s.numel * DTYPE_SIZES[s.dtype];
