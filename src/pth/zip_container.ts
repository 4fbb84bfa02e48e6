// The zip format of torch.save (PyTorch ≥ 1.6): `<archive>/data.pkl` (the pickle), one entry
// `<archive>/data/<key>` per storage, `<archive>/version`, and since PyTorch 2.1
// `<archive>/byteorder` ("little"). Every record lies under one top-level folder, whose name
// torch takes from the file name ("archive" for a buffer).
// ref: caffe2/serialize/inline_container.cc (PyTorchStreamReader), torch/serialization.py (_load).

import type { ByteSource } from '../safetensors/read.js';
import type { Container, PickleLimits } from './checkpoint.js';
import { PthError, quoted } from './errors.js';
import { resolveGlobal, StorageRef } from './globals.js';
import { unpickle } from './pickle.js';
import { storageBytes, storageLoader } from './storages.js';
import { assertStored, ZipArchive, type ZipEntry, type ZipOptions } from './zip.js';

/** Opens the archive, checks its byte order and unpickles data.pkl. */
export async function openZip(src: ByteSource, opts: ZipOptions, limits: PickleLimits): Promise<Container> {
  const zip = await ZipArchive.open(src, opts);
  const prefix = archivePrefix(zip);
  await checkByteOrder(zip, prefix);
  const pkl = zip.entries.get(`${prefix}data.pkl`)!;
  if (pkl.size > limits.maxPickleBytes) {
    throw new PthError(`${quoted(pkl.name)} is ${pkl.size} bytes, more than the cap of ${limits.maxPickleBytes} (maxPickleBytes)`);
  }
  const bytes = await zip.read(pkl);
  const storages = new Map<string, StorageRef>();
  const { value, end } = unpickle(bytes, 0, { findGlobal: resolveGlobal, persistentLoad: storageLoader(storages, false), maxMemory: limits.maxPickleMemory });
  if (end !== bytes.byteLength) throw new PthError(`${quoted(pkl.name)}: ${bytes.byteLength - end} bytes after the pickle's STOP`);
  const entryOf = (s: StorageRef): ZipEntry => {
    const e = zip.entries.get(`${prefix}data/${s.key}`);
    if (!e) throw new PthError(`storage "${s.key}": the archive has no entry ${quoted(`${prefix}data/${s.key}`)}`);
    assertStored(e);
    if (e.size !== storageBytes(s)) {
      throw new PthError(`storage "${s.key}": entry ${quoted(e.name)} holds ${e.size} bytes, the pickle says ${s.numel} × ${s.dtype} = ${storageBytes(s)}`);
    }
    return e;
  };
  return {
    format: 'zip',
    root: value,
    locate: (s) => zip.dataOffset(entryOf(s)),
    read: (s, offset, length) => zip.read(entryOf(s), offset, length),
  };
}

/** "<archive>/" of the one `<archive>/data.pkl`; a TorchScript archive or any other zip is an error. */
function archivePrefix(zip: ZipArchive): string {
  const names = [...zip.entries.keys()];
  const pkls = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length > 1) throw new PthError(`the archive holds ${pkls.length} data.pkl records (${pkls.slice(0, 3).map(quoted).join(', ')}…)`);
  if (pkls.length === 0) {
    if (names.some((n) => /^[^/]+\/(constants\.pkl|code\/)/.test(n))) {
      throw new PthError('this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint: load it in Python and torch.save(model.state_dict())');
    }
    throw new PthError('the zip archive has no <archive>/data.pkl record: not a torch.save checkpoint');
  }
  const prefix = pkls[0]!.slice(0, -'data.pkl'.length);
  const outside = names.find((n) => !n.startsWith(prefix));
  if (outside !== undefined) throw new PthError(`zip entry ${quoted(outside)} lies outside the archive's folder ${quoted(prefix)}`);
  return prefix;
}

/** `byteorder` (PyTorch ≥ 2.1) must say "little"; without it the data is little-endian. */
async function checkByteOrder(zip: ZipArchive, prefix: string): Promise<void> {
  const e = zip.entries.get(`${prefix}byteorder`);
  if (!e) return;
  if (e.size > 16) throw new PthError(`${quoted(e.name)} is ${e.size} bytes, not "little" or "big"`);
  const order = new TextDecoder().decode(await zip.read(e));
  if (order === 'big') throw new PthError('the checkpoint was saved on a big-endian machine (byteorder "big"): not supported; load and re-save it on a little-endian one');
  if (order !== 'little') throw new PthError(`${quoted(e.name)} says ${JSON.stringify(order)}, not "little" or "big"`);
}
