/**
 * A tiny `folder:` dataset (3 classes c0-c2; 60 train, 15 val, 15 test; two [1, 12, 12] .npy
 * modalities, "audio" clearly informative and "visual" barely, so audio dominates), on which a real
 * training run takes seconds. Sample ids are `<split>-<i>`, labels i % 3.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../src/core/index.js';
import { writeNpy } from '../../src/data/index.js';
import { tempDir } from './python.js';

const SIDE = 12;

function features(label: number, noise: number, rng: SeededRandom): Float32Array {
  const x = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < x.length; i++) x[i] = noise * rng.normal();
  // The class is a bright band of rows at a class-specific height.
  for (let r = 4 * label; r < 4 * label + 4; r++) for (let c = 0; c < SIDE; c++) x[r * SIDE + c] += 1;
  return x;
}

/**
 * Writes the dataset into `root` (default: a new temporary folder) and returns `root`.
 * `poison`: a sample id whose audio features are all set to `value` (NaN: bad data that loading
 * must refuse; a huge finite value: activations that overflow, so the loss is not finite).
 */
export function writeTinyDataset(root: string = tempDir('mmgap-tiny-'), opts: { poison?: { id: string; value: number } } = {}): string {
  const rng = new SeededRandom(1);
  const lines = ['id,label,split'];
  for (const m of ['audio', 'visual']) mkdirSync(join(root, m), { recursive: true });
  const counts = { train: 60, val: 15, test: 15 };
  for (const [split, n] of Object.entries(counts)) {
    for (let i = 0; i < n; i++) {
      const id = `${split}-${i}`;
      const label = i % 3;
      lines.push(`${id},c${label},${split}`);
      const audio = features(label, 0.3, rng);
      if (id === opts.poison?.id) audio.fill(opts.poison.value);
      writeFileSync(join(root, 'audio', `${id}.npy`), writeNpy(audio, [1, SIDE, SIDE]));
      writeFileSync(join(root, 'visual', `${id}.npy`), writeNpy(features(label, 3, rng), [1, SIDE, SIDE]));
    }
  }
  writeFileSync(join(root, 'manifest.csv'), `${lines.join('\n')}\n`);
  return root;
}
