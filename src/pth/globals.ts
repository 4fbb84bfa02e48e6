// What a checkpoint's pickle may name, and what each name may do. This is the allowlist of
// torch.load(weights_only=True) (torch/_weights_only_unpickler.py) cut down to what state_dicts
// and the optimizer objects beside them use, with one addition: the torch.optim optimizer classes
// as inert records, because upstream SAM-UNet saves `{'model': state_dict, 'optimizer': optimizer}`
// with the optimizer object itself (sam_unet/train_on_single_gpu.py). Python would call
// object.__new__ and Optimizer.__setstate__ on them; here nothing is called: NEWOBJ makes an
// empty record and BUILD stores the state dict in it.
//
// Every global resolves to a PyGlobal whose rules say which opcode may use it: REDUCE (`call`),
// NEWOBJ (`newobj`), a storage type in a persistent id (`storage`), a defaultdict factory or a
// tensor type (markers). Anything else is an UnsafePickleError naming the global, raised when the
// GLOBAL opcode is read, before any argument is looked at.

import type { Dtype } from '../safetensors/format.js';
import { PthError, UnsafePickleError } from './errors.js';

/** A Python dict, OrderedDict or defaultdict: insertion order, str/int keys by value, others by identity. */
export class PyDict {
  readonly items = new Map<unknown, unknown>();
  /** Attributes set by BUILD (a state_dict's `_metadata`). */
  attrs: unknown = null;
  constructor(readonly kind: 'dict' | 'OrderedDict' | 'defaultdict') {}
}

/** A Python set or frozenset. */
export class PySet {
  readonly items: unknown[] = [];
  constructor(readonly frozen: boolean) {}
}

/** Python bytes or bytearray. */
export class PyBytes {
  constructor(readonly data: Uint8Array) {}
}

/** An instance of an allowed class, kept as data: the class and the state BUILD gave it. */
export class PyObject {
  state: unknown = null;
  constructor(readonly cls: PyGlobal) {}
}

/** A storage named by a persistent id: entry `data/<key>` of the archive. */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: Dtype,
    /** Elements (not bytes). */
    readonly numel: number,
    readonly location: string,
  ) {}
}

/** A tensor: a strided view of a storage (torch._utils._rebuild_tensor_v2), nothing read yet. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    /** In elements. */
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    /** Rebuilt as an nn.Parameter. */
    readonly parameter: boolean,
  ) {}

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Row-major contiguous, as torch's is_contiguous(): a dimension of size 1 may have any stride. */
  get contiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.stride[i] !== expected) return this.numel === 0;
      expected *= this.shape[i]!;
    }
    return true;
  }
}

interface Rules {
  /** REDUCE: the call, on already checked argument types. */
  call?: (args: readonly unknown[]) => unknown;
  /** NEWOBJ (cls.__new__(cls, *args)). */
  newobj?: (cls: PyGlobal, args: readonly unknown[]) => unknown;
  /** A storage type: the dtype of its elements. */
  storage?: Dtype;
  /** Allowed as a defaultdict's default_factory. */
  factory?: true;
  /** torch.Tensor or nn.Parameter, as _rebuild_from_type_v2's new_type. */
  tensorType?: 'tensor' | 'parameter';
}

/** A resolved global: its qualified name and what it may be used for. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly rules: Rules,
  ) {}

  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A tuple is a frozen array; a list a mutable one. */
export const isTuple = (v: unknown): v is readonly unknown[] => Array.isArray(v) && Object.isFrozen(v);

/** A short description of a value's type for error messages (never its contents). */
export function typeName(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return isTuple(v) ? 'tuple' : 'list';
  if (v instanceof PyDict) return v.kind;
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  if (v instanceof PyBytes) return 'bytes';
  if (v instanceof TensorRef) return v.parameter ? 'Parameter' : 'Tensor';
  if (v instanceof StorageRef) return 'storage';
  if (v instanceof PyObject) return `${v.cls.qualname} object`;
  if (v instanceof PyGlobal) return v.qualname;
  return typeof v;
}

function bad(what: string, v: unknown, expected: string): PthError {
  return new PthError(`${what} is a ${typeName(v)}, expected ${expected}`);
}

function arity(name: string, args: readonly unknown[], ...allowed: number[]): void {
  if (!allowed.includes(args.length)) throw new PthError(`${name} called with ${args.length} arguments, expected ${allowed.join(' or ')}`);
}

function ints(name: string, v: unknown, min: number): number[] {
  if (!Array.isArray(v) || !v.every((d) => Number.isSafeInteger(d) && d >= min)) {
    throw new PthError(`${name} is not a tuple of integers ≥ ${min}`);
  }
  return v as number[];
}

const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';

/** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
function rebuildTensor(args: readonly unknown[]): TensorRef {
  arity(REBUILD_TENSOR, args, 6, 7);
  const [storage, offset, size, stride, requiresGrad, hooks] = args;
  if (!(storage instanceof StorageRef)) throw bad(`${REBUILD_TENSOR}: the storage`, storage, 'a storage from a persistent id');
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new PthError(`${REBUILD_TENSOR}: storage offset ${String(offset)} is not an integer ≥ 0`);
  const shape = ints(`${REBUILD_TENSOR}: the size`, size, 0);
  const strides = ints(`${REBUILD_TENSOR}: the stride`, stride, 0);
  if (shape.length !== strides.length) throw new PthError(`${REBUILD_TENSOR}: size [${shape}] and stride [${strides}] differ in length`);
  if (typeof requiresGrad !== 'boolean') throw bad(`${REBUILD_TENSOR}: requires_grad`, requiresGrad, 'a bool');
  checkNoHooks(REBUILD_TENSOR, hooks);
  const t = new TensorRef(storage, offset as number, Object.freeze([...shape]), Object.freeze([...strides]), false);
  // The view's last element must lie inside the storage (as torch's set_ checks).
  let n = 1;
  let last = t.offset;
  for (let i = 0; i < shape.length; i++) {
    n *= shape[i]!;
    last += (shape[i]! - 1) * strides[i]!;
  }
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(last)) throw new PthError(`${REBUILD_TENSOR}: size [${shape}] is too large`);
  if (n > 0 && last >= storage.numel) {
    throw new PthError(
      `a tensor of size [${shape}], stride [${strides}] at offset ${t.offset} reaches element ${last} of storage "${storage.key}", which holds ${storage.numel}`,
    );
  }
  return t;
}

function checkNoHooks(name: string, hooks: unknown): void {
  if (hooks !== null && !(hooks instanceof PyDict && hooks.items.size === 0)) {
    throw new PthError(`${name}: backward_hooks is a non-empty ${typeName(hooks)}; a state_dict's tensors have none`);
  }
}

/** _rebuild_parameter(data, requires_grad, backward_hooks) and _rebuild_parameter_with_state(…, state). */
function rebuildParameter(name: string, withState: boolean) {
  return (args: readonly unknown[]): TensorRef => {
    arity(name, args, withState ? 4 : 3);
    const [data, requiresGrad, hooks] = args;
    if (!(data instanceof TensorRef)) throw bad(`${name}: the data`, data, 'a tensor');
    if (typeof requiresGrad !== 'boolean') throw bad(`${name}: requires_grad`, requiresGrad, 'a bool');
    checkNoHooks(name, hooks);
    return new TensorRef(data.storage, data.offset, data.shape, data.stride, true);
  };
}

/** torch._tensor._rebuild_from_type_v2(func, new_type, args, state): a tensor (or Parameter) rebuilt by func. */
function rebuildFromType(args: readonly unknown[]): TensorRef {
  const name = 'torch._tensor._rebuild_from_type_v2';
  arity(name, args, 4);
  const [func, newType, fargs, state] = args;
  if (!(func instanceof PyGlobal) || func.qualname !== REBUILD_TENSOR) throw bad(`${name}: func`, func, REBUILD_TENSOR);
  if (!(newType instanceof PyGlobal) || !newType.rules.tensorType) throw bad(`${name}: new_type`, newType, 'torch.Tensor or torch.nn.Parameter');
  if (!isTuple(fargs)) throw bad(`${name}: args`, fargs, 'a tuple');
  if (state !== null && !(state instanceof PyDict && state.items.size === 0)) throw bad(`${name}: state`, state, 'None or an empty dict');
  const t = rebuildTensor(fargs);
  return newType.rules.tensorType === 'parameter' ? new TensorRef(t.storage, t.offset, t.shape, t.stride, true) : t;
}

function emptyCall(name: string, make: () => unknown) {
  return (args: readonly unknown[]) => {
    arity(name, args, 0);
    return make();
  };
}

/** set(iterable) / frozenset(iterable), as protocol 2 pickles them. */
function setOf(name: string, frozen: boolean) {
  return (args: readonly unknown[]): PySet => {
    arity(name, args, 0, 1);
    const s = new PySet(frozen);
    if (args.length) {
      if (!Array.isArray(args[0])) throw bad(`${name}: the argument`, args[0], 'a list');
      for (const v of args[0]) s.items.push(v); // not push(...): a long list would overflow the call stack
    }
    return s;
  };
}

/** _codecs.encode(str, 'latin1'): how protocol 2 pickles bytes. */
function codecsEncode(args: readonly unknown[]): PyBytes {
  arity('_codecs.encode', args, 2);
  const [s, enc] = args;
  if (typeof s !== 'string') throw bad('_codecs.encode: the text', s, 'a str');
  if (enc !== 'latin1' && enc !== 'latin-1') throw new PthError(`_codecs.encode: encoding ${JSON.stringify(String(enc)).slice(0, 40)} is not latin1`);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) throw new PthError('_codecs.encode: the text has a character outside latin1');
    out[i] = c;
  }
  return new PyBytes(out);
}

