/**
 * A `folder:` dataset whose training samples carry the ids of the report fixture (s0, s1, ...,
 * labels i % 10), with one modality of each rank the gallery draws: a vector [32], a sequence
 * [T, 13] whose T varies (16 + i % 9 steps), a grey image [1, 28, 28] and colour frames [5, 3, 16, 16].
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../../src/core/index.js';
import { writeNpy } from '../../../src/data/index.js';

const MODALITIES: Record<string, (i: number) => number[]> = {
  audio: (i) => [16 + (i % 9), 13], clip: () => [32], frames: () => [5, 3, 16, 16], visual: () => [1, 28, 28],
};

/** Writes the dataset into `root` and returns its spec, `folder:<root>`. */
export function writeGalleryDataset(root: string, samples: number): string {
  const rng = new SeededRandom(3);
  for (const m of Object.keys(MODALITIES)) mkdirSync(join(root, m), { recursive: true });
  const lines = ['id,label,split'];
  for (let i = 0; i < samples; i++) {
    lines.push(`s${i},${i % 10},train`);
    for (const [m, shapeOf] of Object.entries(MODALITIES)) {
      const shape = shapeOf(i);
      const x = new Float32Array(shape.reduce((a, b) => a * b, 1));
      // A ramp plus noise: every thumbnail has contrast, and no two look alike.
      for (let k = 0; k < x.length; k++) x[k] = k / x.length + 0.3 * rng.normal();
      writeFileSync(join(root, m, `s${i}.npy`), writeNpy(x, shape));
    }
  }
  writeFileSync(join(root, 'manifest.csv'), `${lines.join('\n')}\n`);
  return `folder:${root}`;
}
