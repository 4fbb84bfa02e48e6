#!/usr/bin/env python3
"""Writes a corpus of hostile PyTorch checkpoints, crafted by hand with pickle opcodes, zipfile
and struct (no torch needed), and a manifest of what each must be rejected with.

    hostile_checkpoints.py OUTDIR

OUTDIR/manifest.json: [{"name", "file", "error": "PthError" | "UnsafePickleError" | null, "match": regex}],
error null for the few valid controls. Families:
  exec-*     code execution through every pickle route (GLOBAL + REDUCE, STACK_GLOBAL, INST, OBJ,
             NEWOBJ, NEWOBJ_EX, BUILD, EXT1/2/4, persistent ids, allowed globals misused)
  bomb-*     recursion, memo, stack, mark and string bombs
  lie-*      sizes that lie (string lengths, storage sizes, views past their storage, shapes)
  zip-*      damaged containers: overlapping entries, entries outside the file, local headers that
             disagree with the central directory, zip bombs, ZIP64 lies, encryption, disks
  fmt-*      other formats and layouts (legacy format lies, big-endian, TorchScript, tar, safetensors)
"""
import io
import json
import os
import struct
import sys
import zipfile

# ---------------------------------------------------------------- pickle assembly

PROTO2 = b'\x80\x02'


def uni(s):
    b = s.encode('utf-8')
    return b'X' + struct.pack('<I', len(b)) + b


def glob(module, name):
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def i32(n):
    """An int: BININT when it fits in 32 bits, else LONG1 (as pickle writes them)."""
    if -2 ** 31 <= n < 2 ** 31:
        return b'J' + struct.pack('<i', n)
    raw = n.to_bytes((n.bit_length() + 8) // 8, 'little', signed=True)
    return b'\x8a' + bytes([len(raw)]) + raw


def tup(xs):
    return b'(' + b''.join(i32(x) for x in xs) + b't'


ODICT = glob('collections', 'OrderedDict') + b')R'


def pid(key, numel, stype='FloatStorage', extra=b''):
    return b'(' + uni('storage') + glob('torch', stype) + uni(key) + uni('cpu') + i32(numel) + extra + b'tQ'


def tensor(key, numel, offset, size, stride, stype='FloatStorage'):
    return glob('torch._utils', '_rebuild_tensor_v2') + b'(' + pid(key, numel, stype) + i32(offset) + tup(size) + tup(stride) + b'\x89' + ODICT + b'tR'


def sdict(items):
    return b'}(' + b''.join(uni(k) + v for k, v in items) + b'u'


def pkl(body):
    return PROTO2 + body + b'.'


W = tensor('0', 4, 0, [2, 2], [2, 1])
W_DATA = struct.pack('<4f', 1, 2, 3, 4)
GOOD_PKL = pkl(sdict([('w', W)]))

# ---------------------------------------------------------------- zip assembly


def archive(data_pkl, storages=None, prefix='archive', extra=(), compress=()):
    """A checkpoint zip: prefix/data.pkl, prefix/data/<key>, extra (name, bytes) records."""
    storages = {'0': W_DATA} if storages is None else storages
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_STORED) as z:
        records = [(f'{prefix}/data.pkl', data_pkl)] + [(f'{prefix}/data/{k}', v) for k, v in storages.items()] + list(extra)
        records.append((f'{prefix}/version', b'3\n'))
        for name, data in records:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED if name in compress else zipfile.ZIP_STORED)
    return bytearray(buf.getvalue())


def end_record(b):
    return b.rfind(b'PK\x05\x06')


def central(b):
    """[(offset of the central header, name)] in directory order."""
    e = end_record(b)
    (count, size, off) = struct.unpack_from('<HII', b, e + 10)
    out = []
    p = off
    for _ in range(count):
        n, m, k = struct.unpack_from('<HHH', b, p + 28)
        out.append((p, bytes(b[p + 46:p + 46 + n]).decode()))
        p += 46 + n + m + k
    return out


def cd_of(b, name):
    return next(p for p, n in central(b) if n == name)


def lho_of(b, name):
    return struct.unpack_from('<I', b, cd_of(b, name) + 42)[0]


def patch(b, at, fmt, *values):
    b = bytearray(b)
    struct.pack_into(fmt, b, at, *values)
    return b


# ---------------------------------------------------------------- the corpus

CASES = []


def case(name, data, error, match):
    CASES.append((name, bytes(data), error, match))


