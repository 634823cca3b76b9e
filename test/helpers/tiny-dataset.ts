/**
 * A tiny dataset in the generic folder format (manifest.csv + one folder of .npy per modality),
 * learnable in a few epochs: each class lights a block of the 8x8 "audio" map (strongly) and of
 * the "visual" map (weakly, under more noise), so that audio is the dominant modality.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNpy } from '../../src/data/io/npy.js';
import { tempDir } from './python.js';
import { SeededRandom } from '../../src/core/prng.js';


/** `nanAt`: a training sample id whose first feature is NaN (bad data that training must refuse). */
export function writeTinyDataset(opts: { perClass?: [number, number, number]; classes?: number; seed?: number; modalities?: string[]; nanAt?: string } = {}): string {
  const root = tempDir('mmgap-tiny-');
  const [nTrain, nVal, nTest] = opts.perClass ?? [20, 6, 6];
  const classes = opts.classes ?? 3;
  const modalities = opts.modalities ?? ['audio', 'visual'];
  const rng = new SeededRandom(opts.seed ?? 1);
  const rnd = (): number => rng.uniform();
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  for (const m of modalities) mkdirSync(join(root, m));
  const lines = ['id,label,split'];
  let k = 0;
  for (const [split, n] of [['train', nTrain], ['val', nVal], ['test', nTest]] as const) {
    for (let c = 0; c < classes; c++) {
      for (let i = 0; i < n; i++) {
        const id = `s${k++}`;
        lines.push(`${id},class${c},${split}`);
        modalities.forEach((m, mi) => {
          const signal = mi === 0 ? 1.5 : 0.6;
          const x = new Float32Array(64);
          for (let p = 0; p < 64; p++) x[p] = gauss() * (mi === 0 ? 0.5 : 1);
          for (let p = 0; p < 8; p++) x[(2 * c + Math.floor(p / 4)) * 8 + (p % 4) + 2 * mi] += signal;
          if (id === opts.nanAt) x[0] = NaN;
          writeFileSync(join(root, m, `${id}.npy`), writeNpy(x, [1, 8, 8]));
        });
      }
    }
  }
  writeFileSync(join(root, 'manifest.csv'), lines.join('\n') + '\n');
  return root;
}
