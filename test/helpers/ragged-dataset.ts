/**
 * A tiny ragged `folder:` dataset in the shapes of a lip-reading corpus (3 classes c0-c2; 36
 * train, 12 val, 12 test): "mfcc" sequences [T, 6] with T from 5 to 20, stored unscaled (values
 * in the hundreds, as raw MFCC are), "lips" grayscale frames [T, 8, 8] with T from 2 to 5, and
 * optionally "emb" clip-level vectors [10]. Every modality carries the label, so a few epochs learn it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../src/core/index.js';
import { writeNpy } from '../../src/data/index.js';
import { tempDir } from './python.js';

export function writeRaggedDataset(opts: { vector?: boolean; root?: string } = {}): string {
  const root = opts.root ?? tempDir('mmgap-ragged-');
  const rng = new SeededRandom(3);
  const modalities = ['mfcc', 'lips', ...(opts.vector ? ['emb'] : [])];
  for (const m of modalities) mkdirSync(join(root, m), { recursive: true });
  const lines = ['id,label,split'];
  for (const [split, n] of Object.entries({ train: 36, val: 12, test: 12 })) {
    for (let i = 0; i < n; i++) {
      const id = `${split}-${i}`;
      const label = i % 3;
      lines.push(`${id},c${label},${split}`);
      const t = 5 + Math.floor(rng.uniform() * 16);
      const mfcc = new Float32Array(t * 6);
      for (let k = 0; k < mfcc.length; k++) mfcc[k] = 100 * (rng.normal() + (k % 6 === label ? 2 : 0)) - 300;
      writeFileSync(join(root, 'mfcc', `${id}.npy`), writeNpy(mfcc, [t, 6]));
      const f = 2 + Math.floor(rng.uniform() * 4);
      const lips = new Float32Array(f * 64);
      for (let k = 0; k < lips.length; k++) lips[k] = rng.normal() + (Math.floor((k % 64) / 8) % 3 === label ? 1.5 : 0);
      writeFileSync(join(root, 'lips', `${id}.npy`), writeNpy(lips, [f, 8, 8]));
      if (opts.vector) writeFileSync(join(root, 'emb', `${id}.npy`), writeNpy(Float32Array.from({ length: 10 }, (_, k) => rng.normal() + (k === label ? 2 : 0)), [10]));
    }
  }
  writeFileSync(join(root, 'manifest.csv'), `${lines.join('\n')}\n`);
  return root;
}
