/**
 * A minimal unpickler for numpy arrays saved with pickle.dump (protocols 2-5), as the AVE
 * community stores its Audio-1004-SE/<id>.pkl spectrograms. It interprets the opcodes that
 * such files use and only resolves the globals needed to rebuild arrays; anything else is an
 * error with a conversion hint. It never executes code.
 */
import { DataError } from '../errors.js';
import { decodeElements, fortranToC, sizeOf, type NdArray } from './ndarray.js';

const CONVERT_HINT =
  'only pickled numpy arrays are supported; convert with: python3 -c "import pickle,numpy as np,sys; np.save(sys.argv[2], np.asarray(pickle.load(open(sys.argv[1],\'rb\'))))" in.pkl out.npy';

class Global {
  constructor(readonly name: string) {}
}
class Dtype {
  constructor(
    public descr: string,
    public byteOrder = '<',
  ) {}
}
/** An ndarray under construction: numpy rebuilds it with _reconstruct(...) then __setstate__(state). */
class PendingArray {
  result: NdArray | null = null;
}

const ALLOWED = new Set([
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.ndarray',
  'numpy.dtype',
  '_codecs.encode',
  'numpy.core.numeric._frombuffer',
  'numpy._core.numeric._frombuffer',
]);

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Uint8Array.from(v, (c) => c.charCodeAt(0)); // py2 str / latin-1
  throw new Error('array payload is not bytes');
}

function makeArray(dtype: Dtype, shape: number[], fortran: boolean, raw: unknown): NdArray {
  if (!(dtype instanceof Dtype)) throw new Error('array dtype is not a numpy dtype');
  if (dtype.descr === 'O') throw new Error('object arrays are not supported');
  const order = dtype.byteOrder === '|' || dtype.byteOrder === '=' ? '<' : dtype.byteOrder;
  const data = decodeElements(toBytes(raw), order + dtype.descr, sizeOf(shape));
  return { dtype: dtype.descr, shape, data: fortran ? fortranToC(data, shape) : data };
}

function call(fn: Global, args: unknown[]): unknown {
  switch (fn.name) {
    case '_codecs.encode': // protocol 2 stores bytes as _codecs.encode(text, 'latin1')
      return toBytes(args[0]);
    case 'numpy.dtype': {
      const code = String(args[0]);
      return new Dtype(code.length === 1 ? code : code.replace(/^[<>|=]/, ''));
    }
    case 'numpy.core.multiarray._reconstruct':
    case 'numpy._core.multiarray._reconstruct':
      return new PendingArray();
    case 'numpy.core.numeric._frombuffer': // protocol 5: _frombuffer(buffer, dtype, shape, order)
    case 'numpy._core.numeric._frombuffer':
      return makeArray(args[1] as Dtype, (args[2] as number[]).map(Number), args[3] === 'F', args[0]);
    default:
      throw new Error(`cannot call ${fn.name}`);
  }
}

function build(obj: unknown, state: unknown): unknown {
  if (obj instanceof Dtype && Array.isArray(state)) {
    obj.byteOrder = String(state[1]);
    return obj;
  }
  if (obj instanceof PendingArray && Array.isArray(state)) {
    // state = (version, shape, dtype, is_fortran, rawdata)
    const [, shape, dtype, fortran, raw] = state as [number, number[], Dtype, boolean, unknown];
    obj.result = makeArray(dtype, shape.map(Number), Boolean(fortran), raw);
    return obj;
  }
  throw new Error('unsupported BUILD in pickle');
}

