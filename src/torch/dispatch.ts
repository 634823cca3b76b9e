/**
 * Runtime behind the generated operator wrappers (ops.generated.ts): picks the overload whose
 * argument kinds match the JS values, converts them for the addon, and wraps returned handles.
 */
import { native, type TensorHandle } from './native.js';
import { Tensor } from './tensor.js';
import { dtypeCode, LAYOUTS, MEMORY_FORMATS, type DType } from './dtype.js';

/**
 * Argument kinds, from the schema types: T Tensor, i int, f float, S Scalar, b bool, s str,
 * dt ScalarType, L Layout, D Device, MF MemoryFormat, G Generator; `?` optional, `[]` list.
 */
export type Kind = 'T' | 'T?' | 'T[]' | 'T?[]' | 'i' | 'i?' | 'i[]' | 'i[]?' | 'f' | 'f?' | 'f[]' | 'f[]?' | 'S' | 'S?'
  | 'b' | 'b?' | 'b[]' | 's' | 's?' | 'dt' | 'dt?' | 'L' | 'L?' | 'D' | 'D?' | 'MF' | 'MF?' | 'G?';

interface Overload { name: string; kinds: Kind[]; required: number; id: number }
export interface OpGroup { name: string; overloads: Overload[] }

/** Declares an operator group; `specs` are `overload|kind,kind,...|required`. Handles resolve lazily. */
export function op(name: string, specs: string[]): OpGroup {
  return {
    name,
    overloads: specs.map((spec) => {
      const [ov, kinds, req] = spec.split('|') as [string, string, string];
      return { name: ov, kinds: kinds === '' ? [] : (kinds.split(',') as Kind[]), required: Number(req), id: -1 };
    }),
  };
}

const isInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v);
const isNone = (v: unknown): boolean => v === null || v === undefined;

function matches(kind: Kind, v: unknown): boolean {
  if (kind.endsWith('?') && isNone(v)) return true;
  switch (kind) {
    case 'T': case 'T?': return v instanceof Tensor;
    case 'T[]': return Array.isArray(v) && v.every((e) => e instanceof Tensor);
    case 'T?[]': return Array.isArray(v) && v.every((e) => e instanceof Tensor || isNone(e));
    case 'i': case 'i?': return isInt(v);
    case 'i[]': case 'i[]?': return isInt(v) || (Array.isArray(v) && v.every(isInt));
    case 'f': case 'f?': return typeof v === 'number';
    case 'f[]': case 'f[]?': return Array.isArray(v) && v.every((e) => typeof e === 'number');
    case 'S': case 'S?': return typeof v === 'number' || typeof v === 'boolean';
    case 'b': case 'b?': return typeof v === 'boolean';
    case 'b[]': return Array.isArray(v) && v.every((e) => typeof e === 'boolean');
    case 's': case 's?': case 'D': case 'D?': return typeof v === 'string';
    case 'dt': case 'dt?': return typeof v === 'string';
    case 'L': case 'L?': return typeof v === 'string' && v in LAYOUTS;
    case 'MF': case 'MF?': return typeof v === 'string' && v in MEMORY_FORMATS;
    case 'G?': return false;
  }
}

function convert(kind: Kind, v: unknown): unknown {
  if (isNone(v)) return undefined;
  switch (kind) {
    case 'T': case 'T?': return (v as Tensor).handle;
    case 'T[]': case 'T?[]': return (v as (Tensor | null)[]).map((t) => (t === null || t === undefined ? null : t.handle));
    case 'dt': case 'dt?': return dtypeCode(v as DType);
    case 'L': case 'L?': return LAYOUTS[v as keyof typeof LAYOUTS];
    case 'MF': case 'MF?': return MEMORY_FORMATS[v as keyof typeof MEMORY_FORMATS];
    default: return v;
  }
}

/** Wraps tensor handles (also inside arrays) returned by the addon. */
export function wrap(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(wrap);
  return new Tensor(v as TensorHandle);
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return v.isDisposed ? 'Tensor(disposed)' : `Tensor[${v.shape.join(', ')}] ${v.dtype}`;
  if (Array.isArray(v)) return `[${v.slice(0, 6).map(describe).join(', ')}${v.length > 6 ? ', ...' : ''}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function select(group: OpGroup, args: unknown[]): Overload {
  outer: for (const ov of group.overloads) {
    if (args.length > ov.kinds.length) continue;
    for (let i = 0; i < ov.kinds.length; i++) {
      const v = args[i];
      if (v === undefined) { if (i < ov.required) continue outer; continue; }
      if (!matches(ov.kinds[i] as Kind, v)) continue outer;
    }
    return ov;
  }
  const expected = group.overloads.map((o) => `${group.name}${o.name ? '.' + o.name : ''}(${o.kinds.join(', ')})`).join('; ');
  throw new TypeError(`${group.name}: no overload takes (${args.map(describe).join(', ')}); expected one of: ${expected}`);
}

/** Calls the overload of `group` that matches `args`. */
export function call(group: OpGroup, args: unknown[]): unknown {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  const used = n === args.length ? args : args.slice(0, n);
  const ov = select(group, used);
  if (ov.id < 0) ov.id = native.opHandle(group.name, ov.name);
  const converted = new Array<unknown>(used.length);
  for (let i = 0; i < used.length; i++) converted[i] = convert(ov.kinds[i] as Kind, used[i]);
  return wrap(native.callOp(ov.id, converted));
}
