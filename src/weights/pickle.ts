/**
 * An allow-list unpickler: reads Python pickles (protocols 0–5, the opcodes `torch.save` and
 * `pickle.dump` emit) into inert JavaScript values. Nothing named in a pickle is imported or run.
 *
 * A pickle is a program for a stack machine whose instructions can name any Python callable
 * (GLOBAL `os system`) and call it (REDUCE). Here:
 *  - a GLOBAL becomes a `PyGlobal` (just the two names); one from a module that can run code or
 *    touch the system (os, subprocess, builtins' eval/exec/…, importlib, …) is refused outright;
 *  - calling a global (REDUCE / NEWOBJ / OBJ / INST) materializes a value only for the callables
 *    that state-dict checkpoints use (`ALLOWED_CALLS`, mapped to plain data); any other call
 *    becomes an `Opaque` placeholder that records what would have been called. Callers refuse it
 *    when it sits on the path to the tensors (checkpoint.ts) and ignore it elsewhere;
 *  - persistent ids (BINPERSID, how torch refers to tensor storages) go to the caller's
 *    `persistentLoad`, which returns inert data too.
 * Every length, memo index and stack access is checked against the input; the machine is a loop
 * (no recursion), so hostile nesting cannot overflow the JS stack, and no opcode spreads a
 * file-controlled array into a call's arguments (a 300k-item APPENDS would overflow it).
 *
 * Work is budgeted against the pickle's size. A pickle can amplify: one byte (`}`) makes a dict, and
 * a few bytes pass a memoized million-element container to a call that copies it (`builtins.set`,
 * `_codecs.encode`, `collections.OrderedDict`) as often as they are repeated. Every value built,
 * every element put into a container and every element a call reads or returns is charged its
 * estimated heap size (`cost`); past `VALUE_BYTES_PER_BYTE` × the pickle's length + `VALUE_BYTES_BASE`
 * the pickle is refused in one line. torch's own pickles (fixtures/pth) build 8–11 estimated bytes
 * per byte, so the limit (32 per byte, and 16 MiB for any pickle) stays well clear of them.
 */

/** Text from a file made safe for a one-line message: control characters escaped, length capped. */
export function printable(s: string, max = 4000): string {
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

export class PickleError extends Error {
  constructor(message: string) { super(printable(message)); }
}

export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string { return `${this.module}.${this.name}`; }
}
/** A Python tuple (kept apart from lists so that keys and arguments stay recognizable). */
export class PyTuple { constructor(readonly items: PyValue[]) {} }
/** A dict: insertion order kept (Python's), keys compared by value for str / int / bool / None. */
export class PyDict {
  // both maps are made on first use: an empty dict (torch pickles one per tensor) stays small
  private entries: Map<unknown, PyValue> | null = null;
  private attrMap: Map<string, PyValue> | null = null;
  constructor(readonly kind = 'dict') {}
  get map(): Map<unknown, PyValue> { return (this.entries ??= new Map()); }
  /** Attributes set by BUILD (e.g. OrderedDict's `_metadata`, a Namespace's fields). */
  get attrs(): Map<string, PyValue> { return (this.attrMap ??= new Map()); }
  /** Entries and attributes, without making either map. */
  get size(): number { return (this.entries?.size ?? 0) + (this.attrMap?.size ?? 0); }
  get(k: string): PyValue | undefined { return this.entries?.get(k); }
}
/** The inert stand-in for a call vitx does not perform. */
export class Opaque { constructor(readonly call: string) {} }
export class PyBytes { constructor(readonly data: Uint8Array) {} }
/** numpy.dtype('<f8') and friends (numpy scalars in training checkpoints: metrics, amp scale). */
export class NumpyDtype { constructor(public str: string, public order = '<') {} }

export type PyValue = null | boolean | number | bigint | string | PyBytes | PyValue[] | PyTuple | PyDict | PyGlobal | Opaque | NumpyDtype | object;