/** Unpickles `bytes`; numpy arrays become NdArray, tuples/lists arrays, dicts Maps. */
export function unpickle(bytes: Uint8Array, file: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8');
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > bytes.length) throw new Error('truncated pickle');
  };
  const u8 = (): number => (need(1), bytes[pos++]);
  const u16 = (): number => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = (): number => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const u64 = (): number => (need(8), (pos += 8), Number(view.getBigUint64(pos - 8, true)));
  const take = (n: number): Uint8Array => (need(n), (pos += n), bytes.slice(pos - n, pos));
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new Error('truncated pickle');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw new Error('pickle MARK missing');
    return stack.splice(m);
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw new Error('pickle stack underflow');
    return stack.pop();
  };
  const global = (name: string): Global => {
    if (!ALLOWED.has(name)) throw new Error(`unsupported global ${name} in pickle`);
    return new Global(name);
  };
  const unwrap = (v: unknown): unknown => (v instanceof PendingArray ? v.result : v);
  try {
    for (;;) {
      const op = u8();
      switch (op) {
        case 0x80: // PROTO
          u8();
          break;
        case 0x95: // FRAME (length is informational)
          u64();
          break;
        case 0x2e: // STOP
          return deepUnwrap(pop(), unwrap);
        case 0x28: // MARK
          marks.push(stack.length);
          break;
        case 0x63: {
          // GLOBAL "module\nname\n"
          const mod = line();
          stack.push(global(`${mod}.${line()}`));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = pop();
          const mod = pop();
          stack.push(global(`${String(mod)}.${String(name)}`));
          break;
        }
        case 0x71: // BINPUT
          memo.set(u8(), stack[stack.length - 1]);
          break;
        case 0x72: // LONG_BINPUT
          memo.set(u32(), stack[stack.length - 1]);
          break;
        case 0x94: // MEMOIZE
          memo.set(memo.size, stack[stack.length - 1]);
          break;
        case 0x68: // BINGET
          stack.push(memo.get(u8()));
          break;
        case 0x6a: // LONG_BINGET
          stack.push(memo.get(u32()));
          break;
        case 0x4e: // NONE
          stack.push(null);
          break;
        case 0x88: // NEWTRUE
          stack.push(true);
          break;
        case 0x89: // NEWFALSE
          stack.push(false);
          break;
        case 0x4b: // BININT1
          stack.push(u8());
          break;
        case 0x4d: // BININT2
          stack.push(u16());
          break;
        case 0x4a: // BININT
          need(4);
          pos += 4;
          stack.push(view.getInt32(pos - 4, true));
          break;
        case 0x8a: {
          // LONG1
          const n = u8();
          const b = take(n);
          let v = 0n;
          for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
          if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
          stack.push(Number(v));
          break;
        }
        case 0x47: // BINFLOAT (big-endian)
          need(8);
          pos += 8;
          stack.push(view.getFloat64(pos - 8, false));
          break;
        case 0x58: // BINUNICODE
          stack.push(utf8.decode(take(u32())));
          break;
        case 0x8c: // SHORT_BINUNICODE
          stack.push(utf8.decode(take(u8())));
          break;
        case 0x8d: // BINUNICODE8
          stack.push(utf8.decode(take(u64())));
          break;
        case 0x55: // SHORT_BINSTRING (py2 str)
          stack.push(latin1.decode(take(u8())));
          break;
        case 0x54: // BINSTRING
          stack.push(latin1.decode(take(u32())));
          break;
        case 0x43: // SHORT_BINBYTES
          stack.push(take(u8()));
          break;
        case 0x42: // BINBYTES
          stack.push(take(u32()));
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          stack.push(take(u64()));
          break;
        case 0x29: // EMPTY_TUPLE
          stack.push([]);
          break;
        case 0x85: // TUPLE1
          stack.push([pop()]);
          break;
        case 0x86: {
          // TUPLE2
          const b = pop();
          stack.push([pop(), b]);
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = pop();
          const b = pop();
          stack.push([pop(), b, c]);
          break;
        }
        case 0x74: // TUPLE
          stack.push(popMark());
          break;
        case 0x5d: // EMPTY_LIST
          stack.push([]);
          break;
        case 0x61: {
          // APPEND
          const v = pop();
          (stack[stack.length - 1] as unknown[]).push(v);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = popMark();
          (stack[stack.length - 1] as unknown[]).push(...items);
          break;
        }
        case 0x7d: // EMPTY_DICT
          stack.push(new Map());
          break;
        case 0x73: {
          // SETITEM
          const v = pop();
          const k = pop();
          (stack[stack.length - 1] as Map<unknown, unknown>).set(k, v);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = popMark();
          const d = stack[stack.length - 1] as Map<unknown, unknown>;
          for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
          break;
        }
        case 0x52: {
          // REDUCE
          const args = pop() as unknown[];
          const fn = pop();
          if (!(fn instanceof Global)) throw new Error('REDUCE on a non-callable');
          stack.push(call(fn, args));
          break;
        }
        case 0x81: // NEWOBJ: no class is instantiated
          pop();
          throw new Error(`cannot instantiate ${String((pop() as Global).name)}`);
        case 0x62: {
          // BUILD
          const state = pop();
          stack.push(build(pop(), state));
          break;
        }
        default:
          throw new Error(`unsupported pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
      }
    }
  } catch (e) {
    throw new DataError(file, `${(e as Error).message}; ${CONVERT_HINT}`);
  }
}

function deepUnwrap(v: unknown, unwrap: (v: unknown) => unknown): unknown {
  const u = unwrap(v);
  if (Array.isArray(u)) return u.map((x) => deepUnwrap(x, unwrap));
  if (u instanceof Map) return new Map([...u].map(([k, x]) => [k, deepUnwrap(x, unwrap)]));
  return u;
}

/** Reads a pickle whose top-level object is a numpy array. */
export function readPickledArray(bytes: Uint8Array, file: string): NdArray {
  const v = unpickle(bytes, file);
  if (v && typeof v === 'object' && 'shape' in v && 'data' in v && 'dtype' in v) return v as NdArray;
  throw new DataError(file, `the pickle does not hold a numpy array at its top level; ${CONVERT_HINT}`);
}
