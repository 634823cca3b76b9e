import { DataError } from '../errors.js';
import { imageCodec, type FrameTransform, type Pixels, type ScaleDenom } from './codec.js';

/** An image as planar float32 in [0, 1]: data laid out [channels, height, width]. */
export interface PlanarImage {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}

export type { FrameTransform, Pixels, ScaleDenom } from './codec.js';

function isJpeg(b: Uint8Array): boolean {
  return b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function isPng(b: Uint8Array): boolean {
  return b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}

/** Runs an addon call, turning the library's message into a DataError naming the file. */
function decoding<T>(file: string, bytes: Uint8Array, f: () => T): T {
  if (!isJpeg(bytes) && !isPng(bytes)) throw new DataError(file, 'not a JPEG or PNG image');
  try {
    return f();
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw e; // a bad argument: the caller's fault
    if ((e as Error).message.startsWith('mmgap: ')) throw e; // the addon itself is missing: not the file's fault
    throw new DataError(file, `corrupt image: ${(e as Error).message}`);
  }
}

/** The stored size of a JPEG or PNG, from its header alone. */
export function imageSize(bytes: Uint8Array, file: string): { width: number; height: number; format: 'jpeg' | 'png' } {
  return decoding(file, bytes, () => imageCodec().imageSize(bytes));
}

/**
 * Decodes a JPEG or PNG (by content, not extension) to interleaved 8-bit pixels: RGB from a JPEG
 * (grey ones expanded; at 1/scaleDenom of the stored size, libjpeg's DCT scaling), RGBA from a PNG
 * of any bit depth or layout (`scaleDenom` ignored). With `into` large enough, the pixels are
 * written there and `data` is `into` (a reused scratch buffer). Corrupt or truncated data is a
 * DataError naming the file.
 */
export function decodePixels(bytes: Uint8Array, file: string, scaleDenom: ScaleDenom = 1, into?: Uint8Array): Pixels {
  return decoding(file, bytes, () => (isJpeg(bytes) ? imageCodec().decodeJpeg(bytes, scaleDenom, into) : imageCodec().decodePng(bytes, into)));
}

/**
 * One frame through the recipe in one addon call (native/image/image.cc): decode (a JPEG at
 * 1/scaleDenom of its size), crop `t`'s box, resize it to size x size (antialiased bilinear, as
 * PIL's and torch's antialiased resize), flip, normalise, and write [3, size, size] float32 into
 * `out` from element `offset`. A damaged file is a DataError naming it; a bad box, size or
 * buffer is a RangeError or TypeError.
 */
export function renderFrame(bytes: Uint8Array, file: string, t: FrameTransform, out: Float32Array, offset: number): void {
  decoding(file, bytes, () => imageCodec().renderFrame(bytes, t, out, offset));
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
