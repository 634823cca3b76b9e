import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataError } from '../errors.js';

/** An image as planar float32 in [0, 1]: data laid out [channels, height, width]. */
export interface PlanarImage {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}

function isJpeg(b: Uint8Array): boolean {
  return b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function isPng(b: Uint8Array): boolean {
  return b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}

/** Interleaved 8-bit pixels (1, 2 (gray+alpha), 3 or 4 (RGBA) channels) to planar RGB in [0, 1]; alpha is dropped. */
function toPlanarRgb(pixels: Uint8Array, width: number, height: number, file: string): PlanarImage {
  const n = width * height;
  const src = pixels.length / n;
  if (!Number.isInteger(src) || src < 1 || src > 4) throw new DataError(file, `unexpected pixel layout (${pixels.length} bytes for ${width}x${height})`);
  const data = new Float32Array(3 * n);
  const colour = src >= 3;
  for (let i = 0; i < n; i++) {
    const at = i * src;
    data[i] = pixels[at] / 255;
    data[n + i] = pixels[colour ? at + 1 : at] / 255;
    data[2 * n + i] = pixels[colour ? at + 2 : at] / 255;
  }
  return { channels: 3, height, width, data };
}

/** Decodes a JPEG or PNG (by content, not extension) to planar RGB in [0, 1]; corrupt data is a DataError naming the file. */
export function decodeImage(bytes: Uint8Array, file: string): PlanarImage {
  try {
    if (isJpeg(bytes)) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxMemoryUsageInMB: 1024 });
      return toPlanarRgb(img.data, img.width, img.height, file);
    }
    if (isPng(bytes)) {
      const img = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return toPlanarRgb(img.data, img.width, img.height, file);
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(file, `corrupt image: ${(e as Error).message}`);
  }
  throw new DataError(file, 'not a JPEG or PNG image');
}
