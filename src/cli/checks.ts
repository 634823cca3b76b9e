/** Checks of a resolved config that need more than its settings: the dataset spec and its path. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './errors.js';

/** What each path-based dataset expects at its root (for the fix in the message). */
const ROOTS: Record<string, string> = {
  cremad: 'the CREMA-D root (train.csv, test.csv, AudioWAV/, Image-01-FPS/)',
  ave: 'the AVE root (trainSet.txt, valSet.txt, testSet.txt, Audio-1004-SE/, Image-01-FPS-SE/)',
  ks: 'the Kinetics-Sounds root (my_train.txt, my_test.txt, fbank .npy files, frames)',
  folder: 'a folder with manifest.csv (id,label,split) and one directory per modality',
};
const SPECS = 'avdigits, avdigits:FSDD_DIR, cremad:PATH, ave:PATH, ks:PATH, folder:PATH';

export function checkDataSpec(spec: string): void {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const path = colon < 0 ? '' : spec.slice(colon + 1);
  if (name !== 'avdigits' && !(name in ROOTS)) throw new UsageError(`unknown dataset "${spec}" in --data; use one of ${SPECS}`);
  if (name in ROOTS && !path) throw new UsageError(`dataset "${name}" needs a path: --data ${name}:PATH, with PATH ${ROOTS[name]}`);
  if (path && !existsSync(path)) {
    const what = name === 'avdigits' ? 'the Free Spoken Digit Dataset folder (its recordings/*.wav)' : ROOTS[name];
    throw new UsageError(`dataset path ${resolve(path)} does not exist (--data ${spec}); point --data at ${what}`);
  }
}
