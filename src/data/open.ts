/** Opening a dataset from its spec string: avdigits, cremad:PATH, ave:PATH, ks:PATH, folder:PATH. */
import { resolve } from 'node:path';
import { openAve } from './datasets/ave.js';
import { openAvdigits } from './datasets/avdigits.js';
import { openCremad } from './datasets/cremad.js';
import { openFolder } from './datasets/folder.js';
import { openKs } from './datasets/ks.js';
import { AVDIGITS_REGIMES } from './datasets/avdigits-effects.js';
import { FRAME_DECODE_SETTINGS } from './image/frames.js';
import type { Dataset, OpenOptions } from './types.js';

const WITH_PATH: Record<string, (root: string, options: OpenOptions) => Promise<Dataset>> = {
  cremad: openCremad,
  ave: openAve,
  ks: openKs,
  folder: openFolder,
};

/** The dataset specs `openDataset` understands. */
export const DATASET_SPECS = ['avdigits', 'avdigits:FSDD_DIR', 'cremad:PATH', 'ave:PATH', 'ks:PATH', 'folder:PATH'];

/** Options every dataset takes (those that do not use one ignore it). */
const COMMON_OPTIONS = ['skipBadSamples', 'seed', 'download'];
const FRAME_OPTIONS = ['frames', 'imageSize', ...Object.keys(FRAME_DECODE_SETTINGS)];
/** Each dataset's own option keys (docs/DATA.md); the folder format also takes per-modality keys (stored-arrays.ts). */
const DATASET_OPTIONS: Record<string, readonly string[]> = {
  avdigits: [...Object.keys(AVDIGITS_REGIMES.underuse), 'regime', 'fold', 'folds', 'fsddDir', 'fsddUrl', 'mnistTestDir', 'mnistTestUrl', 'searchShared'],
  cremad: [...FRAME_OPTIONS, 'split', 'testFraction', 'valFraction'],
  ave: FRAME_OPTIONS,
  ks: [...FRAME_OPTIONS, 'audioDir', 'framesDir', 'valFraction'],
  folder: [...FRAME_OPTIONS, 'audioRecipe'],
};

/** A misspelt option would otherwise be ignored silently; per-modality folder keys are checked by the folder dataset. */
function checkOptionKeys(name: string, options: OpenOptions): void {
  const known = [...COMMON_OPTIONS, ...(DATASET_OPTIONS[name] ?? [])];
  for (const [key, v] of Object.entries(options)) {
    if (known.includes(key) || v === undefined) continue;
    if (name === 'folder' && (key.includes('.') || (typeof v === 'object' && v !== null))) continue;
    throw new Error(`dataset ${name} has no option "${key}" (options: ${known.join(', ')}${name === 'folder' ? ', <modality>.kind|length|crop|mask' : ''}); fix --data-opt or dataOptions`);
  }
}

/**
 * Opens a dataset. `avdigits` (optionally `avdigits:DIR` for the FSDD folder), or `NAME:PATH`
 * for cremad, ave, ks and folder. Options are JSON-serialisable, so that worker threads can
 * re-open the same dataset from `dataset.source`.
 */
export async function openDataset(spec: string, options: OpenOptions = {}): Promise<Dataset> {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const path = colon < 0 ? '' : spec.slice(colon + 1);
  if (name in DATASET_OPTIONS) checkOptionKeys(name, options);
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
