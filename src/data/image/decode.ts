import { DataError } from '../errors.js';
import { imageCodec, type Pixels } from './codec.js';

/** An image as planar float32 in [0, 1]: data laid out [channels, height, width]. */
export interface PlanarImage {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}

export type { Pixels } from './codec.js';

/** libjpeg's fast DCT scalings (1/1, 1/2, 1/4, 1/8: the ones with SIMD code, and the ones Pillow's `draft` uses). */
export type ScaleDenom = 1 | 2 | 4 | 8;

function isJpeg(b: Uint8Array): boolean {
  return b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function isPng(b: Uint8Array): boolean {
  return b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}

/** Runs an addon call, turning the library's message into a DataError naming the file. */
function decoding<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if ((e as Error).message.startsWith('mmgap: ')) throw e; // the addon itself is missing: not the file's fault
    throw new DataError(file, `corrupt image: ${(e as Error).message}`);
  }
}

/** The stored size of a JPEG (header only), or null for a PNG (PNG has no decode-time scaling to plan for). */
export function jpegSize(bytes: Uint8Array, file: string): { width: number; height: number } | null {
  if (isPng(bytes)) return null;
  if (!isJpeg(bytes)) throw new DataError(file, 'not a JPEG or PNG image');
  return decoding(file, () => imageCodec().jpegHeader(bytes));
}

/**
 * Decodes a JPEG or PNG (by content, not extension) to interleaved 8-bit pixels: RGB from a JPEG
 * (grey ones expanded; at 1/scaleDenom of the stored size, libjpeg's DCT scaling), RGBA from a PNG
 * of any bit depth or layout (`scaleDenom` ignored). With `into` large enough, the pixels are
 * written there and `data` is `into` (a reused scratch buffer). Corrupt or truncated data is a
 * DataError naming the file.
 */
export function decodePixels(bytes: Uint8Array, file: string, scaleDenom: ScaleDenom = 1, into?: Uint8Array): Pixels {
  if (isJpeg(bytes)) return decoding(file, () => imageCodec().decodeJpeg(bytes, scaleDenom, into));
  if (isPng(bytes)) return decoding(file, () => imageCodec().decodePng(bytes, into));
  throw new DataError(file, 'not a JPEG or PNG image');
}

/** Interleaved 8-bit pixels to planar RGB in [0, 1]; alpha is dropped. */
export function toPlanarRgb(p: Pixels): PlanarImage {
  const n = p.width * p.height;
  const src = p.channels;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const at = i * src;
    data[i] = p.data[at] / 255;
    data[n + i] = p.data[at + 1] / 255;
    data[2 * n + i] = p.data[at + 2] / 255;
  }
  return { channels: 3, height: p.height, width: p.width, data };
}

/** Decodes a JPEG or PNG (by content, not extension) to planar RGB in [0, 1]; corrupt data is a DataError naming the file. */
export function decodeImage(bytes: Uint8Array, file: string): PlanarImage {
  return toPlanarRgb(decodePixels(bytes, file));
}