U = 'UnsafePickleError'
P = 'PthError'


def exec_cases():
    run = lambda callee, args=uni('id') + b'\x85': pkl(callee + args + b'R')
    case('exec-os-system', archive(run(glob('os', 'system'))), U, r'global os\.system, which is not allowed')
    case('exec-posix-system', archive(run(glob('posix', 'system'))), U, r'global posix\.system')
    case('exec-builtins-eval', archive(run(glob('__builtin__', 'eval'), uni('__import__("os").system("id")') + b'\x85')), U, r'global builtins\.eval')
    case('exec-builtins-exec', archive(run(glob('builtins', 'exec'))), U, r'global builtins\.exec')
    case('exec-getattr', archive(run(glob('builtins', 'getattr'), glob('torch', 'FloatStorage') + uni('from_file') + b'\x86')), U, r'global builtins\.getattr')
    case('exec-import', archive(run(glob('builtins', '__import__'), uni('os') + b'\x85')), U, r'global builtins\.__import__')
    case('exec-subprocess', archive(run(glob('subprocess', 'Popen'), uni('id') + b'\x85\x85')), U, r'global subprocess\.Popen')
    case('exec-torch-load', archive(run(glob('torch.serialization', 'load'), uni('/tmp/x.pth') + b'\x85')), U, r'global torch\.serialization\.load')
    case('exec-pickle-loads', archive(run(glob('pickle', 'loads'), b'C\x01.' + b'\x85')), U, r'global pickle\.loads')
    case('exec-numpy-reconstruct', archive(run(glob('numpy.core.multiarray', '_reconstruct'))), U, r'numpy\.core\.multiarray\._reconstruct')
    case('exec-copyreg-reconstructor', archive(run(glob('copy_reg', '_reconstructor'))), U, r'global copyreg\._reconstructor')
    case('exec-functools-partial', archive(run(glob('functools', 'partial'))), U, r'global functools\.partial')
    case('exec-main-class', archive(pkl(glob('__main__', 'Exploit') + b')\x81')), U, r'global __main__\.Exploit')
    case('exec-nn-module', archive(pkl(glob('torch.nn.modules.linear', 'Linear') + b')\x81')), U, r'torch\.nn\.modules\.linear\.Linear.*state_dict\(\)')
    case('exec-torch-c', archive(run(glob('torch._C', '_set_grad_enabled'))), U, r'torch\._C\._set_grad_enabled')
    # STACK_GLOBAL (protocol 4): the names come from the stack.
    sg = b'\x80\x04' + b'\x8c\x02os\x94\x8c\x06system\x94\x93\x94' + b'\x8c\x02id\x94\x85R.'
    case('exec-stack-global', archive(sg), U, r'global os\.system')
    case('exec-stack-global-nonstr', archive(b'\x80\x04K\x01K\x02\x93.'), P, r'STACK_GLOBAL on a int and a int')
    # INST / OBJ: the class comes from the opcode's argument or the stack.
    case('exec-inst', archive(PROTO2 + b'(' + uni('id') + b'ios\nsystem\n.'), U, r'opcode INST \(0x69\)')
    case('exec-obj', archive(PROTO2 + b'(' + glob('collections', 'OrderedDict') + b'o.'), U, r'opcode OBJ \(0x6f\)')
    case('exec-newobj-ex', archive(PROTO2 + glob('collections', 'OrderedDict') + b')}\x92.'), U, r'opcode NEWOBJ_EX')
    for op, name in ((b'\x82\x01', 'EXT1'), (b'\x83\x01\x00', 'EXT2'), (b'\x84\x01\x00\x00\x00', 'EXT4')):
        case(f'exec-{name.lower()}', archive(PROTO2 + op + b'.'), U, f'opcode {name}')
    # Allowed globals used for what they may not do.
    case('exec-reduce-storage-type', archive(pkl(glob('torch', 'FloatStorage') + i32(1 << 30) + b'\x85R')), U, r'REDUCE \(a call\) on torch\.FloatStorage is not allowed')
    case('exec-reduce-dtype', archive(pkl(glob('torch', 'float32') + b')R')), U, r'REDUCE \(a call\) on torch\.float32')
    case('exec-reduce-string', archive(pkl(uni('os.system') + b')R')), U, r'REDUCE \(a call\) on str is not allowed')
    case('exec-reduce-factory', archive(pkl(glob('__builtin__', 'dict') + b')R')), U, r'REDUCE \(a call\) on builtins\.dict')
    case('exec-newobj-odict', archive(pkl(glob('collections', 'OrderedDict') + b')\x81')), U, r'NEWOBJ \(creating an instance\) of collections\.OrderedDict')
    case('exec-build-list', archive(pkl(b']}\x62')), U, r'BUILD .* on a list')
    case('exec-build-tensor', archive(pkl(sdict([('w', W + b'}b')]))), U, r'BUILD .* on a Tensor')
    case('exec-build-optimizer-twice', archive(pkl(glob('torch.optim.adam', 'Adam') + b')\x81}b}b')), U, r'BUILD .* on a torch\.optim\.adam\.Adam object')
    case('exec-defaultdict-factory', archive(pkl(glob('collections', 'defaultdict') + glob('collections', 'OrderedDict') + b'\x85R')), U, r'default_factory collections\.OrderedDict')
    case('exec-persid-module', archive(pkl(b'(' + uni('module') + uni('os.system') + b'tQ')), P, r"persistent id is a tuple of 2, not \('storage'")
    case('exec-persid-global', archive(pkl(b'(' + uni('storage') + glob('os', 'system') + uni('0') + uni('cpu') + i32(4) + b'tQ')), U, r'global os\.system')
    case('exec-persid-type-str', archive(pkl(b'(' + uni('storage') + uni('FloatStorage') + uni('0') + uni('cpu') + i32(4) + b'tQ')), P, r'names str as its storage type')
    case('exec-text-persid', archive(PROTO2 + b'P0\n.'), P, r'opcode PERSID .* not supported')
    case('exec-rebuild-fake-storage', archive(pkl(sdict([('w', glob('torch._utils', '_rebuild_tensor_v2') + b'(' + uni('0') + i32(0) + tup([2]) + tup([1]) + b'\x89' + ODICT + b'tR')]))), P, r'the storage is a str')
    case('exec-hooks', archive(pkl(sdict([('w', glob('torch._utils', '_rebuild_tensor_v2') + b'(' + pid('0', 4) + i32(0) + tup([4]) + tup([1]) + b'\x89' + ODICT + uni('k') + glob('os', 'system') + b'stR')]))), U, r'global os\.system')
    case('exec-codecs-encoding', archive(pkl(glob('_codecs', 'encode') + uni('x') + uni('rot13') + b'\x86R')), P, r'encoding .*rot13.* is not latin1')
    case('exec-legacy', legacy(pkl(glob('os', 'system') + uni('id') + b'\x85R')), U, r'global os\.system')


