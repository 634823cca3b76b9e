/** Opening a dataset from its spec string: avdigits, cremad:PATH, ave:PATH, ks:PATH, folder:PATH. */
import { resolve } from 'node:path';
import { openAve } from './datasets/ave.js';
import { openAvdigits } from './datasets/avdigits.js';
import { openCremad } from './datasets/cremad.js';
import { openFolder } from './datasets/folder.js';
import { openKs } from './datasets/ks.js';
import type { Dataset, OpenOptions } from './types.js';

const WITH_PATH: Record<string, (root: string, options: OpenOptions) => Promise<Dataset>> = {
  cremad: openCremad,
  ave: openAve,
  ks: openKs,
  folder: openFolder,
};

/** The dataset specs `openDataset` understands. */
export const DATASET_SPECS = ['avdigits', 'avdigits:FSDD_DIR', 'cremad:PATH', 'ave:PATH', 'ks:PATH', 'folder:PATH'];

/**
 * Opens a dataset. `avdigits` (optionally `avdigits:DIR` for the FSDD folder), or `NAME:PATH`
 * for cremad, ave, ks and folder. Options are JSON-serialisable, so that worker threads can
 * re-open the same dataset from `dataset.source`.
 */
export async function openDataset(spec: string, options: OpenOptions = {}): Promise<Dataset> {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const path = colon < 0 ? '' : spec.slice(colon + 1);
  if (name === 'avdigits') {
    const opts = path ? { ...options, fsddDir: resolve(path) } : options;
    const ds = await openAvdigits(opts);
    ds.source = { spec, options };
    return ds;
  }
  const open = WITH_PATH[name];
  if (!open) throw new Error(`unknown dataset "${spec}" (known: ${DATASET_SPECS.join(', ')})`);
  if (!path) throw new Error(`dataset "${name}" needs a path: ${name}:PATH`);
  return open(resolve(path), options);
}