/** Modules whose mere mention is refused (they can execute code or reach the system). */
const DENIED_MODULES = /^(os|posix|nt|subprocess|sys|importlib|shutil|socket|pty|runpy|pickle|_pickle|marshal|ctypes|code|codeop|webbrowser|multiprocessing|asyncio|types|operator|functools|inspect|platform|signal|tempfile|io|_io|commands|popen2|timeit|pdb|bdb|threading|_thread|ftplib|http|urllib|requests|smtplib|telnetlib|zipimport|pkgutil|torch\.hub|torch\.utils\.cpp_extension)(\.|$)/;
const DENIED_BUILTINS = new Set(['eval', 'exec', 'compile', 'open', '__import__', 'getattr', 'setattr', 'delattr', 'globals', 'locals', 'vars', 'input', 'breakpoint', 'exit', 'quit', 'help', 'memoryview', 'type', 'object', 'super', 'classmethod', 'staticmethod', 'property', 'apply', 'execfile', 'reload', 'file']);

function isDenied(module: string, name: string): boolean {
  if (DENIED_MODULES.test(module)) return true;
  if (module === 'builtins' || module === '__builtin__') return DENIED_BUILTINS.has(name) || name.startsWith('_');
  return name.startsWith('__') && name !== '__newobj__';
}

export type CallHandler = (args: PyValue[], kw?: PyDict) => PyValue;

export interface UnpickleOptions {
  /** What the pickle names (for messages). */
  what: string;
  /** Materializes allowed calls; a global missing here becomes `Opaque`. Keys: `module.name`. */
  calls: ReadonlyMap<string, CallHandler>;
  /** Resolves a persistent id (torch storages). Absent: persistent ids are refused. */
  persistentLoad?: (pid: PyValue) => PyValue;
  /** Upper bound on opcodes executed (default: 8 per input byte + 1000). */
  maxOps?: number;
  /** Upper bound on the estimated heap bytes of what the pickle builds (default: see `valueBudget`). */
  maxValueBytes?: number;
}

/** Estimated heap bytes the values of a pickle may take per byte of pickle, and in any case. */
export const VALUE_BYTES_PER_BYTE = 32;
export const VALUE_BYTES_BASE = 16 * 2 ** 20;

/** The default budget for a pickle of `length` bytes. */
export function valueBudget(length: number): number {
  return VALUE_BYTES_PER_BYTE * length + VALUE_BYTES_BASE;
}

/**
 * Estimated heap bytes of a value's own cells (what it references is charged where it was built):
 * V8's sizes rounded up — a slot 8, an array 32 + 8 per element, a Map about 160 + 48 per entry
 * (a dict makes its Map on first use).
 */
export function cost(v: PyValue): number {
  if (typeof v === 'string') return 16 + v.length;
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? 32 : 8;
  if (Array.isArray(v)) return 32 + 8 * v.length;
  if (v instanceof PyTuple) return 48 + 8 * v.items.length;
  if (v instanceof PyDict) return 48 + (v.size ? 160 + 48 * v.size : 0);
  if (v instanceof PyBytes) return 64 + v.data.byteLength;
  return 64;
}

/** What a call may read of a value: its elements (8 per slot, 48 per dict entry) or characters/bytes. */
function readCost(v: PyValue): number {
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return 8 * v.length;
  if (v instanceof PyTuple) return 8 * v.items.length;
  if (v instanceof PyDict) return 48 * v.size;
  if (v instanceof PyBytes) return v.data.byteLength;
  return 0;
}

const MARK = Symbol('mark');
type Slot = PyValue | typeof MARK;

function keyOf(k: PyValue): unknown {
  if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean' || typeof k === 'bigint') return k;
  if (k instanceof PyTuple && k.items.every((x) => typeof x === 'string' || typeof x === 'number')) return `\u0000tuple:${JSON.stringify(k.items)}`;
  return k;
}

