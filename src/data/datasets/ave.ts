/**
 * AVE in the community layout:
 *   <root>/trainSet.txt, valSet.txt, testSet.txt   lines "Category&VideoID&Quality&Start&End"
 *   <root>/Audio-1004-SE/<id>.pkl (257 x 1004 log spectrogram) or <id>.wav
 *   <root>/Image-01-FPS-SE/<id>/ frames
 * Classes: the sorted set of categories in the three split files (the peers index them in order of
 * first appearance in testSet.txt, which gives different label numbers; names are what count).
 */
import { join } from 'node:path';
import { AVE_RECIPE, AVE_SHAPE, aveSpectrogram } from '../audio/recipes.js';
import type { Dataset, OpenOptions, Split } from '../types.js';
import { clipDataset } from './clip-dataset.js';
import { checkRows, firstExisting, readRows, type ClipRow } from './clip-list.js';
import { Problems } from './problems.js';

const FILES: [Split, string][] = [
  ['train', 'trainSet.txt'],
  ['val', 'valSet.txt'],
  ['test', 'testSet.txt'],
];

/** Options: frames (default 3), imageSize (224), skipBadSamples. */
export async function openAve(root: string, options: OpenOptions = {}): Promise<Dataset> {
  const parse = (t: string): { id: string; label: string } | string => {
    const f = t.split('&');
    return f.length >= 2 && f[0] && f[1] ? { label: f[0].trim(), id: f[1].trim() } : 'expected "Category&VideoID&Quality&Start&End"';
  };
  const rows: ClipRow[] = [];
  for (const [split, name] of FILES) {
    // the annotation header "Category&VideoID&..." is not a sample
    rows.push(...(await readRows(join(root, name), split, parse)).filter((r) => !(r.labelName === 'Category' && r.id === 'VideoID')));
  }
  const classes = [...new Set(rows.map((r) => r.labelName))].sort();
  const audioDir = join(root, 'Audio-1004-SE');
  const problems = new Problems(options.skipBadSamples === true);
  const entries = checkRows(
    rows,
    new Map(classes.map((c, i) => [c, i])),
    {
      audioFile: (id) => firstExisting(join(audioDir, `${id}.pkl`), join(audioDir, `${id}.wav`)),
      audioHint: (id) => join(audioDir, `${id}.pkl|.wav`),
      frameDir: (id) => join(root, 'Image-01-FPS-SE', id),
    },
    problems,
  );
  return clipDataset({
    name: 'ave',
    classes,
    entries,
    audio: { shape: AVE_SHAPE, recipe: `${AVE_RECIPE}|pkl-as-stored`, fromWave: aveSpectrogram },
    frames: options.frames ?? 3,
    imageSize: options.imageSize ?? 224,
    source: { spec: `ave:${root}`, options },
    skipped: problems.skipped,
  });
}
