/**
 * avdigits: FSDD spoken digits paired with MNIST images of the same digit; the default benchmark.
 *
 * Splits by FSDD take: 0-4 test (300), 5-9 val (300), 10-49 train (2,400). Each clip is paired
 * with a distinct MNIST image of its digit (seeded): train and val draw from global images
 * 0-7,999, test from 8,000-9,999 (global order: see mnist.ts). Features: audio [1, 40, 48]
 * log-mel (FSDD_RECIPE), visual [1, 28, 28] degraded (avdigits-effects.ts). A seeded
 * `corruptFraction` of each split has one modality corrupted; `Sample.corruption` records it.
 * Features do not depend on `train` (no augmentation), so they are fully cacheable.
 */
import { readFile } from 'node:fs/promises';
import { FSDD_RECIPE, FSDD_SHAPE, fsddLogMel } from '../audio/recipes.js';
import { decodeWav, toMono } from '../audio/wav.js';
import { Rng } from '../rng.js';
import type { Dataset, OpenOptions, Sample, Split } from '../types.js';
import { AVDIGITS_EFFECTS, checkEffects, corruptAudio, degradeAudio, degradeImage, occlude, type AvdigitsEffects } from './avdigits-effects.js';
import { listFsdd, locateFsdd, type FsddClip } from './fsdd.js';
import { loadMnist } from './mnist.js';

const TRAINVAL_POOL = [0, 8000];
const TEST_POOL = [8000, 10000];

function splitOfTake(take: number): Split {
  return take < 5 ? 'test' : take < 10 ? 'val' : 'train';
}

/** Options: fsddDir, download, fsddUrl, searchShared (see fsdd.ts), seed (0), and every field of AvdigitsEffects. */
export async function openAvdigits(options: OpenOptions = {}): Promise<Dataset> {
  const effects: AvdigitsEffects = { ...AVDIGITS_EFFECTS };
  for (const key of Object.keys(effects) as (keyof AvdigitsEffects)[]) {
    if (options[key] !== undefined) (effects as unknown as Record<string, unknown>)[key] = options[key];
  }
  if (options.corruptModality !== undefined && options.corruptKinds === undefined) {
    effects.corruptKinds = effects.corruptModality === 'visual' ? ['occlusion', 'swap'] : ['noise', 'silence'];
  }
  checkEffects(effects);
  const seed = options.seed ?? 0;
  const dir = await locateFsdd({
    fsddDir: options.fsddDir as string | undefined,
    download: options.download as boolean | undefined,
    fsddUrl: options.fsddUrl as string | undefined,
    searchShared: options.searchShared as boolean | undefined,
  });
  const clips = listFsdd(dir);
  const mnist = loadMnist();

  const bySplit: Record<Split, Sample[]> = { train: [], val: [], test: [] };
  const clipOf = new Map<string, FsddClip>();
  for (const clip of clips) {
    const split = splitOfTake(clip.take);
    bySplit[split].push({ id: clip.id, label: clip.digit, split, index: 0, corruption: null, meta: { file: clip.file, speaker: clip.speaker, take: clip.take } });
    clipOf.set(clip.id, clip);
  }
  const byDigitImages = (lo: number, hi: number): number[][] => {
    const pools: number[][] = Array.from({ length: 10 }, () => []);
    for (let i = lo; i < hi; i++) pools[mnist.labels[i]].push(i);
    return pools;
  };
  const pair = (samples: Sample[], [lo, hi]: number[], tag: string): void => {
    const pools = byDigitImages(lo, hi);
    const perm = pools.map((p, d) => new Rng(seed, 'pair', tag, d).permutation(p.length));
    const used = new Array<number>(10).fill(0);
    for (const s of samples) {
      const d = s.label;
      s.meta!.image = pools[d][perm[d][used[d]++ % pools[d].length]];
    }
  };
  pair([...bySplit.train, ...bySplit.val], TRAINVAL_POOL, 'trainval');
  pair(bySplit.test, TEST_POOL, 'test');
  const swapPools = { trainval: byDigitImages(TRAINVAL_POOL[0], TRAINVAL_POOL[1]), test: byDigitImages(TEST_POOL[0], TEST_POOL[1]) };

  for (const split of ['train', 'val', 'test'] as Split[]) {
    const list = bySplit[split];
    list.forEach((s, i) => (s.index = i));
    const perm = new Rng(seed, 'corrupt', split).permutation(list.length);
    const k = Math.round(effects.corruptFraction * list.length);
    for (let j = 0; j < k; j++) {
      const s = list[perm[j]];
      const kind = effects.corruptKinds[j % effects.corruptKinds.length];
      s.corruption = { modality: effects.corruptModality, kind };
      if (kind === 'swap') {
        // an image of another digit, from the same pool
        const rng = new Rng(seed, 'swap', s.id);
        const other = (s.label + 1 + rng.uniformInt(9)) % 10;
        const pool = swapPools[split === 'test' ? 'test' : 'trainval'][other];
        s.meta!.image = pool[rng.uniformInt(pool.length)];
      }
    }
  }

  const recipe = [
    'avdigits:v1',
    `audio=${FSDD_RECIPE}${effects.audioSnrDb === null ? '' : `,noise-snr${effects.audioSnrDb}`}`,
    `visual=mnist-order-v1,scale${effects.visualScale},contrast${effects.visualContrast},noise${effects.visualNoise},standardise`,
    `corrupt=${effects.corruptFraction},${effects.corruptModality},${effects.corruptKinds.join('+')},snr${effects.noiseSnrDb},silence${effects.silenceDb},occlusion${effects.occlusionSize}`,
    `seed=${seed}`,
  ].join(';');

  return {
    name: 'avdigits',
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    modalities: [
      { name: 'audio', shape: FSDD_SHAPE, augmented: false },
      { name: 'visual', shape: [1, 28, 28], augmented: false },
    ],
    samples: (split) => bySplit[split],
    recipe,
    source: { spec: 'avdigits', options },
    skipped: [],
    async load(sample, opts) {
      const clip = clipOf.get(sample.id);
      if (!clip) throw new Error(`avdigits: unknown sample ${sample.id}`);
      const c = sample.corruption;
      const out: Record<string, Float32Array> = {};
      if (!opts.modalities || opts.modalities.includes('audio')) {
        const wav = decodeWav(await readFile(clip.file), clip.file);
        let wave = degradeAudio(toMono(wav), effects, new Rng(seed, 'audio-noise', sample.id));
        if (c?.modality === 'audio') wave = corruptAudio(wave, c.kind, effects, new Rng(seed, 'audio-corruption', sample.id));
        out.audio = fsddLogMel(wave, wav.sampleRate);
      }
      if (!opts.modalities || opts.modalities.includes('visual')) {
        const at = Number(sample.meta!.image) * 784;
        let img = mnist.pixels.subarray(at, at + 784);
        if (c?.kind === 'occlusion') img = occlude(img, effects, new Rng(seed, 'occlusion', sample.id));
        out.visual = degradeImage(img, effects, new Rng(seed, 'visual-noise', sample.id));
      }
      return out;
    },
  };
}