def bomb_cases():
    n = 1_000_000
    case('bomb-deep-lists', archive(PROTO2 + b']' * n + b'a' * (n - 1) + b'.'), P, r'more than \d+ bytes of memory \(maxPickleMemory\)')
    case('bomb-marks', archive(PROTO2 + b'(' * n + b'.'), P, r'maxPickleMemory')
    case('bomb-nones', archive(PROTO2 + b'N' * (4 * n) + b'.'), P, r'maxPickleMemory')
    case('bomb-memo-refs', archive(PROTO2 + b']q\x00' + b'(' + b'h\x00' * (2 * n) + b'e.'), P, r'maxPickleMemory')
    case('bomb-dup', archive(PROTO2 + b']' + b'2' * (4 * n) + b'.'), P, r'maxPickleMemory')
    # Ten references per level, nine levels: 10^9 strings if anything walked it as a tree.
    laughs = uni('lol') + b'q\x000'
    for i in range(1, 10):
        laughs += b'(' + (b'h' + bytes([i - 1])) * 10 + b'lq' + bytes([i]) + b'0'
    case('bomb-billion-laughs', archive(pkl(laughs + b'}(' + uni('model') + sdict([('w', W)]) + uni('lol') + b'h\x09u')), None, '')
    case('bomb-self-append', archive(pkl(b']q\x00h\x00a0' + sdict([('w', W), ('loop', b']q\x01h\x01a')]))), P, r'state_dict entry "loop" is a list, not a tensor')
    case('bomb-memo-put-huge', archive(pkl(b'Nr\xff\xff\xff\xff0' + sdict([('w', W)]))), None, '')
    case('bomb-memo-get-missing', archive(PROTO2 + b'j\xff\xff\xff\xff.'), P, r'memo key 4294967295 is not defined')
    case('bomb-many-strings', archive(PROTO2 + b'(' + uni('x' * 200) * 40000 + b'l.'), P, r'maxPickleMemory')
    case('bomb-big-dict', archive(PROTO2 + b'}(' + b''.join(uni(str(i)) + b'N' for i in range(200000)) + b'u.'), P, r'maxPickleMemory')


