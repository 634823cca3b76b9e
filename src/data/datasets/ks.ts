/**
 * Kinetics-Sounds in the community layout:
 *   <root>/my_train.txt, my_test.txt    lines "<ytid>_<start6>_<end6>,10,<label>"
 *   <audioDir>/<id>.npy (1024 x 128 kaldi fbank) or <id>.wav     (audioDir default <root>/audio)
 *   <framesDir>/<id>/frame_00001.jpg ...                          (framesDir default <root>/frames)
 * Labels are class names (sorted) or, when every label is an integer, those integers.
 * A seeded, class-stratified `valFraction` (default 0.1) of my_train.txt becomes `val`.
 */
import { isAbsolute, join } from 'node:path';
import { KS_RECIPE, KS_SHAPE, ksFbank } from '../audio/recipes.js';
import type { Dataset, OpenOptions } from '../types.js';
import { clipDataset } from './clip-dataset.js';
import { checkRows, firstExisting, readRows } from './clip-list.js';
import { classList } from './labels.js';
import { Problems } from './problems.js';

/** Options: frames (default 3, as BalanceBenchmark), imageSize (224), audioDir, framesDir, valFraction (0.1), seed (0), skipBadSamples. */
export async function openKs(root: string, options: OpenOptions = {}): Promise<Dataset> {
  const parse = (t: string): { id: string; label: string } | string => {
    const first = t.indexOf(',');
    const second = t.indexOf(',', first + 1);
    if (first <= 0 || second < 0 || second === t.length - 1) return 'expected "<ytid>_<start>_<end>,<duration>,<label>"';
    return { id: t.slice(0, first).trim(), label: t.slice(second + 1).trim() };
  };
  const rows = [...(await readRows(join(root, 'my_train.txt'), 'train', parse)), ...(await readRows(join(root, 'my_test.txt'), 'test', parse))];
  const dir = (opt: unknown, fallback: string): string => (typeof opt === 'string' ? (isAbsolute(opt) ? opt : join(root, opt)) : join(root, fallback));
  const audioDir = dir(options.audioDir, 'audio');
  const framesDir = dir(options.framesDir, 'frames');
  const { classes, index } = classList(rows.map((r) => r.labelName));
  const problems = new Problems(options.skipBadSamples === true);
  const entries = checkRows(
    rows,
    index,
    {
      audioFile: (id) => firstExisting(join(audioDir, `${id}.npy`), join(audioDir, `${id}.wav`)),
      audioHint: (id) => join(audioDir, `${id}.npy|.wav`),
      frameDir: (id) => join(framesDir, id),
    },
    problems,
    { fraction: Number(options.valFraction ?? 0.1), seed: options.seed ?? 0 },
  );
  return clipDataset({
    name: 'ks',
    classes,
    entries,
    audio: { shape: KS_SHAPE, recipe: `${KS_RECIPE}|npy-as-stored`, fromWave: ksFbank },
    frames: options.frames ?? 3,
    imageSize: options.imageSize ?? 224,
    source: { spec: `ks:${root}`, options },
    skipped: problems.skipped,
  });
}
