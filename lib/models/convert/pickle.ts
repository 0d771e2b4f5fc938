/**
 * A minimal, safe reader for Python pickles (protocol 2, the subset `torch.save` writes). It never runs code: a GLOBAL
 * is looked up in the caller's table of known names and anything else is refused, REDUCE and BUILD only call what
 * that table returned, and a persistent id is handed to the caller's `persistentLoad`.
 */

/** A Python tuple; lists are plain arrays. */
export class PickleTuple {
  constructor(readonly items: unknown[]) {}
}

/** A Python dict (or OrderedDict): insertion-ordered, with the attributes a BUILD set on it. */
export class PickleDict {
  readonly entries = new Map<unknown, unknown>();
  readonly attributes = new Map<string, unknown>();
}

/** What a GLOBAL may resolve to: something REDUCE can call with the pickled arguments. */
export interface PickleCallable {
  readonly pickleName: string;
  call(args: unknown[]): unknown;
}

export interface PickleHooks {
  /** The value for `module.name`, or undefined to refuse it. */
  global(module: string, name: string): unknown;
  /** The object a persistent id (BINPERSID) stands for. */
  persistentLoad(pid: unknown): unknown;
}

export class PickleError extends Error {
  override name = 'PickleError';
}

/** Opcode bytes, named as in CPython's pickletools. */
const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  BINFLOAT: 0x47, // G
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  BINUNICODE: 0x58, // X
  EMPTY_LIST: 0x5d, // ]
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  APPENDS: 0x65, // e
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  SETITEMS: 0x75, // u
  EMPTY_DICT: 0x7d, // }
  EMPTY_TUPLE: 0x29, // )
  PROTO: 0x80,
  LONG1: 0x8a,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  SHORT_BINUNICODE: 0x8c,
} as const;

const OPCODE_NAMES = new Map<number, string>(Object.entries(OP).map(([name, code]) => [code, name]));

/** Marks the start of a MARK ... TUPLE/SETITEMS/APPENDS group on the stack. */
const MARK = Symbol('mark');

/** Python's ints: a number when it is exactly representable, else a bigint. */
function intValue(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function describe(value: unknown): string {
  if (value === null) return 'None';
  if (value instanceof PickleTuple) return 'a tuple';
  if (value instanceof PickleDict) return 'a dict';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value && 'pickleName' in value) return String(value.pickleName);
  return typeof value;
}

/**
 * Runs one pickle starting at `offset` (its PROTO opcode) up to and including STOP; returns the value and the
 * offset just after STOP, where the next pickle of a stream starts.
 */
