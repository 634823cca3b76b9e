/**
 * A `folder:` dataset of REAL recordings as frames (issue #29.5): each FSDD clip (spoken digits,
 * read from ../shared, never copied into the repository) becomes "speech", its whole log-mel
 * spectrogram cut into overlapping slices over time, [T, 1, 40, 4] float32: slice k holds the 40
 * mel bands of STFT steps 2k .. 2k+3 (about 90 ms, hop 40 ms). T follows the clip's length
 * (ragged, median 9), and a word's sounds come in an order, so the frames carry real temporal
 * signal without it being the only signal (each slice's spectrum alone says something too).
 * "tag" is the weak second modality of bench/moving-frames.ts (a class mean under noise).
 *
 * The split is by take, as FSDD's customary one: takes 0-4 test (300), 5-9 validation (300), and
 * the next `trainTakes` (default 15: 900 clips, to keep runs small on 2 cores) training; the six
 * speakers are in every split.
 *
 * As a script: node dist/bench/fsdd-frames.js --out DIR [--fsdd DIR] [--train-takes N] [--seed S]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../src/core/index.js';
import { listFsdd, locateFsdd } from '../src/data/datasets/fsdd.js';
import { decodeWav, fsddLogMelFrames, toMono, writeNpy } from '../src/data/index.js';
import { benchArgs } from './args.js';
import { weakMeans, weakSteps } from './moving-frames.js';

const BANDS = 40;
/** STFT steps per slice, and between the starts of two slices. */
export const SLICE = { steps: 4, hop: 2 } as const;

/**
 * The spectrogram [steps, 40] (time-major) cut into slices [T, 1, 40, SLICE.steps]: slice k holds
 * steps hop*k .. hop*k + SLICE.steps - 1, band-major; a clip shorter than one slice is zero-padded.
 */
export function sliceSpectrogram(spec: Float32Array, steps: number): { data: Float32Array; shape: [number, 1, number, number] } {
  const w = SLICE.steps;
  const t = steps <= w ? 1 : Math.floor((steps - w) / SLICE.hop) + 1;
  const data = new Float32Array(t * BANDS * w);
  for (let k = 0; k < t; k++) {
    for (let b = 0; b < BANDS; b++) {
      for (let j = 0; j < w; j++) {
        const s = k * SLICE.hop + j;
        if (s < steps) data[(k * BANDS + b) * w + j] = spec[s * BANDS + b]!;
      }
    }
  }
  return { data, shape: [t, 1, BANDS, w] };
}

/** The split of a take (FSDD's customary test takes 0-4, then validation 5-9), or null past the training takes. */
export function fsddSplit(take: number, trainTakes: number): 'train' | 'val' | 'test' | null {
  return take < 5 ? 'test' : take < 10 ? 'val' : take < 10 + trainTakes ? 'train' : null;
}

/** Writes the dataset under `dir` (manifest.csv, speech/, tag/); returns `dir`. */
export async function writeFsddFrames(dir: string, o: { fsddDir?: string; trainTakes?: number; seed?: number } = {}): Promise<string> {
  const clips = listFsdd(await locateFsdd({ fsddDir: o.fsddDir, download: false }));
  const rng = new SeededRandom(o.seed ?? 0);
  const tagMean = weakMeans(rng, 10);
  mkdirSync(join(dir, 'speech'), { recursive: true });
  mkdirSync(join(dir, 'tag'), { recursive: true });
  const lines = ['id,label,split'];
  for (const c of clips) {
    const split = fsddSplit(c.take, o.trainTakes ?? 15);
    if (split === null) continue;
    lines.push(`${c.id},d${c.digit},${split}`);
    const wav = decodeWav(readFileSync(c.file), c.file);
    const spec = fsddLogMelFrames(toMono(wav), wav.sampleRate);
    const frames = sliceSpectrogram(spec.data, spec.frames);
    writeFileSync(join(dir, 'speech', `${c.id}.npy`), writeNpy(frames.data, frames.shape));
    const tag = weakSteps(rng, tagMean[c.digit]!);
    writeFileSync(join(dir, 'tag', `${c.id}.npy`), writeNpy(tag.data, tag.shape));
  }
  writeFileSync(join(dir, 'manifest.csv'), `${lines.join('\n')}\n`);
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const o = benchArgs('Usage: node dist/bench/fsdd-frames.js --out DIR [options]', {
    out: { kind: 'string', required: true, help: 'the folder to write (created; outside the repository)' },
    fsdd: { kind: 'string', help: 'the FSDD folder (default: as avdigits finds it, e.g. ../shared/data/fsdd)' },
    trainTakes: { kind: 'int', default: 15, min: 1, help: 'takes per speaker and digit for training (at most 40)' },
    seed: { kind: 'int', default: 0, min: 0, help: 'the seed of the weak "tag" modality' },
  });
  await writeFsddFrames(o.out, { fsddDir: o.fsdd, trainTakes: o.trainTakes, seed: o.seed });
  process.stderr.write(`FSDD spectrogram slices written to ${o.out}\n`);
}
