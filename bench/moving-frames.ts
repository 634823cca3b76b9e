/**
 * A synthetic `folder:` dataset whose visual class is in the frames' ORDER (issue #29.5): a bright
 * blob crosses the frame along one of four paths (two rows, two columns) in one of two
 * directions, 8 classes. A clip and its time-reversal hold the same frames, so an encoder that
 * pools per-frame features over time (the default `small-cnn` on frames) can tell the path but not
 * the direction (at most half the classes); one that reads the frames in order
 * (`--encoder visual=small-cnn+gru`) can tell both. "audio" [T, 8] carries the class weakly
 * (a class mean under noise), so the visual modality decides.
 *
 * Frames [T, 16, 16] float32 with T uniform in [8, 16], the blob's start jittered; 480 clips split
 * 320/80/80. As a script: node dist/bench/moving-frames.js --out DIR [--clips N] [--seed S]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../src/core/index.js';
import { writeNpy } from '../src/data/index.js';
import { benchArgs } from './args.js';

const SIDE = 16;
const CLASSES = 8;
/** Features per step of the weak second modality. */
export const WEAK_DIM = 8;

/** Per-class means of the weak second modality (one draw of WEAK_DIM normals per class). */
export function weakMeans(rng: SeededRandom, classes: number): Float32Array[] {
  return Array.from({ length: classes }, () => Float32Array.from({ length: WEAK_DIM }, () => rng.normal()));
}

/**
 * The weak second modality of the frames workloads: [T, WEAK_DIM] with T uniform in [8, 16], each
 * step its class mean scaled by 0.15 under unit noise, so that it alone tells the class only
 * partly and the frames decide.
 */
export function weakSteps(rng: SeededRandom, mean: Float32Array): { data: Float32Array; shape: [number, number] } {
  const t = 8 + rng.uniformInt(9);
  const data = new Float32Array(t * WEAK_DIM);
  for (let s = 0; s < t; s++) for (let j = 0; j < WEAK_DIM; j++) data[s * WEAK_DIM + j] = 0.15 * mean[j]! + rng.normal();
  return { data, shape: [t, WEAK_DIM] };
}

/** Writes the dataset under `dir` (manifest.csv, audio/, visual/); returns `dir`. */
export function writeMovingFrames(dir: string, o: { clips?: number; seed?: number } = {}): string {
  const { clips = 480, seed = 0 } = o;
  const rng = new SeededRandom(seed);
  const audioMean = weakMeans(rng, CLASSES);
  mkdirSync(join(dir, 'audio'), { recursive: true });
  mkdirSync(join(dir, 'visual'), { recursive: true });
  const lines = ['id,label,split'];
  const nVal = Math.round(clips / 6), nTest = Math.round(clips / 6);
  for (let k = 0; k < clips; k++) {
    const split = k < clips - nVal - nTest ? 'train' : k < clips - nTest ? 'val' : 'test';
    const id = `clip${String(k).padStart(4, '0')}`;
    const label = k % CLASSES;
    lines.push(`${id},c${label},${split}`);
    const t = 8 + rng.uniformInt(9);
    // path: 0, 1 rows at 1/3 and 2/3 height; 2, 3 columns at 1/3 and 2/3 width; odd classes run backwards
    const path = label >> 1, backwards = label % 2 === 1;
    const across = path < 2 ? 'x' : 'y';
    const fixed = ((path % 2) + 1) * SIDE / 3;
    const start = 1 + rng.uniform() * 2, end = SIDE - 2 - rng.uniform() * 2;
    const frames = new Float32Array(t * SIDE * SIDE);
    for (let f = 0; f < t; f++) {
      const p = start + ((end - start) * (backwards ? t - 1 - f : f)) / (t - 1);
      const [cx, cy] = across === 'x' ? [p, fixed] : [fixed, p];
      for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) frames[(f * SIDE + y) * SIDE + x] = ((x - cx) ** 2 + (y - cy) ** 2 < 4 ? 1 : 0) + 0.3 * rng.normal();
      }
    }
    writeFileSync(join(dir, 'visual', `${id}.npy`), writeNpy(frames, [t, SIDE, SIDE]));
    const audio = weakSteps(rng, audioMean[label]!);
    writeFileSync(join(dir, 'audio', `${id}.npy`), writeNpy(audio.data, audio.shape));
  }
  writeFileSync(join(dir, 'manifest.csv'), `${lines.join('\n')}\n`);
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const o = benchArgs('Usage: node dist/bench/moving-frames.js --out DIR [options]', {
    out: { kind: 'string', required: true, help: 'the folder to write (created)' },
    clips: { kind: 'int', default: 480, min: 12, help: 'clips in all, split 4:1:1' },
    seed: { kind: 'int', default: 0, min: 0, help: 'the generator seed' },
  });
  writeMovingFrames(o.out, { clips: o.clips, seed: o.seed });
  process.stderr.write(`moving frames (${o.clips} clips) written to ${o.out}\n`);
}
