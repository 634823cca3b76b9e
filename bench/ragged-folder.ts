/**
 * A synthetic `folder:` dataset with the shape statistics of a real lip-reading corpus (issue #28):
 * 780 clips split 442/78/260 (train/val/test), 26 classes, "audio" MFCC-like sequences [T, 26]
 * float32 with T uniform in [23, 79], "visual" grayscale lip frames [T, 60, 80] float32 (0-255)
 * with T uniform in [12, 40]; 350 MB on disk at full size. Every batch has other frame counts,
 * which is what fragments a heap that never gives memory back.
 *
 * Both modalities carry the label under noise, so accuracy means something: the audio a
 * class-dependent mean vector plus a class-dependent slow oscillation, the frames a bright blob at a
 * class-dependent place that drifts over the clip. `scale` shrinks the frames' height and width
 * (not the lengths) and `clips` the number of clips, for small test versions.
 *
 * As a script: node dist/bench/ragged-folder.js --out DIR [--clips N] [--scale-pct P] [--seed S]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../src/core/index.js';
import { writeNpy } from '../src/data/index.js';
import { benchArgs } from './args.js';

export interface RaggedFolderOptions {
  /** Clips in all (default 780), split in the ratio 442/78/260. */
  clips?: number;
  /** Classes (default 26). */
  classes?: number;
  /** Factor on the frames' height and width (default 1: 60 x 80). */
  scale?: number;
  seed?: number;
}

export const RAGGED = { clips: 780, split: { train: 442, val: 78, test: 260 }, classes: 26, audio: { dim: 26, steps: [23, 79] }, visual: { height: 60, width: 80, steps: [12, 40] } } as const;

/** The clips per split for `clips` in all, in the corpus's ratio (every split at least 1). */
export function raggedSplit(clips: number): Record<'train' | 'val' | 'test', number> {
  const val = Math.max(1, Math.round((clips * RAGGED.split.val) / RAGGED.clips));
  const test = Math.max(1, Math.round((clips * RAGGED.split.test) / RAGGED.clips));
  const train = clips - val - test;
  if (train < 1) throw new Error(`writeRaggedFolder: ${clips} clips leave none for training; use at least 3`);
  return { train, val, test };
}

/** Writes the dataset under `dir` (manifest.csv, audio/, visual/); returns `dir`. */
export function writeRaggedFolder(dir: string, options: RaggedFolderOptions = {}): string {
  const { clips = RAGGED.clips, classes = RAGGED.classes, scale = 1, seed = 0 } = options;
  if (!(scale > 0 && scale <= 4)) throw new Error(`writeRaggedFolder: scale must be in (0, 4], got ${scale}`);
  const h = Math.max(4, Math.round(RAGGED.visual.height * scale)), w = Math.max(4, Math.round(RAGGED.visual.width * scale));
  const d = RAGGED.audio.dim;
  const rng = new SeededRandom(seed);
  const steps = ([lo, hi]: readonly [number, number]): number => lo + rng.uniformInt(hi - lo + 1);
  // Per class: an audio mean vector and oscillation frequency, a blob centre and drift direction.
  const audioMean = Array.from({ length: classes }, () => Float32Array.from({ length: d }, () => rng.normal()));
  const freq = Array.from({ length: classes }, (_, c) => 0.05 + (0.3 * c) / classes);
  const blob = Array.from({ length: classes }, () => ({ y: 0.2 + 0.6 * rng.uniform(), x: 0.2 + 0.6 * rng.uniform(), dy: rng.normal() * 0.005, dx: rng.normal() * 0.005 }));
  const radius2 = (0.12 * Math.min(h, w)) ** 2;
  mkdirSync(join(dir, 'audio'), { recursive: true });
  mkdirSync(join(dir, 'visual'), { recursive: true });
  const lines = ['id,label,split'];
  let k = 0;
  for (const [split, n] of Object.entries(raggedSplit(clips))) {
    for (let i = 0; i < n; i++, k++) {
      const id = `clip${String(k).padStart(4, '0')}`;
      const label = i % classes;
      lines.push(`${id},c${String(label).padStart(2, '0')},${split}`);
      const ta = steps(RAGGED.audio.steps);
      const audio = new Float32Array(ta * d);
      const phase = rng.uniform() * 2 * Math.PI;
      for (let t = 0; t < ta; t++) {
        const wave = Math.sin(2 * Math.PI * (freq[label] as number) * t + phase);
        for (let j = 0; j < d; j++) audio[t * d + j] = 0.5 * (audioMean[label] as Float32Array)[j]! + 0.5 * wave * (j % 2 ? 1 : -1) + 1.5 * rng.normal();
      }
      writeFileSync(join(dir, 'audio', `${id}.npy`), writeNpy(audio, [ta, d]));
      const tv = steps(RAGGED.visual.steps);
      const frames = new Float32Array(tv * h * w);
      const b = blob[label]!;
      for (let t = 0; t < tv; t++) {
        const cy = (b.y + b.dy * t) * h + rng.normal(), cx = (b.x + b.dx * t) * w + rng.normal();
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const inside = (y - cy) ** 2 + (x - cx) ** 2 < radius2 ? 60 : 0;
            frames[(t * h + y) * w + x] = Math.min(255, Math.max(0, 100 + inside + 40 * rng.normal()));
          }
        }
      }
      writeFileSync(join(dir, 'visual', `${id}.npy`), writeNpy(frames, [tv, h, w]));
    }
  }
  writeFileSync(join(dir, 'manifest.csv'), `${lines.join('\n')}\n`);
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const o = benchArgs('Usage: node dist/bench/ragged-folder.js --out DIR [options]', {
    out: { kind: 'string', required: true, help: 'the folder to write (created)' },
    clips: { kind: 'int', default: RAGGED.clips, min: 3, help: 'clips in all, split 442/78/260' },
    scalePct: { kind: 'int', default: 100, help: 'frame height and width in percent of 60 x 80' },
    seed: { kind: 'int', default: 0, min: 0, help: 'the generator seed' },
  });
  writeRaggedFolder(o.out, { clips: o.clips, scale: o.scalePct / 100, seed: o.seed });
  process.stderr.write(`ragged folder (${o.clips} clips) written to ${o.out}\n`);
}