def lie_cases():
    case('lie-unicode-length', archive(PROTO2 + b'X\xf0\xff\xff\xffabc.'), P, r'truncated: the opcode needs 4294967280 more bytes')
    case('lie-binbytes8-length', archive(PROTO2 + b'\x8e' + struct.pack('<Q', 1 << 62) + b'abc.'), P, r'truncated: the opcode needs')
    case('lie-unicode8-length', archive(PROTO2 + b'\x8d' + struct.pack('<Q', (1 << 64) - 1) + b'.'), P, r'truncated')
    case('lie-long4-length', archive(PROTO2 + b'\x8b' + struct.pack('<i', 1 << 30) + b'.'), P, r'LONG4 of 1073741824 bytes')
    case('lie-binstring-negative', archive(PROTO2 + b'T' + struct.pack('<i', -5) + b'.'), P, r'BINSTRING of negative length')
    case('lie-bad-utf8', archive(PROTO2 + b'X\x02\x00\x00\x00\xc3\x28.'), P, r'not valid UTF-8')
    case('lie-no-stop', archive(PROTO2 + sdict([('w', W)])), P, r'truncated')
    case('lie-trailing-after-stop', archive(GOOD_PKL + b'junk'), P, r'4 bytes after the pickle')
    case('lie-leftover-stack', archive(PROTO2 + b'NN.'), P, r'STOP leaves 1 objects')
    case('lie-underflow', archive(PROTO2 + b'a.'), P, r'stack underflow')
    case('lie-underflow-mark', archive(PROTO2 + b'N(a.'), P, r'stack underflow')
    case('lie-pop-mark-none', archive(PROTO2 + b'1.'), P, r'no MARK')
    case('lie-protocol-9', archive(b'\x80\x09' + GOOD_PKL[2:]), P, r'protocol 9 is newer than 5')
    case('lie-unknown-opcode', archive(PROTO2 + b'\xff.'), P, r'unknown opcode 0xff')
    case('lie-storage-numel', archive(pkl(sdict([('w', tensor('0', 1 << 40, 0, [4], [1]))]))), P, r'entry "archive/data/0" holds 16 bytes, the pickle says 1099511627776 × F32')
    case('lie-storage-small', archive(pkl(sdict([('w', tensor('0', 4, 0, [4], [1]))])), {'0': W_DATA[:8]}), P, r'holds 8 bytes, the pickle says 4 × F32 = 16')
    case('lie-view-past-storage', archive(pkl(sdict([('w', tensor('0', 4, 2, [4], [1]))]))), P, r'reaches element 5 of storage "0", which holds 4')
    case('lie-stride-past-storage', archive(pkl(sdict([('w', tensor('0', 4, 0, [2, 2], [3, 1]))]))), P, r'reaches element 4')
    case('lie-shape-overflow', archive(pkl(sdict([('w', tensor('0', 4, 0, [1 << 30, 1 << 30, 1 << 30], [1, 1, 1]))]))), P, r'too large')
    case('lie-negative-offset', archive(pkl(sdict([('w', tensor('0', 4, -1, [4], [1]))]))), P, r'storage offset -1 is not an integer')
    case('lie-negative-size', archive(pkl(sdict([('w', tensor('0', 4, 0, [-4], [1]))]))), P, r'the size is not a tuple of integers')
    case('lie-size-stride-rank', archive(pkl(sdict([('w', tensor('0', 4, 0, [2, 2], [1]))]))), P, r'differ in length')
    case('lie-numel-negative', archive(pkl(sdict([('w', glob('torch._utils', '_rebuild_tensor_v2') + b'(' + pid('0', -4) + i32(0) + tup([4]) + tup([1]) + b'\x89' + ODICT + b'tR')]))), P, r'element count -4')
    case('lie-storage-two-types', archive(pkl(sdict([('w', W), ('h', tensor('0', 8, 0, [8], [1], 'HalfStorage'))]))), P, r'storage "0" is named as 4 × F32 and as 8 × F16')
    case('lie-missing-storage', archive(GOOD_PKL, {}), P, r'the archive has no entry "archive/data/0"')
    case('lie-rebuild-arity', archive(pkl(sdict([('w', glob('torch._utils', '_rebuild_tensor_v2') + b'(' + pid('0', 4) + b'tR')]))), P, r'called with 1 arguments')
    case('lie-non-tensor-value', archive(pkl(sdict([('w', W), ('x', i32(3))]))), P, r'state_dict entry "x" is a int, not a tensor')
    case('lie-non-str-key', archive(pkl(b'}(' + uni('w') + W + i32(7) + W + b'u')), P, r'has a int key')
    case('lie-unhashable-key', archive(pkl(b'}(' + b']' + W + b'u')), P, r'a dict key is a list \(unhashable\)')
    case('lie-no-tensors', archive(pkl(sdict([('epoch', i32(3))]))), P, r'no state_dict in the checkpoint: it is a dict with keys "epoch"')
    case('lie-root-list', archive(pkl(b']')), P, r'the checkpoint holds a list, not a state_dict')
    case('lie-complex-storage', archive(pkl(sdict([('w', tensor('0', 4, 0, [4], [1], 'ComplexFloatStorage'))]))), U, r'torch\.ComplexFloatStorage.*storage type this reader does not support')
    case('lie-global-no-newline', archive(PROTO2 + b'c' + b'a' * 1000), P, r'no newline within 256 bytes')