/** collections.defaultdict(default_factory): the factory must be a builtin type or None. */
function defaultdict(args: readonly unknown[]): PyDict {
  arity('collections.defaultdict', args, 0, 1);
  const f = args[0];
  if (f !== undefined && f !== null && !(f instanceof PyGlobal && f.rules.factory)) {
    throw new UnsafePickleError(`collections.defaultdict with default_factory ${typeName(f)} is not allowed (only builtin types)`);
  }
  return new PyDict('defaultdict');
}

/** cls.__new__(cls) of an allowed class: an empty record, nothing called. */
function inertObject(cls: PyGlobal, args: readonly unknown[]): PyObject {
  arity(cls.qualname, args, 0);
  return new PyObject(cls);
}

const STORAGES: Record<string, Dtype> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

const DTYPES = ['float32', 'float', 'float16', 'half', 'bfloat16', 'float64', 'double', 'int64', 'long', 'int32', 'int', 'int16', 'short', 'int8', 'uint8', 'bool'];

const OPTIMIZERS = [
  'adam.Adam', 'adamw.AdamW', 'sgd.SGD', 'rmsprop.RMSprop', 'adagrad.Adagrad', 'adadelta.Adadelta', 'adamax.Adamax',
  'nadam.NAdam', 'radam.RAdam', 'asgd.ASGD', 'rprop.Rprop', 'lbfgs.LBFGS', 'sparse_adam.SparseAdam',
];

const ALLOWED = new Map<string, Rules>([
  ['collections.OrderedDict', { call: emptyCall('collections.OrderedDict', () => new PyDict('OrderedDict')) }],
  ['collections.defaultdict', { call: defaultdict }],
  ['builtins.set', { call: setOf('builtins.set', false), factory: true }],
  ['builtins.frozenset', { call: setOf('builtins.frozenset', true) }],
  ['_codecs.encode', { call: codecsEncode }],
  [REBUILD_TENSOR, { call: rebuildTensor }],
  ['torch._utils._rebuild_parameter', { call: rebuildParameter('torch._utils._rebuild_parameter', false) }],
  ['torch._utils._rebuild_parameter_with_state', { call: rebuildParameter('torch._utils._rebuild_parameter_with_state', true) }],
  ['torch._tensor._rebuild_from_type_v2', { call: rebuildFromType }],
  ['torch.Tensor', { tensorType: 'tensor' }],
  ['torch.nn.parameter.Parameter', { tensorType: 'parameter' }],
  ['torch.Size', { call: (args) => (arity('torch.Size', args, 1), ints('torch.Size', args[0], 0), args[0]) }],
  ...['dict', 'list', 'int', 'float', 'str', 'bool', 'tuple'].map((t): [string, Rules] => [`builtins.${t}`, { factory: true }]),
  ...DTYPES.map((d): [string, Rules] => [`torch.${d}`, {}]),
  ...Object.entries(STORAGES).flatMap(([s, dtype]): [string, Rules][] => [[`torch.${s}`, { storage: dtype }], [`torch.cuda.${s}`, { storage: dtype }]]),
  ...OPTIMIZERS.map((o): [string, Rules] => [`torch.optim.${o}`, { newobj: inertObject }]),
]);

/** Python 2 module names that protocol ≤ 2 pickles use (pickle's fix_imports). */
const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

const resolved = new Map<string, PyGlobal>();

/**
 * The PyGlobal for `module.name`, or an UnsafePickleError naming it. The same object is returned
 * for the same name (memo'd globals compare by identity).
 */
export function resolveGlobal(module: string, name: string): PyGlobal {
  const mod = PY2_MODULES[module] ?? module;
  const qual = `${mod}.${name}`;
  const known = resolved.get(qual);
  if (known) return known;
  const rules = ALLOWED.get(qual);
  if (!rules) {
    const shown = qual.length > 120 ? `${qual.slice(0, 120)}…` : qual;
    const hint = /^torch\.[A-Za-z0-9]+Storage$/.test(qual) ? ' (a storage type this reader does not support)' : '';
    throw new UnsafePickleError(
      `the checkpoint's pickle names the global ${shown}, which is not allowed${hint}: nothing was executed. ` +
        'Only tensors, storages and plain containers are read (as torch.load(weights_only=True) does); ' +
        'save model.state_dict() rather than Python objects',
    );
  }
  const g = new PyGlobal(mod, name, rules);
  resolved.set(qual, g);
  return g;
}

/** BUILD: sets the state of an object made by REDUCE or NEWOBJ. Only dicts (attributes) and inert records take one. */
export function build(obj: unknown, state: unknown): void {
  if (obj instanceof PyDict && obj.attrs === null && (state instanceof PyDict || state === null)) {
    obj.attrs = state;
  } else if (obj instanceof PyObject && obj.state === null && state instanceof PyDict) {
    obj.state = state;
  } else {
    throw new UnsafePickleError(`BUILD (setting the state of an object) on a ${typeName(obj)} with a ${typeName(state)} is not allowed`);
  }
}
