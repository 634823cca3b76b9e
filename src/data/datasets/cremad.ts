/**
 * CREMA-D in the community layout (OGM-GE and successors):
 *   <root>/train.csv, <root>/test.csv   lines "1088_IOM_NEU_XX,NEU" (no header)
 *   <root>/AudioWAV/<id>.wav
 *   <root>/Image-01-FPS/<id>/00000.jpg ...
 * Labels NEU 0, HAP 1, SAD 2, FEA 3, DIS 4, ANG 5. No validation list ships: a seeded,
 * class-stratified `valFraction` (default 0.1) of train.csv becomes `val`.
 * `split: actor-disjoint` ignores the lists' train/test assignment (the community's lists share
 * actors between train and test, AGM issue #2) and holds out whole actors instead: a seeded
 * `testFraction` of the actors (the id's first field, 1001-1091) for test, `valFraction` of
 * them for val, the rest for train.
 */
import { join } from 'node:path';
import { CREMAD_RECIPE, CREMAD_SHAPE, cremadSpectrogram } from '../audio/recipes.js';
import type { Dataset, OpenOptions, Split } from '../types.js';
import { clipDataset } from './clip-dataset.js';
import { checkRows, firstExisting, readRows, type ClipRow } from './clip-list.js';
import { Problems } from './problems.js';
import { Rng } from '../rng.js';
import { resolveSettings, SettingError, settings } from '../../settings.js';

/** CREMA-D's classes, in label order. */
export const CREMAD_CLASSES = ['NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG'];

/** How CREMA-D's clips are split (docs/DATA.md says what each peer used). */
export const CREMAD_SPLIT_SETTINGS = settings({
  split: { type: 'choice', choices: ['standard', 'actor-disjoint'], default: 'standard', help: 'standard: train.csv / test.csv as shipped (actors shared); actor-disjoint: whole actors held out, seeded by seed' },
  testFraction: { type: 'number', min: 0, max: 1, exclusiveMin: true, exclusiveMax: true, default: 0.1, help: 'actor-disjoint: share of the actors held out for test (the standard lists hold out ~10 % of the clips)' },
});

/** The split settings of `options`, or an error naming the option and the flag that fixes it. */
function splitSettings(options: OpenOptions): { split: string; testFraction: number } {
  try {
    return resolveSettings('cremad', CREMAD_SPLIT_SETTINGS, { split: options.split, testFraction: options.testFraction });
  } catch (e) {
    if (e instanceof SettingError && e.key) throw new Error(`${e.message}; fix --data-opt ${e.key}=...`);
    throw e;
  }
}

/** Rows re-assigned by actor: a seeded share of actors for test, another for val, the rest train. */
function byActor(rows: ClipRow[], testFraction: number, valFraction: number, seed: number): ClipRow[] {
  const actors = [...new Set(rows.map((r) => r.id.split('_')[0] as string))].sort();
  const order = new Rng(seed, 'cremad-actors').permutation(actors.length);
  const nTest = Math.max(1, Math.round(testFraction * actors.length));
  const nVal = Math.round(valFraction * actors.length);
  const splitOf = new Map<string, Split>();
  order.forEach((a, i) => splitOf.set(actors[a] as string, i < nTest ? 'test' : i < nTest + nVal ? 'val' : 'train'));
  return rows.map((r) => ({ ...r, split: splitOf.get(r.id.split('_')[0] as string) as Split }));
}

/**
 * Options: frames (default 2, as MMPareto/BalanceBenchmark; OGM-GE uses 1), imageSize (224),
 * valFraction (0.1), seed (0), split (standard | actor-disjoint), testFraction (0.1), skipBadSamples.
 */
export async function openCremad(root: string, options: OpenOptions = {}): Promise<Dataset> {
  const { split, testFraction } = splitSettings(options);
  const parse = (t: string): { id: string; label: string } | string => {
    const [id, label] = t.split(',').map((s) => s.trim());
    return id && label ? { id, label } : 'expected "<id>,<label>"';
  };
  const listed = [...(await readRows(join(root, 'train.csv'), 'train', parse)), ...(await readRows(join(root, 'test.csv'), 'test', parse))];
  const valFraction = Number(options.valFraction ?? 0.1);
  const seed = options.seed ?? 0;
  const rows = split === 'actor-disjoint' ? byActor(listed, testFraction, valFraction, seed) : listed;
  const problems = new Problems(options.skipBadSamples === true);
  const entries = checkRows(
    rows,
    new Map(CREMAD_CLASSES.map((c, i) => [c, i])),
    {
      audioFile: (id) => firstExisting(join(root, 'AudioWAV', `${id}.wav`)),
      audioHint: (id) => join(root, 'AudioWAV', `${id}.wav`),
      frameDir: (id) => join(root, 'Image-01-FPS', id),
    },
    problems,
    split === 'actor-disjoint' ? undefined : { fraction: valFraction, seed },
  );
  return clipDataset({
    name: 'cremad',
    classes: CREMAD_CLASSES,
    entries,
    audio: { shape: CREMAD_SHAPE, recipe: CREMAD_RECIPE, fromWave: cremadSpectrogram },
    frames: options.frames ?? 2,
    imageSize: options.imageSize ?? 224,
    source: { spec: `cremad:${root}`, options },
    skipped: problems.skipped,
  });
}
