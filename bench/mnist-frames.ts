/**
 * A `folder:` dataset of REAL images as frames whose ORDER carries no signal (issue #29.5): each
 * clip is one MNIST test digit (t10k, read from ../shared, never copied into the repository),
 * halved to 14 x 14 (2 x 2 means, to keep runs small on 2 cores), shown as T frames
 * [T, 1, 14, 14] float32, T uniform in [4, 10]. Every frame is drawn independently: the digit
 * shifted by up to 1 pixel, only one random half of it visible (top, bottom, left or right),
 * under Gaussian noise (sd 0.5), so one frame is ambiguous and the clip's frames together
 * tell the digit, in whatever order they come. An encoder that reads the frames in order must not
 * lose to one that pools them here. "audio" is the weak second modality of bench/moving-frames.ts.
 *
 * 1,200 clips (distinct images, seeded draw) split 800/200/200.
 * As a script: node dist/bench/mnist-frames.js --out DIR [--clips N] [--seed S]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../src/core/index.js';
import { loadMnistTest, writeNpy } from '../src/data/index.js';
import { benchArgs } from './args.js';
import { weakMeans, weakSteps } from './moving-frames.js';

const SIDE = 14;
/** The largest shift of a frame, in pixels, each way. */
export const MAX_SHIFT = 1;
export const NOISE_SD = 0.5;

/** MNIST's 28 x 28 image `i` as 14 x 14 means of 2 x 2 blocks. */
export function halfSize(pixels: Float32Array, i: number): Float32Array {
  const out = new Float32Array(SIDE * SIDE);
  const at = (y: number, x: number): number => pixels[(i * 2 * SIDE + y) * 2 * SIDE + x]!;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) out[y * SIDE + x] = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
  }
  return out;
}

/**
 * One frame of `digit` ([14 * 14]): shifted by (dx, dy), only the half `half` (0 top,
 * 1 bottom, 2 left, 3 right, of the shifted frame) kept, plus noise from `rng`.
 */
export function digitFrame(digit: Float32Array, dx: number, dy: number, half: number, rng: SeededRandom): Float32Array {
  const out = new Float32Array(SIDE * SIDE);
  const mid = SIDE / 2;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const sy = y - dy, sx = x - dx;
      const shown = half === 0 ? y < mid : half === 1 ? y >= mid : half === 2 ? x < mid : x >= mid;
      const v = shown && sy >= 0 && sy < SIDE && sx >= 0 && sx < SIDE ? digit[sy * SIDE + sx]! : 0;
      out[y * SIDE + x] = v + NOISE_SD * rng.normal();
    }
  }
  return out;
}

/** Writes the dataset under `dir` (manifest.csv, audio/, visual/); returns `dir`. */
export async function writeMnistFrames(dir: string, o: { clips?: number; seed?: number; mnistTestDir?: string } = {}): Promise<string> {
  const { clips = 1200, seed = 0 } = o;
  const mnist = await loadMnistTest({ mnistTestDir: o.mnistTestDir, download: false });
  if (clips > mnist.count) throw new Error(`mnist-frames: ${clips} clips need as many images; MNIST's test split has ${mnist.count}`);
  const rng = new SeededRandom(seed);
  const audioMean = weakMeans(rng, 10);
  const order = rng.permutation(mnist.count);
  mkdirSync(join(dir, 'audio'), { recursive: true });
  mkdirSync(join(dir, 'visual'), { recursive: true });
  const lines = ['id,label,split'];
  const nVal = Math.round(clips / 6), nTest = Math.round(clips / 6);
  for (let k = 0; k < clips; k++) {
    const split = k < clips - nVal - nTest ? 'train' : k < clips - nTest ? 'val' : 'test';
    const id = `clip${String(k).padStart(4, '0')}`;
    const image = order[k]!;
    const label = mnist.labels[image]!;
    lines.push(`${id},d${label},${split}`);
    const digit = halfSize(mnist.pixels, image);
    const t = 4 + rng.uniformInt(7);
    const frames = new Float32Array(t * SIDE * SIDE);
    for (let f = 0; f < t; f++) {
      const shift = (): number => rng.uniformInt(2 * MAX_SHIFT + 1) - MAX_SHIFT;
      const dx = shift(), dy = shift();
      frames.set(digitFrame(digit, dx, dy, rng.uniformInt(4), rng), f * SIDE * SIDE);
    }
    writeFileSync(join(dir, 'visual', `${id}.npy`), writeNpy(frames, [t, 1, SIDE, SIDE]));
    const audio = weakSteps(rng, audioMean[label]!);
    writeFileSync(join(dir, 'audio', `${id}.npy`), writeNpy(audio.data, audio.shape));
  }
  writeFileSync(join(dir, 'manifest.csv'), `${lines.join('\n')}\n`);
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const o = benchArgs('Usage: node dist/bench/mnist-frames.js --out DIR [options]', {
    out: { kind: 'string', required: true, help: 'the folder to write (created; outside the repository)' },
    clips: { kind: 'int', default: 1200, min: 12, help: 'clips in all, split 4:1:1' },
    seed: { kind: 'int', default: 0, min: 0, help: 'the generator seed' },
  });
  await writeMnistFrames(o.out, { clips: o.clips, seed: o.seed });
  process.stderr.write(`MNIST frames (${o.clips} clips) written to ${o.out}\n`);
}
