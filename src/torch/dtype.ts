/** Element types, named as in PyTorch, and their c10::ScalarType codes. */
export type DType = 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'float16' | 'float32' | 'float64' | 'bool' | 'bfloat16'
  | 'complex64' | 'complex128';

const CODES: Record<DType, number> = {
  uint8: 0, int8: 1, int16: 2, int32: 3, int64: 4, float16: 5, float32: 6, float64: 7, complex64: 9, complex128: 10,
  bool: 11, bfloat16: 15,
};
const NAMES = new Map<number, DType>(Object.entries(CODES).map(([k, v]) => [v, k as DType]));

export function dtypeCode(d: DType): number {
  const c = CODES[d];
  if (c === undefined) throw new TypeError(`unknown dtype "${String(d)}" (known: ${Object.keys(CODES).join(', ')})`);
  return c;
}

export function dtypeName(code: number): DType {
  const n = NAMES.get(code);
  if (n === undefined) throw new TypeError(`mmgap does not support the libtorch scalar type with code ${code}`);
  return n;
}

/** The typed array that holds each dtype's elements on the JS side (complex: interleaved real, imaginary). */
export type TypedArrayFor<D extends DType> =
  D extends 'float32' | 'complex64' ? Float32Array : D extends 'float64' | 'complex128' ? Float64Array : D extends 'int64' ? BigInt64Array :
  D extends 'int32' ? Int32Array : D extends 'int16' ? Int16Array : D extends 'int8' ? Int8Array :
  D extends 'uint8' | 'bool' ? Uint8Array : D extends 'float16' | 'bfloat16' ? Uint16Array : never;

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

export function typedArrayOf(d: DType, buf: ArrayBuffer): AnyTypedArray {
  switch (d) {
    case 'float32': case 'complex64': return new Float32Array(buf);
    case 'float64': case 'complex128': return new Float64Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'uint8': case 'bool': return new Uint8Array(buf);
    case 'float16': case 'bfloat16': return new Uint16Array(buf);
  }
}

/** The dtype a typed array holds by default. */
export function dtypeOfArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  throw new TypeError(`cannot make a tensor from a ${a.constructor.name}; use Float32Array, Float64Array, BigInt64Array, Int32Array, Int16Array, Int8Array or Uint8Array`);
}

export const MEMORY_FORMATS = { contiguous: 0, preserve: 1, channels_last: 2, channels_last_3d: 3 } as const;
export type MemoryFormat = keyof typeof MEMORY_FORMATS;
export const LAYOUTS = { strided: 0, sparse: 1 } as const;
export type Layout = keyof typeof LAYOUTS;
