/**
 * CREMA-D in the community layout (OGM-GE and successors):
 *   <root>/train.csv, <root>/test.csv   lines "1088_IOM_NEU_XX,NEU" (no header)
 *   <root>/AudioWAV/<id>.wav
 *   <root>/Image-01-FPS/<id>/00000.jpg ...
 * Labels NEU 0, HAP 1, SAD 2, FEA 3, DIS 4, ANG 5. No validation list ships: a seeded,
 * class-stratified `valFraction` (default 0.1) of train.csv becomes `val`.
 */
import { join } from 'node:path';
import { CREMAD_RECIPE, CREMAD_SHAPE, cremadSpectrogram } from '../audio/recipes.js';
import type { Dataset, OpenOptions } from '../types.js';
import { clipDataset } from './clip-dataset.js';
import { checkRows, firstExisting, readRows } from './clip-list.js';
import { Problems } from './problems.js';

/** CREMA-D's classes, in label order. */
export const CREMAD_CLASSES = ['NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG'];

/** Options: frames (default 2, as MMPareto/BalanceBenchmark; OGM-GE uses 1), imageSize (224), valFraction (0.1), seed (0), skipBadSamples. */
export async function openCremad(root: string, options: OpenOptions = {}): Promise<Dataset> {
  const parse = (t: string): { id: string; label: string } | string => {
    const [id, label] = t.split(',').map((s) => s.trim());
    return id && label ? { id, label } : 'expected "<id>,<label>"';
  };
  const rows = [...(await readRows(join(root, 'train.csv'), 'train', parse)), ...(await readRows(join(root, 'test.csv'), 'test', parse))];
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
    { fraction: Number(options.valFraction ?? 0.1), seed: options.seed ?? 0 },
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
