/** Frame folders: listing, the k-of-n frame choice, and loading into [T, 3, S, S]. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import type { Rng } from '../rng.js';
import { pickFrames } from '../steps.js';
import { resolveSettings, SettingError, settings } from '../../settings.js';
import { imageSize, renderFrame, type ScaleDenom } from './decode.js';
import type { Box } from './resize.js';
import { centreSquare, IMAGENET_MEAN, IMAGENET_STD, randomResizedCropBox } from './transforms.js';

/** How frames are decoded (an option of every dataset with image frames: cremad, ave, ks, folder). */
export const FRAME_DECODE_SETTINGS = settings({
  decodeScaling: {
    type: 'boolean', default: true,
    help: 'decode JPEGs at 1/2, 1/4 or 1/8 size (libjpeg DCT scaling) when the crop still has at least imageSize pixels a side; false: always decode at full size, as the peers\' PIL pipelines do',
  },
});

/** The frame decode settings of a dataset's options, or an error naming the option and the flag that fixes it. */
export function frameDecodeSettings(dataset: string, options: Record<string, unknown>): { decodeScaling: boolean } {
  try {
    return resolveSettings(dataset, FRAME_DECODE_SETTINGS, { decodeScaling: options.decodeScaling });
  } catch (e) {
    if (e instanceof SettingError && e.key) throw new Error(`${e.message}; fix --data-opt ${e.key}=...`);
    throw e;
  }
}

const IMAGE_FILE = /\.(jpe?g|png)$/i;
const collator = new Intl.Collator('en', { numeric: true });

/** The image files of a frame folder, in natural order ("frame_2" before "frame_10"). */
export async function listFrames(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new DataError(dir, 'frame folder is missing or unreadable');
  }
  const frames = names.filter((n) => IMAGE_FILE.test(n)).sort(collator.compare);
  if (frames.length === 0) throw new DataError(dir, 'frame folder holds no .jpg/.png frames');
  return frames.map((n) => join(dir, n));
}

/**
 * The largest DCT scaling 1/d (d in 8, 4, 2) at which `box` of a width x height JPEG still spans
 * at least `size` decoded pixels on each side, so that the resize to `size` stays a downscale;
 * else 1 (full size).
 */
export function decodeScaleFor(box: Box, size: number): ScaleDenom {
  for (const d of [8, 4, 2] as const) if (box.width / d >= size && box.height / d >= size) return d;
  return 1;
}

/** Options of `renderImage` and `loadFrames`. */
export interface FramesOptions {
  size: number;
  /** Training mode: random frame per segment, random resized crop, horizontal flip (p = 0.5). */
  rng: Rng | null;
  /** See FRAME_DECODE_SETTINGS (default true). */
  decodeScaling?: boolean;
}

/**
 * One image file through the frame recipe: crop box (random resized in training, centred square
 * in evaluation, on the stored size), flip, then one addon call that decodes (a JPEG scaled down
 * where the box allows), crops, resizes, flips and ImageNet-normalises, writing [3, size, size]
 * into `out` at `offset`.
 */
export function renderImage(bytes: Uint8Array, file: string, opts: FramesOptions, out: Float32Array, offset: number): void {
  const { size, rng } = opts;
  const { width, height, format } = imageSize(bytes, file);
  const box = rng ? randomResizedCropBox(width, height, rng) : centreSquare(width, height);
  const flip = rng ? rng.uniform() < 0.5 : false;
  const scaleDenom = format === 'jpeg' && (opts.decodeScaling ?? true) ? decodeScaleFor(box, size) : 1;
  renderFrame(bytes, file, { ...box, size, flip, scaleDenom, mean: IMAGENET_MEAN, std: IMAGENET_STD }, out, offset);
}

/**
 * Loads `count` frames of a folder as [count, 3, size, size], ImageNet-normalised: into `out` when
 * given (a worker's batch buffer; exactly that many floats), else into a new array.
 */
export async function loadFrames(dir: string, opts: FramesOptions & { count: number }, out?: Float32Array): Promise<Float32Array> {
  const frame = 3 * opts.size * opts.size;
  if (out && out.length !== opts.count * frame) {
    throw new RangeError(`loadFrames: out holds ${out.length} floats, but ${opts.count} frames of 3x${opts.size}x${opts.size} are ${opts.count * frame}`);
  }
  const files = await listFrames(dir);
  const picks = pickFrames(files.length, opts.count, opts.rng);
  const dst = out ?? new Float32Array(opts.count * frame);
  for (let t = 0; t < picks.length; t++) {
    const file = files[picks[t]];
    const bytes = await readFile(file).catch(() => {
      throw new DataError(file, 'frame file is missing or unreadable');
    });
    renderImage(bytes, file, opts, dst, t * frame);
  }
  return dst;
}