def zip_cases():
    good = archive(GOOD_PKL)
    case('zip-valid-control', good, None, '')
    case('zip-empty-file', b'', P, r'not a PyTorch checkpoint')
    case('zip-truncated-half', good[:len(good) // 2], P, r'no end-of-central-directory record')
    case('zip-truncated-tail', good[:-1], P, r'no end-of-central-directory record')
    e = end_record(good)
    case('zip-cd-offset-outside', patch(good, e + 16, '<I', len(good) + 1000), P, r'does not end where the end records begin')
    case('zip-cd-size-lies', patch(good, e + 12, '<I', 10 ** 9), P, r'does not end where the end records begin')
    case('zip-count-lies', patch(patch(good, e + 10, '<H', 65000), e + 8, '<H', 65000), P, r'65000 entries cannot fit')
    case('zip-count-short', patch(patch(good, e + 10, '<H', 1), e + 8, '<H', 1), P, r'unexplained bytes after the 1 central directory entries')
    case('zip-disks', patch(good, e + 4, '<H', 1), P, r'spans several disks')
    # Two directory entries sharing one local header and its data (the overlap zip bomb).
    b = archive(GOOD_PKL, {'0': W_DATA, '1': W_DATA})
    case('zip-overlap', patch(b, cd_of(b, 'archive/data/1') + 42, '<I', lho_of(b, 'archive/data/0')), P, r'overlap')
    b = archive(GOOD_PKL, {'0': W_DATA, '1': W_DATA})
    case('zip-overlap-partial', patch(b, cd_of(b, 'archive/data/1') + 42, '<I', lho_of(b, 'archive/data/0') + 20), P, r'overlap')
    b = bytearray(good)
    case('zip-lho-past-cd', patch(b, cd_of(b, 'archive/data/0') + 42, '<I', len(good) - 30), P, r'runs past the start of the central directory')
    b = bytearray(good)
    at = lho_of(b, 'archive/data/0')
    case('zip-local-name', patch(b, at + 30, '<B', ord('X')), P, r'the local header names "Xrchive/data/0"')
    case('zip-local-signature', patch(b, at, '<I', 0), P, r'no local header signature')
    case('zip-local-method', patch(b, at + 8, '<H', 8), P, r'method 8 in the local header, 0 in the central directory')
    case('zip-local-size-lies', patch(b, at + 18, '<II', 99, 99), P, r'the local header says 99 bytes compressed')
    case('zip-local-extra-lies', patch(b, at + 28, '<H', 60000), P, r'runs past the next entry')
    case('zip-crc', patch(b, at + 30 + len('archive/data/0'), '<f', 9.0), P, r'CRC-32 .* does not match')
    pk = archive(GOOD_PKL)
    case('zip-crc-pickle', patch(pk, lho_of(pk, 'archive/data.pkl') + 30 + len('archive/data.pkl') + 3, '<B', 0x41), P, r'CRC-32')
    case('zip-encrypted', patch(b, cd_of(b, 'archive/data/0') + 8, '<H', 1), P, r'is encrypted')
    dup = bytearray(archive(GOOD_PKL, {'0': W_DATA, '1': W_DATA}))
    c1 = cd_of(dup, 'archive/data/1')
    dup[c1 + 46 + len('archive/data/')] = ord('0')
    case('zip-duplicate-names', dup, P, r'two entries are named "archive/data/0"')
    case('zip-stored-sizes-differ', patch(b, cd_of(b, 'archive/data/0') + 20, '<I', 8), P, r'is stored \(uncompressed\) but its sizes differ')
    # Zip bombs: compressed records (refused before anything is inflated), sizes claimed far past the file.
    zeros = bytes(1 << 22)
    bomb = archive(pkl(sdict([('w', tensor('0', 1 << 20, 0, [1 << 20], [1]))])), {'0': zeros}, compress=('archive/data/0',))
    case('zip-bomb-storage', bomb, P, r'zip entry "archive/data/0" is compressed \(deflate\).*re-save it with torch\.save')
    case('zip-bomb-pickle', archive(GOOD_PKL, compress=('archive/data.pkl',)), P, r'"archive/data\.pkl" is compressed \(deflate\)')
    claim = bytearray(bomb)
    case('zip-bomb-claims-4g', patch(claim, cd_of(claim, 'archive/data/0') + 24, '<I', 0xfffffff0), P, r'is compressed')
    z = archive(GOOD_PKL, compress=('archive/data.pkl',))
    case('zip-bomb-pickle-claims', patch(z, cd_of(z, 'archive/data.pkl') + 24, '<I', 0xfffffff0), P, r'is compressed|more than the cap')
    # ZIP64: a marker without the extra field; values past 2^53; a locator pointing nowhere.
    case('zip64-marker-no-extra', patch(b, cd_of(b, 'archive/data/0') + 20, '<II', 0xffffffff, 0xffffffff), P, r'no ZIP64 extra field')
    loc = zip64_archive()
    l = loc.rfind(b'PK\x06\x07')
    case('zip64-valid-control', loc, None, '')
    case('zip64-locator-nowhere', patch(loc, l + 8, '<Q', 5), P, r'no ZIP64 end record at offset 5')
    case('zip64-locator-past-2^53', patch(loc, l + 8, '<Q', 1 << 60), P, r'past 2\^53')
    r = loc.rfind(b'PK\x06\x06')
    case('zip64-count-huge', patch(patch(loc, r + 24, '<Q', 1 << 40), r + 32, '<Q', 1 << 40), P, r'disagree|more than the cap')
    case('zip64-end-disagrees', patch(loc, r + 48, '<Q', 7), P, r'disagree')
    x = zip64_extra_archive()
    cdx = cd_of(x, 'archive/data/0')
    n, m = struct.unpack_from('<HH', x, cdx + 28)
    case('zip64-extra-size-past-2^53', patch(x, cdx + 46 + n + 4, '<Q', 1 << 60), P, r'past 2\^53')
    case('zip64-extra-huge-size', patch(patch(x, cdx + 46 + n + 4, '<Q', 1 << 50), cdx + 46 + n + 12, '<Q', 1 << 50), P, r'runs past the start of the central directory')
    case('zip64-extra-truncated', patch(x, cdx + 46 + n + 2, '<H', 4), P, r'ZIP64 extra field is too short|extra field runs past')


def zip64_archive():
    """The base archive with a ZIP64 end record and locator, as torch writes them."""
    b = bytes(archive(GOOD_PKL))
    e = end_record(b)
    count, size, off = struct.unpack_from('<HII', b, e + 10)
    z64 = struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, count, count, size, off)
    locator = struct.pack('<IIQI', 0x07064b50, 0, e, 1)
    return bytearray(b[:e] + z64 + locator + b[e:])


def zip64_extra_archive():
    """The base archive re-written with ZIP64 extra fields on every entry."""
    limit = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = 0
    try:
        buf = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(bytes(archive(GOOD_PKL)))) as zin, zipfile.ZipFile(buf, 'w', zipfile.ZIP_STORED) as zout:
            for info in zin.infolist():
                with zout.open(zipfile.ZipInfo(info.filename), 'w', force_zip64=True) as w:
                    w.write(zin.read(info))
        return bytearray(buf.getvalue())
    finally:
        zipfile.ZIP64_LIMIT = limit


