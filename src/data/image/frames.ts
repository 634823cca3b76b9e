/** Frame folders: listing, the k-of-n frame choice, and loading into [T, 3, S, S]. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import type { Rng } from '../rng.js';
import { decodeImage } from './decode.js';
import { centreSquare, IMAGENET_MEAN, IMAGENET_STD, randomResizedCropBox, renderFrame } from './transforms.js';

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
 * Picks k of n frames: the clip is cut into k equal segments; evaluation takes each segment's
 * centre frame, training a uniformly random frame of each segment. When n < k, frames repeat.
 */
export function pickFrames(n: number, k: number, rng: Rng | null): number[] {
  const seg = n / k;
  return Array.from({ length: k }, (_, i) => Math.min(n - 1, Math.floor(i * seg + (rng ? rng.uniform() : 0.5) * seg)));
}

/** Options of `loadFrames`. */
export interface FramesOptions {
  count: number;
  size: number;
  /** Training mode: random frame per segment, random resized crop, horizontal flip (p = 0.5). */
  rng: Rng | null;
}

/** Loads `count` frames of a folder as one Float32Array [count, 3, size, size], ImageNet-normalised. */
export async function loadFrames(dir: string, opts: FramesOptions): Promise<Float32Array> {
  const files = await listFrames(dir);
  const picks = pickFrames(files.length, opts.count, opts.rng);
  const frame = 3 * opts.size * opts.size;
  const out = new Float32Array(opts.count * frame);
  for (let t = 0; t < picks.length; t++) {
    const file = files[picks[t]];
    const img = decodeImage(await readFile(file), file);
    const box = opts.rng ? randomResizedCropBox(img.width, img.height, opts.rng) : centreSquare(img.width, img.height);
    const flip = opts.rng ? opts.rng.uniform() < 0.5 : false;
    renderFrame(img, { box, size: opts.size, flip, mean: IMAGENET_MEAN, std: IMAGENET_STD }, out, t * frame);
  }
  return out;
}
