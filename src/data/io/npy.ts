import { open } from 'node:fs/promises';
import { DataError } from '../errors.js';
import { decodeElements, fortranToC, sizeOf, type NdArray } from './ndarray.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function parseHeader(text: string, file: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DataError(file, `malformed .npy header: ${text.trim()}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new DataError(file, `bad shape in .npy header: (${shapeText})`);
  return { descr, fortran: fortran === 'True', shape };
}

interface NpyHeader { descr: string; fortran: boolean; shape: number[]; dataStart: number }

/** The header of a .npy file; `bytes` needs only to reach the end of the header. */
function readHeader(bytes: Uint8Array, file: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new DataError(file, 'not a .npy file (bad magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataError(file, 'truncated .npy header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new DataError(file, `unsupported .npy format version ${major}`);
  }
  if (start + headerLen > bytes.length) throw new DataError(file, 'truncated .npy header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  return { ...parseHeader(header, file), dataStart: start + headerLen };
}

/** Reads a .npy file (format versions 1.0, 2.0, 3.0; C or Fortran order; see NdArray for types). */
export function readNpy(bytes: Uint8Array, file: string): NdArray {
  const { descr, fortran, shape, dataStart } = readHeader(bytes, file);
  const count = sizeOf(shape);
  let data: NdArray['data'];
  try {
    data = decodeElements(bytes.subarray(dataStart), descr, count);
  } catch (e) {
    throw new DataError(file, (e as Error).message);
  }
  return { dtype: descr.replace(/^[<>|=]/, ''), shape, data: fortran ? fortranToC(data, shape) : data };
}

/**
 * Reads a 1-D .npy array of strings: numpy unicode ('<U8': UTF-32 code units) or bytes ('|S8':
 * UTF-8), each padded with NULs to the fixed width; numeric arrays are read as their decimal text.
 */
export function readNpyStrings(bytes: Uint8Array, file: string): string[] {
  const { descr, shape, dataStart } = readHeader(bytes, file);
  const body = bytes.subarray(dataStart);
  const kind = /^[<>|=]?([US])(\d+)$/.exec(descr);
  if (!kind) {
    if (/^[<>|=]?O$/.test(descr)) throw new DataError(file, 'holds Python objects (pickled), not fixed-width strings; save the array with dtype=str');
    return Array.from(readNpy(bytes, file).data, String);
  }
  if (shape.length !== 1) throw new DataError(file, `expected a 1-D array of strings, got shape [${shape.join(', ')}]`);
  const chars = Number(kind[2]);
  const width = kind[1] === 'U' ? 4 * chars : chars;
  if (body.length < shape[0] * width) throw new DataError(file, `array data is truncated: expected ${shape[0] * width} bytes, found ${body.length}`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const utf8 = new TextDecoder('utf-8');
  return Array.from({ length: shape[0] }, (_, i) => {
    const at = i * width;
    if (kind[1] === 'S') return utf8.decode(body.subarray(at, at + width)).replace(/\0+$/, '');
    const points: number[] = [];
    for (let c = 0; c < chars; c++) {
      const point = view.getUint32(at + 4 * c, descr[0] !== '>');
      if (point === 0) break;
      points.push(point);
    }
    return String.fromCodePoint(...points);
  });
}

/** The shape of a .npy file, from its header alone (a dataset reads every sample's shape when it opens). */
export async function readNpyShape(file: string): Promise<number[]> {
  const fh = await open(file, 'r').catch(() => {
    throw new DataError(file, 'file is missing or unreadable');
  });
  try {
    const head = Buffer.alloc(12);
    const { bytesRead } = await fh.read(head, 0, 12, 0);
    const major = head[6];
    const len = major === 1 ? head.readUInt16LE(8) + 10 : bytesRead >= 12 ? head.readUInt32LE(8) + 12 : 12;
    const bytes = Buffer.alloc(Math.min(len, 1 << 20));
    const { bytesRead: n } = await fh.read(bytes, 0, bytes.length, 0);
    return readHeader(bytes.subarray(0, n), file).shape;
  } finally {
    await fh.close();
  }
}

const DESCR: [new (n: number) => NdArray['data'], string][] = [
  [Float32Array, '<f4'],
  [Float64Array, '<f8'],
  [Int8Array, '|i1'],
  [Uint8Array, '|u1'],
  [Int16Array, '<i2'],
  [Uint16Array, '<u2'],
  [Int32Array, '<i4'],
  [Uint32Array, '<u4'],
];

/** Encodes a typed array as a C-order .npy file (version 1.0, or 2.0 when the header needs it). Little-endian hosts only. */
export function writeNpy(data: NdArray['data'], shape: readonly number[]): Uint8Array {
  const descr = DESCR.find(([ctor]) => data instanceof ctor)?.[1];
  if (!descr) throw new Error('writeNpy: unsupported array type');
  if (sizeOf(shape) !== data.length) throw new Error(`writeNpy: shape [${shape.join(', ')}] does not match ${data.length} elements`);
  const shapeText = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shapeText}), }`;
  const v2 = dict.length + 11 > 65535;
  const pre = v2 ? 12 : 10;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - pre - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC);
  out[6] = v2 ? 2 : 1;
  const view = new DataView(out.buffer);
  if (v2) view.setUint32(8, dict.length, true);
  else view.setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[pre + i] = dict.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}