def legacy(main_pickle, keys=('0',), storages=(W_DATA,), numels=(4,), little=True):
    out = pkl(b'\x8a\x0a' + (0x1950a86a20f9469cfc6c).to_bytes(10, 'little'))
    out += pkl(b'M\xe9\x03')
    out += pkl(sdict([('protocol_version', b'M\xe9\x03'), ('little_endian', b'\x88' if little else b'\x89')]))
    out += main_pickle
    out += pkl(b'(' + b''.join(uni(k) for k in keys) + b'l')
    for n, d in zip(numels, storages):
        out += struct.pack('<q', n) + d
    return out


def fmt_cases():
    legacy_pid = lambda key, numel: b'(' + uni('storage') + glob('torch', 'FloatStorage') + uni(key) + uni('cpu') + i32(numel) + b'NtQ'
    lw = glob('torch._utils', '_rebuild_tensor_v2') + b'(' + legacy_pid('0', 4) + i32(0) + tup([4]) + tup([1]) + b'\x89' + ODICT + b'tR'
    lmain = pkl(sdict([('w', lw)]))
    case('fmt-legacy-control', legacy(lmain), None, '')
    case('fmt-legacy-magic', pkl(i32(7)) + legacy(lmain)[15:], P, r'without the legacy checkpoint magic number')
    case('fmt-legacy-count-lies', legacy(lmain, numels=(5,)), P, r'storage "0" holds 5 elements in the file, the pickle says 4')
    case('fmt-legacy-past-eof', legacy(lmain)[:-4], P, r'runs past the end of the file')
    case('fmt-legacy-big-endian', legacy(lmain, little=False), P, r'big-endian')
    case('fmt-legacy-unknown-key', legacy(lmain, keys=('0', '9'), storages=(W_DATA, W_DATA), numels=(4, 4)), P, r'storage "9" is listed but no tensor names it')
    case('fmt-legacy-view', legacy(pkl(sdict([('w', lw.replace(b'NtQ', uni('x') + b'tQ'))]))), P, r'is a storage view|persistent id')
    case('fmt-legacy-truncated-pickle', legacy(lmain)[:40], P, r'truncated')
    case('fmt-big-endian', archive(GOOD_PKL, extra=(('archive/byteorder', b'big'),)), P, r'big-endian machine \(byteorder "big"\)')
    case('fmt-byteorder-junk', archive(GOOD_PKL, extra=(('archive/byteorder', b'middle'),)), P, r'says "middle"')
    case('fmt-little-endian-control', archive(GOOD_PKL, extra=(('archive/byteorder', b'little'),)), None, '')
    case('fmt-torchscript', archive(GOOD_PKL, extra=(('archive/constants.pkl', b'\x80\x02).'),), prefix='archive').replace(b'archive/data.pkl', b'archive/datX.pkl'), P, r'TorchScript')
    case('fmt-no-data-pkl', archive(GOOD_PKL).replace(b'archive/data.pkl', b'archive/other.pk'), P, r'no <archive>/data\.pkl')
    case('fmt-entry-outside', archive(GOOD_PKL, extra=(('elsewhere/evil', b'x'),)), P, r'lies outside the archive\'s folder "archive/"')
    case('fmt-two-data-pkl', archive(GOOD_PKL, extra=(('other/data.pkl', GOOD_PKL),)), P, r'2 data\.pkl records')
    case('fmt-safetensors', struct.pack('<Q', 2) + b'{}', P, r'safetensors file')
    tar = bytearray(1024)
    tar[257:262] = b'ustar'
    case('fmt-tar', tar, P, r'tar file')
    case('fmt-random', bytes(range(256)) * 4, P, r'not a PyTorch checkpoint')
    case('fmt-plain-zip', zip_of([('readme.txt', b'hello')]), P, r'no <archive>/data\.pkl')


def zip_of(records):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        for name, data in records:
            z.writestr(name, data)
    return buf.getvalue()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for family in (exec_cases, bomb_cases, lie_cases, zip_cases, fmt_cases):
        family()
    manifest = []
    names = set()
    for name, data, error, match in CASES:
        assert name not in names, name
        names.add(name)
        with open(os.path.join(out, name + '.pth'), 'wb') as f:
            f.write(data)
        manifest.append({'name': name, 'file': name + '.pth', 'error': error, 'match': match})
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=0)
    print(len(manifest))


if __name__ == '__main__':
    main()
