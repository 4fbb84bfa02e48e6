// A restricted unpickler. It reads the binary opcodes of pickle protocols 1–5 (torch.save writes
// protocol 2) into plain data (globals.ts: PyDict, TensorRef, …) and executes nothing: a global is
// resolved against an allowlist when it is read, and REDUCE, NEWOBJ and BUILD only run the typed
// rules of an allowed global. Everything that would call into Python by other routes (INST, OBJ,
// NEWOBJ_EX, the copyreg extension registry EXT1/2/4) is an UnsafePickleError naming the opcode.
//
// Bounded: it runs in a loop (no recursion, so nesting costs no native stack), every length is
// checked against the bytes that remain before anything is allocated, and an estimate of the
// memory the objects take (stack, memo, containers, strings) is charged against `maxMemory`, so
// that memo and DUP bombs (a list appended to itself, millions of references to one object) stop
// with a named error instead of exhausting memory.
//
// Opcode semantics follow CPython's Lib/pickle.py (_Unpickler.load_*) and pickletools' table.

import { PthError, UnsafePickleError } from './errors.js';
import { build, isTuple, PyBytes, PyDict, PyGlobal, PySet, typeName } from './globals.js';

export interface UnpickleOptions {
  /** Resolves GLOBAL / STACK_GLOBAL; throws UnsafePickleError for a name outside the allowlist. */
  findGlobal(module: string, name: string): PyGlobal;
  /** BINPERSID: the object a persistent id stands for (in a checkpoint: a storage). */
  persistentLoad(pid: unknown): unknown;
  /** Most bytes of memory the unpickled objects may take, as estimated (maxPickleMemory). */
  maxMemory: number;
}

/**
 * Estimated V8 heap bytes (64-bit, no pointer compression), measured on Node 20 and rounded up: a
 * reference in a growing array (a stack or list slot), a small object (a tuple, a string header),
 * a list (its first push allocates 17 slots), a dict or set (a Map), a Map entry (dict items, the
 * memo), a boxed float, the result of an allowed call (a tensor, an OrderedDict). Objects are
 * charged when made and never credited back; stack slots are counted as they stand.
 */
const REF = 12;
const OBJECT = 64;
const LIST = 224;
const DICT = 288;
const ENTRY = 48;
const FLOAT = 32;
const CALL = 320;
/** GLOBAL's module and name lines: far longer than any Python qualified name. */
const MAX_LINE = 256;
/** LONG4: an integer of more bytes than this is no checkpoint's. */
const MAX_LONG_BYTES = 1024;