/** Sets dict[k] = v with Python's key equality for the scalar keys checkpoints use. */
export function dictSet(d: PyDict, k: PyValue, v: PyValue): void { d.map.set(keyOf(k), v); }

export function unpickle(bytes: Uint8Array, o: UnpickleOptions): PyValue {
  return new Machine(bytes, o).run();
}

class Machine {
  private p = 0;
  private stack: Slot[] = [];
  private marks: number[] = [];
  private memo = new Map<number, PyValue>();
  private readonly dv: DataView;
  private readonly text = new TextDecoder('utf-8', { fatal: true });
  private readonly latin1 = new TextDecoder('latin1');
  /** Estimated heap bytes built so far, and the most allowed. */
  private spent = 0;
  private readonly budget: number;

  constructor(private readonly b: Uint8Array, private readonly o: UnpickleOptions) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.budget = o.maxValueBytes ?? valueBudget(b.byteLength);
  }

  private fail(msg: string): never { throw new PickleError(`${this.o.what}: ${msg}`); }

  /** Charges `bytes` of estimated work against the budget (see the header). */
  private charge(bytes: number): void {
    this.spent += bytes;
    if (this.spent > this.budget) {
      this.fail(`the pickle builds more than ${(this.budget / 2 ** 20).toFixed(0)} MB of values from its ${this.b.byteLength} bytes (containers made or copied over and over, at byte ${this.p - 1}); torch's own pickles build about 10 bytes per byte: refused`);
    }
  }

  private need(n: number): number {
    if (n < 0 || this.p + n > this.b.byteLength) this.fail(`truncated pickle (needs ${n} bytes at byte ${this.p}, ${this.b.byteLength - this.p} left)`);
    const at = this.p;
    this.p += n;
    return at;
  }
  private u8(): number { return this.b[this.need(1)]!; }
  private u16(): number { return this.dv.getUint16(this.need(2), true); }
  private i32(): number { return this.dv.getInt32(this.need(4), true); }
  private u32(): number { return this.dv.getUint32(this.need(4), true); }
  private u64(): number {
    const v = this.dv.getBigUint64(this.need(8), true);
    if (v > BigInt(this.b.byteLength)) this.fail(`length ${v} is beyond the pickle's ${this.b.byteLength} bytes`);
    return Number(v);
  }
  private raw(n: number): Uint8Array { const at = this.need(n); return this.b.subarray(at, at + n); }
  private utf8(n: number): string {
    const r = this.raw(n);
    try { return this.text.decode(r); } catch { return this.fail(`string at byte ${this.p - n} is not valid UTF-8`); }
  }
  private line(): string {
    const start = this.p;
    const nl = this.b.indexOf(0x0a, start);
    if (nl < 0) this.fail(`truncated pickle (unterminated text argument at byte ${start})`);
    this.p = nl + 1;
    return this.latin1.decode(this.b.subarray(start, nl));
  }

  /** Pushes a reference to a value already paid for (memo, DUP, a popped value). */
  private push(v: PyValue): void { this.charge(8); this.stack.push(v); }
  /** Pushes a value just built, charged its own size. */
  private fresh(v: PyValue): void { this.charge(cost(v)); this.stack.push(v); }
  /** Appends `items` to list `l`, one by one (a spread of 300k arguments overflows the JS stack). */
  private extend(l: PyValue[], items: readonly PyValue[]): void {
    this.charge(8 * items.length);
    for (const x of items) l.push(x);
  }
  /** dict[k] = v, charged a Map entry (and a tuple key's elements, which keyOf reads). */
  private setItem(d: PyDict, k: PyValue, v: PyValue): void {
    this.charge(48 + (k instanceof PyTuple ? 8 * k.items.length : 0));
    dictSet(d, k, v);
  }
  private pop(): PyValue {
    const base = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= base) this.fail(`stack underflow at byte ${this.p - 1}`);
    return this.stack.pop() as PyValue;
  }
  private top(): PyValue {
    const base = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= base) this.fail(`stack underflow at byte ${this.p - 1}`);
    return this.stack[this.stack.length - 1] as PyValue;
  }
  private popMark(): PyValue[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail(`no mark on the stack at byte ${this.p - 1}`);
    return this.stack.splice(m) as PyValue[];
  }
  private memoGet(i: number): PyValue {
    if (!this.memo.has(i)) this.fail(`memo index ${i} was never stored`);
    return this.memo.get(i)!;
  }
  private memoPut(i: number): void {
    if (this.memo.size > this.b.byteLength) this.fail('memo larger than the pickle');
    this.charge(48);
    this.memo.set(i, this.top());
  }

  private global(module: string, name: string): PyGlobal {
    if (isDenied(module, name)) this.fail(`refuses to load ${module}.${name}: a checkpoint has no reason to name it, and vitx never runs code from a file`);
    return new PyGlobal(module, name);
  }

  private call(fn: PyValue, args: PyValue, kw?: PyDict): PyValue {
    if (!(fn instanceof PyGlobal)) return new Opaque(fn instanceof Opaque ? `${fn.call}(…)(…)` : 'a non-global callable');
    const argv = args instanceof PyTuple ? args.items : Array.isArray(args) ? args : null;
    if (argv === null) return new Opaque(fn.qualified);
    const h = this.o.calls.get(fn.qualified);
    if (!h) return new Opaque(fn.qualified);
    // a handler reads its arguments and builds its result: both are charged (a memoized big
    // container passed to a copying call again and again is the amplification this bounds)
    let read = 0;
    for (const a of argv) read += readCost(a);
    if (kw) read += readCost(kw);
    this.charge(read);
    return h(argv, kw); // its result is charged as it is pushed
  }

  private build(obj: PyValue, state: PyValue): void {
    // Only plain data objects take state: a dict's attributes (OrderedDict._metadata, Namespace fields)
    if (!(obj instanceof PyDict)) {
      if (obj instanceof NumpyDtype && state instanceof PyTuple && typeof state.items[1] === 'string') obj.order = state.items[1];
      return;
    }
    let s = state;
    if (s instanceof PyTuple && s.items.length === 2) s = s.items[0] ?? null; // (dict_state, slot_state)
    if (!(s instanceof PyDict)) return;
    this.charge(readCost(s)); // copied entry by entry
    for (const [k, v] of s.map) if (typeof k === 'string') obj.attrs.set(k, v);
  }

  run(): PyValue {
    const maxOps = this.o.maxOps ?? this.b.byteLength * 8 + 1000;
    for (let ops = 0; ops < maxOps; ops++) {
      if (this.p >= this.b.byteLength) this.fail('truncated pickle (no STOP opcode)');
      const op = this.u8();
      switch (op) {
        case 0x80: { const v = this.u8(); if (v > 5) this.fail(`unsupported pickle protocol ${v}`); break; } // PROTO
        case 0x95: this.need(8); break; // FRAME (length ignored: we read the whole buffer)
        case 0x2e: { // STOP
          const v = this.pop();
          return v;
        }
        case 0x28: this.marks.push(this.stack.length); break; // MARK
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x30: this.pop(); break; // POP
        case 0x32: this.push(this.top()); break; // DUP
        // --- scalars
        case 0x4e: this.fresh(null); break; // NONE
        case 0x88: this.fresh(true); break; // NEWTRUE
        case 0x89: this.fresh(false); break; // NEWFALSE
        case 0x4b: this.fresh(this.u8()); break; // BININT1
        case 0x4d: this.fresh(this.u16()); break; // BININT2
        case 0x4a: this.fresh(this.i32()); break; // BININT
        case 0x8a: this.fresh(this.long(this.u8())); break; // LONG1
        case 0x8b: { const n = this.i32(); if (n < 0) this.fail('negative LONG4 length'); this.fresh(this.long(n)); break; } // LONG4
        case 0x47: this.fresh(this.dv.getFloat64(this.need(8), false)); break; // BINFLOAT (big-endian)
        case 0x49: this.fresh(this.textInt(this.line())); break; // INT
        case 0x4c: this.fresh(this.textInt(this.line().replace(/L$/, ''))); break; // LONG
        case 0x46: { const s = this.line(); const v = Number(s); if (Number.isNaN(v) && !/nan/i.test(s)) this.fail(`bad FLOAT ${JSON.stringify(s.slice(0, 20))}`); this.fresh(v); break; } // FLOAT
        // --- strings and bytes
        case 0x58: this.fresh(this.utf8(this.u32())); break; // BINUNICODE
        case 0x8c: this.fresh(this.utf8(this.u8())); break; // SHORT_BINUNICODE
        case 0x8d: this.fresh(this.utf8(this.u64())); break; // BINUNICODE8
        case 0x55: this.fresh(this.latin1.decode(this.raw(this.u8()))); break; // SHORT_BINSTRING
        case 0x54: { const n = this.i32(); if (n < 0) this.fail('negative BINSTRING length'); this.fresh(this.latin1.decode(this.raw(n))); break; } // BINSTRING
        case 0x43: this.fresh(new PyBytes(this.raw(this.u8()))); break; // SHORT_BINBYTES
        case 0x42: this.fresh(new PyBytes(this.raw(this.u32()))); break; // BINBYTES
        case 0x8e: this.fresh(new PyBytes(this.raw(this.u64()))); break; // BINBYTES8
        case 0x96: this.fresh(new PyBytes(this.raw(this.u64()))); break; // BYTEARRAY8
        case 0x56: this.fresh(this.line()); break; // UNICODE (raw-unicode-escape; checkpoints' names are ASCII)
        case 0x53: this.fresh(this.line().replace(/^(['"])(.*)\1$/, '$2')); break; // STRING
        // --- containers
        case 0x29: this.fresh(new PyTuple([])); break; // EMPTY_TUPLE
        case 0x85: this.fresh(new PyTuple([this.pop()])); break; // TUPLE1
        case 0x86: { const b = this.pop(), a = this.pop(); this.fresh(new PyTuple([a, b])); break; } // TUPLE2
        case 0x87: { const c = this.pop(), b = this.pop(), a = this.pop(); this.fresh(new PyTuple([a, b, c])); break; } // TUPLE3
        case 0x74: this.fresh(new PyTuple(this.popMark())); break; // TUPLE
        case 0x5d: this.fresh([]); break; // EMPTY_LIST
        case 0x6c: this.fresh(this.popMark()); break; // LIST
        case 0x7d: this.fresh(new PyDict()); break; // EMPTY_DICT
        case 0x64: { const items = this.popMark(); const d = new PyDict(); this.setItems(d, items); this.fresh(d); break; } // DICT
        case 0x8f: this.fresh([]); break; // EMPTY_SET (a list: sets are never on the tensor path)
        case 0x91: this.fresh(this.popMark()); break; // FROZENSET
        case 0x90: { const items = this.popMark(); const s = this.top(); if (Array.isArray(s)) this.extend(s, items); break; } // ADDITEMS
        case 0x61: { const v = this.pop(); const l = this.top(); if (Array.isArray(l)) this.extend(l, [v]); else this.fail(`APPEND to a non-list at byte ${this.p - 1}`); break; } // APPEND
        case 0x65: { const items = this.popMark(); const l = this.top(); if (Array.isArray(l)) this.extend(l, items); else this.fail(`APPENDS to a non-list at byte ${this.p - 1}`); break; } // APPENDS
        case 0x73: { const v = this.pop(), k = this.pop(); const d = this.top(); if (d instanceof PyDict) this.setItem(d, k, v); else if (!(d instanceof Opaque)) this.fail(`SETITEM on a non-dict at byte ${this.p - 1}`); break; } // SETITEM
        case 0x75: { const items = this.popMark(); const d = this.top(); if (d instanceof PyDict) this.setItems(d, items); else if (!(d instanceof Opaque)) this.fail(`SETITEMS on a non-dict at byte ${this.p - 1}`); break; } // SETITEMS
        // --- memo
        case 0x71: this.memoPut(this.u8()); break; // BINPUT
        case 0x72: this.memoPut(this.u32()); break; // LONG_BINPUT
        case 0x94: this.memoPut(this.memo.size); break; // MEMOIZE
        case 0x70: this.memoPut(this.textInt(this.line())); break; // PUT
        case 0x68: this.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: this.push(this.memoGet(this.u32())); break; // LONG_BINGET
        case 0x67: this.push(this.memoGet(this.textInt(this.line()))); break; // GET
        // --- globals, calls, objects
        case 0x63: { const m = this.line(), n = this.line(); this.fresh(this.global(m, n)); break; } // GLOBAL
        case 0x93: { const n = this.pop(), m = this.pop(); if (typeof m !== 'string' || typeof n !== 'string') this.fail('STACK_GLOBAL needs two strings'); this.fresh(this.global(m, n)); break; } // STACK_GLOBAL
        case 0x52: { const args = this.pop(), fn = this.pop(); this.fresh(this.call(fn, args)); break; } // REDUCE
        case 0x81: { const args = this.pop(), cls = this.pop(); this.fresh(this.call(cls, args)); break; } // NEWOBJ
        case 0x92: { const kw = this.pop(), args = this.pop(), cls = this.pop(); this.fresh(this.call(cls, args, kw instanceof PyDict ? kw : undefined)); break; } // NEWOBJ_EX
        case 0x6f: { const items = this.popMark(); const cls = items.shift() ?? null; this.fresh(this.call(cls, new PyTuple(items))); break; } // OBJ
        case 0x69: { const m = this.line(), n = this.line(); const items = this.popMark(); this.fresh(this.call(this.global(m, n), new PyTuple(items))); break; } // INST
        case 0x62: { const state = this.pop(); this.build(this.top(), state); break; } // BUILD
        case 0x51: { const pid = this.pop(); this.push(this.persistent(pid)); break; } // BINPERSID
        case 0x50: this.push(this.persistent(this.line())); break; // PERSID
        case 0x82: case 0x83: case 0x84: this.fail(`refuses extension-registry opcode 0x${op.toString(16)} (EXT): it names code by a registered number`); break;
        case 0x97: this.fail('refuses out-of-band buffers (NEXT_BUFFER)'); break;
        case 0x98: break; // READONLY_BUFFER
        default: this.fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${this.p - 1}`);
      }
    }
    return this.fail(`pickle runs more than ${maxOps} opcodes`);
  }

  private setItems(d: PyDict, items: PyValue[]): void {
    if (items.length % 2) this.fail(`odd number of dict items at byte ${this.p - 1}`);
    for (let i = 0; i < items.length; i += 2) this.setItem(d, items[i]!, items[i + 1]!);
  }

  private persistent(pid: PyValue): PyValue {
    if (!this.o.persistentLoad) this.fail('refuses a persistent id: this pickle is not a torch checkpoint');
    return this.o.persistentLoad(pid);
  }

  /** Little-endian two's-complement integer of n bytes (LONG1 / LONG4). */
  private long(n: number): number | bigint {
    const r = this.raw(n);
    if (n === 0) return 0;
    if (n > 64) this.fail(`integer of ${n} bytes is too large`);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(r[i]!);
    if (r[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private textInt(s: string): number {
    if (s === '00') return 0; // False in protocol 0
    if (s === '01') return 1; // True
    if (!/^-?\d{1,15}$/.test(s)) this.fail(`bad integer ${JSON.stringify(s.slice(0, 20))}`);
    return Number(s);
  }
}

/** Integer value of a pickled int (number or bigint) when it fits a safe JS integer, else null. */
export function asInt(v: PyValue): number | null {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}