export function unpickle(bytes: Uint8Array, offset: number, hooks: PickleHooks): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let at = offset;
  let opAt = offset;
  let opName = '';

  const fail = (message: string): never => {
    throw new PickleError(`pickle at byte ${offset}: ${opName} at byte ${opAt}: ${message}`);
  };
  const need = (count: number) => {
    if (at + count > bytes.length) {
      throw new PickleError(
        `pickle at byte ${offset}: the data ends inside ${opName || 'a pickle'} at byte ${opAt} (truncated file?)`,
      );
    }
  };
  const u8 = () => {
    need(1);
    return bytes[at++]!;
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(at, true);
    at += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(at, true);
    at += 4;
    return v;
  };
  const utf8 = (length: number) => {
    need(length);
    try {
      const value = text.decode(bytes.subarray(at, at + length));
      at += length;
      return value;
    } catch {
      return fail('the string is not valid UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) need(bytes.length - at + 1);
    const value = Buffer.from(bytes.subarray(at, end)).toString('latin1');
    at = end + 1;
    return value;
  };
  const pop = () => {
    if (stack.length === 0) fail('the stack is empty');
    const value = stack.pop();
    if (value === MARK) fail('unexpected MARK on the stack');
    return value;
  };
  const top = () => {
    const value = stack.at(-1);
    if (stack.length === 0 || value === MARK) fail('the stack is empty');
    return value;
  };
  const popMark = () => {
    const mark = stack.lastIndexOf(MARK);
    if (mark < 0) fail('no MARK on the stack');
    const items = stack.splice(mark);
    items.shift();
    return items;
  };
  const dictAt = (value: unknown): PickleDict =>
    value instanceof PickleDict ? value : fail(`cannot set items on ${describe(value)}`);
  const listAt = (value: unknown): unknown[] =>
    Array.isArray(value) ? value : fail(`cannot append to ${describe(value)}`);
  const memoGet = (index: number) => (memo.has(index) ? memo.get(index) : fail(`memo entry ${index} was never set`));

  for (;;) {
    opAt = at;
    opName = '';
    const op = u8();
    opName = OPCODE_NAMES.get(op) ?? `opcode 0x${op.toString(16).padStart(2, '0')}`;
    switch (op) {
      case OP.PROTO: {
        const protocol = u8();
        if (protocol > 2) fail(`protocol ${protocol} is not supported (2 at most, as torch.save writes)`);
        break;
      }
      case OP.STOP:
        if (stack.length !== 1) fail(`${stack.length} values on the stack at STOP, expected 1`);
        return { value: stack[0], end: at };
      case OP.MARK:
        stack.push(MARK);
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT1:
        stack.push(u8());
        break;
      case OP.BININT2:
        stack.push(u16());
        break;
      case OP.BININT:
        stack.push(u32() | 0);
        break;
      case OP.LONG1: {
        const length = u8();
        need(length);
        let value = 0n;
        for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i]!);
        if (length > 0 && bytes[at + length - 1]! >= 0x80) value -= 1n << BigInt(8 * length);
        at += length;
        stack.push(intValue(value));
        break;
      }
      case OP.BINFLOAT: {
        need(8);
        stack.push(view.getFloat64(at, false));
        at += 8;
        break;
      }
      case OP.BINUNICODE:
        stack.push(utf8(u32()));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(utf8(u8()));
        break;
      case OP.EMPTY_TUPLE:
        stack.push(new PickleTuple([]));
        break;
      case OP.TUPLE1:
        stack.push(new PickleTuple([pop()]));
        break;
      case OP.TUPLE2: {
        const b = pop();
        stack.push(new PickleTuple([pop(), b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop();
        const b = pop();
        stack.push(new PickleTuple([pop(), b, c]));
        break;
      }
      case OP.TUPLE:
        stack.push(new PickleTuple(popMark()));
        break;
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.APPEND: {
        const value = pop();
        listAt(top()).push(value);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        listAt(top()).push(...items);
        break;
      }
      case OP.EMPTY_DICT:
        stack.push(new PickleDict());
        break;
      case OP.SETITEM: {
        const value = pop();
        const key = pop();
        dictAt(top()).entries.set(key, value);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        if (items.length % 2 !== 0) fail('an odd number of keys and values');
        const dict = dictAt(top());
        for (let i = 0; i < items.length; i += 2) dict.entries.set(items[i], items[i + 1]);
        break;
      }
      case OP.BINPUT:
        memo.set(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(u32(), top());
        break;
      case OP.BINGET:
        stack.push(memoGet(u8()));
        break;
      case OP.LONG_BINGET:
        stack.push(memoGet(u32()));
        break;
      case OP.GLOBAL: {
        const module = line();
        const name = line();
        const value = hooks.global(module, name);
        if (value === undefined)
          fail(`refusing to load ${module}.${name}: it is not one of the names this reader knows`);
        stack.push(value);
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const callable = pop();
        if (!(args instanceof PickleTuple)) fail(`the arguments are ${describe(args)}, not a tuple`);
        const fn = callable as Partial<PickleCallable> | null;
        if (typeof fn?.call !== 'function' || typeof fn.pickleName !== 'string')
          fail(`${describe(callable)} is not callable`);
        stack.push((fn as PickleCallable).call((args as PickleTuple).items));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const target = top();
        // Only a dict's instance attributes (e.g. a state dict's _metadata) are set; nothing else is built.
        if (!(target instanceof PickleDict)) fail(`cannot BUILD ${describe(target)}`);
        if (!(state instanceof PickleDict)) fail(`the state is ${describe(state)}, not a dict`);
        for (const [key, value] of (state as PickleDict).entries) {
          (target as PickleDict).attributes.set(String(key), value);
        }
        break;
      }
      case OP.BINPERSID:
        stack.push(hooks.persistentLoad(pop()));
        break;
      default:
        fail('this opcode is not supported by the reader');
    }
  }
}