const REJECTED: Record<number, string> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x92: 'NEWOBJ_EX',
};
const UNSUPPORTED: Record<number, string> = {
  0x46: 'FLOAT', 0x49: 'INT', 0x4c: 'LONG', 0x50: 'PERSID', 0x53: 'STRING', 0x56: 'UNICODE', 0x67: 'GET', 0x70: 'PUT',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The pickle ends before its STOP opcode (the legacy reader then reads further into the file). */
export class TruncatedPickleError extends PthError {}

/**
 * Unpickles the pickle that starts at `start` in `b`. Returns the value, the offset just past its
 * STOP opcode (the legacy format holds several pickles back to back) and the memory estimate.
 */
export function unpickle(b: Uint8Array, start: number, opts: UnpickleOptions): { value: unknown; end: number; memory: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let p = start;
  let at = start; // the current opcode's offset, for messages
  let created = 0; // bytes of the objects made so far

  const fail = (msg: string) => new PthError(`pickle byte ${at}: ${msg}`);
  const memory = () => created + REF * (stack.length + marks.length);
  const charge = (n: number) => {
    created += n;
    if (memory() > opts.maxMemory) {
      throw fail(`the unpickled objects would take more than ${opts.maxMemory} bytes of memory (maxPickleMemory): a pickle bomb, or a checkpoint far larger than a state_dict`);
    }
  };
  const need = (n: number) => {
    if (n > b.byteLength - p) throw new TruncatedPickleError(`pickle byte ${at}: truncated: the opcode needs ${n} more bytes, ${b.byteLength - p} remain`);
  };
  const u8 = () => (need(1), b[p++]!);
  const u16 = () => (need(2), (p += 2), dv.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), dv.getUint32(p - 4, true));
  const i32 = () => (need(4), (p += 4), dv.getInt32(p - 4, true));
  const u64 = () => {
    need(8);
    const lo = dv.getUint32(p, true);
    const hi = dv.getUint32(p + 4, true);
    p += 8;
    return hi * 2 ** 32 + lo; // compared with the bytes left only, so rounding above 2^53 does not matter
  };
  const bytes = (n: number) => {
    need(n);
    p += n;
    return b.subarray(p - n, p);
  };
  const text = (n: number) => {
    need(n);
    charge(24 + 2 * n);
    try {
      return utf8.decode(bytes(n));
    } catch {
      throw fail('a string is not valid UTF-8');
    }
  };
  const binBytes = (n: number) => {
    need(n);
    charge(2 * OBJECT + n);
    return new PyBytes(bytes(n).slice());
  };
  const line = () => {
    const n = b.subarray(p, p + MAX_LINE + 1).indexOf(0x0a);
    if (n < 0) throw fail(`GLOBAL: no newline within ${MAX_LINE} bytes`);
    return text(n + 1).slice(0, -1);
  };

  const push = (v: unknown) => {
    stack.push(v);
    charge(0);
  };
  const floor = () => (marks.length ? marks[marks.length - 1]! : 0);
  const pop = (): unknown => {
    if (stack.length <= floor()) throw fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length <= floor()) throw fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw fail('no MARK to pop to');
    return stack.splice(m);
  };
  const tuple = (items: unknown[]) => {
    charge(OBJECT + REF * items.length);
    return Object.freeze(items);
  };
  const list = (): unknown[] => {
    const l = top();
    if (!Array.isArray(l) || isTuple(l)) throw fail(`APPEND to a ${typeName(l)}`);
    return l;
  };
  const dict = (): PyDict => {
    const d = top();
    if (!(d instanceof PyDict)) throw fail(`SETITEM on a ${typeName(d)}`);
    return d;
  };
  const setItem = (d: PyDict, k: unknown, v: unknown) => {
    if ((Array.isArray(k) && !isTuple(k)) || k instanceof PyDict || (k instanceof PySet && !k.frozen)) throw fail(`a dict key is a ${typeName(k)} (unhashable)`);
    if (!d.items.has(k)) charge(ENTRY);
    d.items.set(k, v);
  };
  const memoPut = (i: number) => {
    if (!memo.has(i)) charge(ENTRY);
    memo.set(i, top());
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) throw fail(`memo key ${i} is not defined`);
    push(memo.get(i));
  };
  const long = (n: number) => {
    const raw = bytes(n);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]!);
    if (raw[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const callArgs = (name: string): readonly unknown[] => {
    const args = pop();
    if (!isTuple(args)) throw fail(`${name}: the arguments are a ${typeName(args)}, not a tuple`);
    return args;
  };

  for (;;) {
    at = p;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) throw fail(`pickle protocol ${v} is newer than 5`);
        break;
      }
      case 0x95: u64(); break; // FRAME: framing is advisory
      case 0x2e: { // STOP
        const value = pop();
        if (stack.length || marks.length) throw fail(`STOP leaves ${stack.length} objects and ${marks.length} marks behind`);
        return { value, end: p, memory: created };
      }
      case 0x28: marks.push(stack.length); charge(0); break; // MARK
      case 0x30: if (stack.length > floor()) stack.pop(); else popMark(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(i32()); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: push(long(u8())); break; // LONG1
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0 || n > MAX_LONG_BYTES) throw fail(`LONG4 of ${n} bytes`);
        charge(OBJECT + n);
        push(long(n));
        break;
      }
      case 0x47: need(8); charge(FLOAT); push(dv.getFloat64(p, false)); p += 8; break; // BINFLOAT
      case 0x58: push(text(u32())); break; // BINUNICODE
      case 0x8c: push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: push(text(u64())); break; // BINUNICODE8
      case 0x54: { // BINSTRING (a Python 2 str; torch.load decodes it as UTF-8)
        const n = i32();
        if (n < 0) throw fail(`BINSTRING of negative length ${n}`);
        push(text(n));
        break;
      }
      case 0x55: push(text(u8())); break; // SHORT_BINSTRING
      case 0x42: push(binBytes(u32())); break; // BINBYTES
      case 0x43: push(binBytes(u8())); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: push(binBytes(u64())); break; // BINBYTES8, BYTEARRAY8
      case 0x5d: charge(LIST); push([]); break; // EMPTY_LIST
      case 0x7d: charge(DICT); push(new PyDict('dict')); break; // EMPTY_DICT
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x8f: charge(LIST); push(new PySet(false)); break; // EMPTY_SET
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const y = pop(); push(tuple([pop(), y])); break; } // TUPLE2
      case 0x87: { const z = pop(); const y = pop(); push(tuple([pop(), y, z])); break; } // TUPLE3
      case 0x74: push(tuple(popMark())); break; // TUPLE
      case 0x6c: { const items = popMark(); charge(LIST + REF * items.length); push(items); break; } // LIST
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2) throw fail('DICT with an odd number of items');
        const d = new PyDict('dict');
        charge(DICT);
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        push(d);
        break;
      }
      case 0x91: { // FROZENSET
        const s = new PySet(true);
        const items = popMark();
        charge(LIST + REF * items.length);
        for (const v of items) s.items.push(v);
        push(s);
        break;
      }
      case 0x61: { const v = pop(); charge(REF); list().push(v); break; } // APPEND
      case 0x65: { // APPENDS
        const items = popMark();
        const l = list();
        charge(REF * items.length);
        for (const v of items) l.push(v);
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItem(dict(), k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) throw fail('SETITEMS with an odd number of items');
        const d = dict();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet) || s.frozen) throw fail(`ADDITEMS to a ${typeName(s)}`);
        charge(REF * items.length);
        for (const v of items) s.items.push(v);
        break;
      }
      case 0x71: memoPut(u8()); break; // BINPUT
      case 0x72: memoPut(u32()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x68: memoGet(u8()); break; // BINGET
      case 0x6a: memoGet(u32()); break; // LONG_BINGET
      case 0x63: { const module = line(); push(opts.findGlobal(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail(`STACK_GLOBAL on a ${typeName(module)} and a ${typeName(name)}`);
        push(opts.findGlobal(module, name));
        break;
      }
      case 0x52: { // REDUCE: callable(*args)
        const args = callArgs('REDUCE');
        const f = pop();
        if (!(f instanceof PyGlobal) || !f.rules.call) throw new UnsafePickleError(`pickle byte ${at}: REDUCE (a call) on ${typeName(f)} is not allowed`);
        const v = f.rules.call(args);
        charge(CALL + (v instanceof PyBytes ? v.data.byteLength : 0));
        push(v);
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
        const args = callArgs('NEWOBJ');
        const cls = pop();
        if (!(cls instanceof PyGlobal) || !cls.rules.newobj) throw new UnsafePickleError(`pickle byte ${at}: NEWOBJ (creating an instance) of ${typeName(cls)} is not allowed`);
        charge(CALL);
        push(cls.rules.newobj(cls, args));
        break;
      }
      case 0x62: { const state = pop(); build(top(), state); break; } // BUILD
      case 0x51: { const pid = pop(); charge(CALL); push(opts.persistentLoad(pid)); break; } // BINPERSID
      default: {
        const hexOp = `0x${op.toString(16).padStart(2, '0')}`;
        if (REJECTED[op]) throw new UnsafePickleError(`pickle byte ${at}: opcode ${REJECTED[op]} (${hexOp}) would call into Python and is not allowed`);
        if (UNSUPPORTED[op]) throw fail(`opcode ${UNSUPPORTED[op]} (${hexOp}, protocol 0 text or out-of-band data) is not supported; torch.save writes protocol 2`);
        throw fail(`unknown opcode ${hexOp}`);
      }
    }
  }
}
