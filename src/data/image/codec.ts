/**
 * The image addon (native/image: libjpeg-turbo and libpng, no libtorch), loaded on first use so
 * that datasets without images never need it. Its functions throw plain Errors carrying the
 * library's message, which decode.ts turns into DataErrors naming the file, and TypeErrors or
 * RangeErrors for bad arguments (the caller's fault, passed through as they are).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../../package.js';

/** Interleaved 8-bit pixels as the addon returns them. */
export interface Pixels {
  width: number;
  height: number;
  /** 3 (RGB, from JPEG) or 4 (RGBA, from PNG). */
  channels: 3 | 4;
  data: Uint8Array;
}

/** libjpeg's fast DCT scalings (1/1, 1/2, 1/4, 1/8: the ones with SIMD code, and the ones Pillow's `draft` uses). */
export type ScaleDenom = 1 | 2 | 4 | 8;

/** What `renderFrame` does to one frame. */
export interface FrameTransform {
  /** The crop box in stored pixels (may be fractional); it must lie inside the image. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Output side: the box is resized to size x size (antialiased bilinear). */
  size: number;
  /** Mirror left-right. */
  flip: boolean;
  /** Decode a JPEG at 1/scaleDenom of its stored size (1 for PNG). */
  scaleDenom: ScaleDenom;
  /** Per-channel (R, G, B) normalisation: (v / 255 - mean) / std. */
  mean: readonly number[];
  std: readonly number[];
}

interface ImageBinding {
  /** The stored size from the header alone. */
  imageSize(bytes: Uint8Array): { width: number; height: number; format: 'jpeg' | 'png' };
  /** RGB at 1/scaleDenom of the stored size (libjpeg's DCT scaling, sizes rounded up); into `into` when it is large enough. */
  decodeJpeg(bytes: Uint8Array, scaleDenom: ScaleDenom, into?: Uint8Array): Pixels;
  /** RGBA; into `into` when it is large enough. */
  decodePng(bytes: Uint8Array, into?: Uint8Array): Pixels;
  /**
   * Decode, crop, resize, flip, normalise one frame and write it planar [3, size, size] into
   * `out` from element `offset`. Bad arguments: TypeError / RangeError; damaged files: Error.
   */
  renderFrame(bytes: Uint8Array, transform: FrameTransform, out: Float32Array, offset: number): void;
}

const FIX = 'Fix: run `make build` in the mmgap checkout (it installs libturbojpeg0-dev and libpng-dev on Debian/Ubuntu), ' +
  'or `sudo apt-get install -y libturbojpeg0-dev libpng-dev && cd native/image && npx node-gyp rebuild`.';

let binding: ImageBinding | null = null;

/** The addon, loaded once per thread; a clear error with the fix when it is not built or cannot load. */
export function imageCodec(): ImageBinding {
  if (binding) return binding;
  const root = packageRoot();
  const path = process.env.MMGAP_IMAGE_NATIVE ?? join(root ?? '.', 'native', 'image', 'build', 'Release', 'mmgap_image.node');
  if (!existsSync(path)) throw new Error(`mmgap: the image addon is not built (${path} is missing), so JPEG/PNG frames cannot be decoded. ${FIX}`);
  try {
    binding = createRequire(import.meta.url)(path) as ImageBinding;
  } catch (e) {
    throw new Error(`mmgap: could not load the image addon ${path}: ${(e as Error).message}. ${FIX}`);
  }
  return binding;
}
