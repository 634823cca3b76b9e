/** An n-dimensional array read from .npy or a pickle, in C (row-major) order. */
export interface NdArray {
  /** numpy-style type code without byte order: "f4", "f8", "i2", "u1", "b1"... */
  dtype: string;
  shape: number[];
  /** f4 -> Float32Array, f8/i8/u8 -> Float64Array (64-bit integers beyond 2^53 lose precision), others their own typed array. */
  data: Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
}

/** Product of a shape's dimensions. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Decodes `count` elements of a numpy descr ("<f4", ">i2", "|u1", "<f8"...) from raw bytes.
 * Throws a message (without file name; callers add it) for unsupported types.
 */
export function decodeElements(bytes: Uint8Array, descr: string, count: number): NdArray['data'] {
  const order = descr[0];
  const code = /^[<>|=]/.test(descr) ? descr.slice(1) : descr;
  const little = order !== '>';
  const width = Number(code.slice(1));
  if (bytes.length < count * width) {
    throw new Error(`array data is truncated: expected ${count * width} bytes, found ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const make = <T extends NdArray['data']>(out: T, get: (at: number) => number): T => {
    for (let i = 0; i < count; i++) out[i] = get(i * width);
    return out;
  };
  switch (code) {
    case 'f4':
      return make(new Float32Array(count), (at) => view.getFloat32(at, little));
    case 'f8':
      return make(new Float64Array(count), (at) => view.getFloat64(at, little));
    case 'i1':
      return make(new Int8Array(count), (at) => view.getInt8(at));
    case 'u1':
    case 'b1':
      return make(new Uint8Array(count), (at) => view.getUint8(at));
    case 'i2':
      return make(new Int16Array(count), (at) => view.getInt16(at, little));
    case 'u2':
      return make(new Uint16Array(count), (at) => view.getUint16(at, little));
    case 'i4':
      return make(new Int32Array(count), (at) => view.getInt32(at, little));
    case 'u4':
      return make(new Uint32Array(count), (at) => view.getUint32(at, little));
    case 'i8':
      return make(new Float64Array(count), (at) => Number(view.getBigInt64(at, little)));
    case 'u8':
      return make(new Float64Array(count), (at) => Number(view.getBigUint64(at, little)));
    default:
      throw new Error(`unsupported dtype "${descr}" (supported: f4, f8, i1, i2, i4, i8, u1, u2, u4, u8, b1)`);
  }
}

/** Reorders Fortran-ordered (column-major) data into C order. */
export function fortranToC<T extends NdArray['data']>(data: T, shape: readonly number[]): T {
  const n = shape.length;
  if (n < 2) return data;
  const out = new (data.constructor as new (len: number) => T)(data.length);
  const idx = new Array<number>(n).fill(0);
  const fStride = new Array<number>(n);
  fStride[0] = 1;
  for (let d = 1; d < n; d++) fStride[d] = fStride[d - 1] * shape[d - 1];
  for (let c = 0; c < data.length; c++) {
    let f = 0;
    for (let d = 0; d < n; d++) f += idx[d] * fStride[d];
    out[c] = data[f];
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Converts any NdArray's data to Float32Array (no copy when it already is one). */
export function toFloat32(a: NdArray): Float32Array {
  return a.data instanceof Float32Array ? a.data : Float32Array.from(a.data);
}
