/**
 * The shared shape of cremad, ave and ks: one audio item (wav or a precomputed array) and one
 * frame folder per clip; features are the dataset's audio recipe and k normalised frames.
 */
import { readFile } from 'node:fs/promises';
import { decodeWav, toMono } from '../audio/wav.js';
import { DataError } from '../errors.js';
import { frameDecodeSettings, loadFrames } from '../image/frames.js';
import { toFloat32, sizeOf, type NdArray } from '../io/ndarray.js';
import { readNpy } from '../io/npy.js';
import { readPickledArray } from '../io/pickle.js';
import { Rng } from '../rng.js';
import type { Dataset, DatasetSource, LoadOptions, ModalitySpec, Sample, SkippedSample, Split } from '../types.js';

/** One clip as listed by the split files. */
export interface ClipEntry {
  id: string;
  label: number;
  split: Split;
  audioFile: string;
  frameDir: string;
  /** Split file and line that listed it. */
  listFile: string;
  line: number;
}

/** How a dataset turns its audio files into features. */
export interface AudioRecipe {
  /** Feature shape, e.g. [1, 257, 188]. */
  shape: number[];
  /** Describes the wav recipe and the accepted array files. */
  recipe: string;
  /** Features of a mono waveform. */
  fromWave(wave: Float32Array, rate: number): Float32Array;
}

/** Reads an audio item: .wav through the recipe, .npy / .pkl as stored (their element count must match the recipe's shape). */
export async function loadAudioItem(file: string, recipe: AudioRecipe): Promise<Float32Array> {
  const bytes = await readFile(file).catch(() => {
    throw new DataError(file, 'audio file is missing or unreadable');
  });
  if (file.endsWith('.wav')) {
    const wav = decodeWav(bytes, file);
    return recipe.fromWave(toMono(wav), wav.sampleRate);
  }
  let arr: NdArray;
  if (file.endsWith('.npy')) arr = readNpy(bytes, file);
  else if (file.endsWith('.pkl')) arr = readPickledArray(bytes, file);
  else throw new DataError(file, 'unknown audio file type (expected .wav, .npy or .pkl)');
  if (sizeOf(arr.shape) !== sizeOf(recipe.shape)) {
    throw new DataError(file, `wrong shape [${arr.shape.join(', ')}], expected [${recipe.shape.join(', ')}]`);
  }
  return toFloat32(arr);
}

/** Parameters of a clip dataset. */
export interface ClipDatasetInit {
  name: string;
  classes: string[];
  entries: ClipEntry[];
  audio: AudioRecipe;
  frames: number;
  imageSize: number;
  source: DatasetSource;
  skipped: SkippedSample[];
}

/** Builds the Dataset of a clip list. */
export function clipDataset(init: ClipDatasetInit): Dataset {
  const bySplit: Record<Split, Sample[]> = { train: [], val: [], test: [] };
  const entryOf = new Map<string, ClipEntry>(); // by "split/index"
  for (const e of init.entries) {
    const list = bySplit[e.split];
    const sample: Sample = {
      id: e.id,
      label: e.label,
      split: e.split,
      index: list.length,
      corruption: null,
      meta: { listFile: e.listFile, line: e.line, audio: e.audioFile, frames: e.frameDir },
    };
    entryOf.set(`${e.split}/${list.length}`, e);
    list.push(sample);
  }
  const { decodeScaling } = frameDecodeSettings(init.name, init.source.options);
  const modalities: ModalitySpec[] = [
    { name: 'audio', shape: init.audio.shape, augmented: false },
    { name: 'visual', shape: [init.frames, 3, init.imageSize, init.imageSize], augmented: true },
  ];
  return {
    name: init.name,
    classes: init.classes,
    modalities,
    samples: (split) => bySplit[split],
    recipe: `${init.name}:audio=${init.audio.recipe};visual=frames${init.frames},size${init.imageSize},eval-centre-square,train-rrc-flip,imagenet-norm${decodeScaling ? ',dct-scaling' : ''}`,
    source: init.source,
    skipped: init.skipped,
    async load(sample: Sample, opts: LoadOptions) {
      const e = entryOf.get(`${sample.split}/${sample.index}`);
      if (!e || e.id !== sample.id) throw new Error(`${init.name}: unknown sample ${sample.id}`);
      const want = opts.modalities ?? ['audio', 'visual'];
      const out: Record<string, Float32Array> = {};
      if (want.includes('audio')) out.audio = await loadAudioItem(e.audioFile, init.audio);
      if (want.includes('visual')) {
        const rng = opts.train ? new Rng(opts.seed, opts.epoch, e.id, 'frames') : null;
        out.visual = await loadFrames(e.frameDir, { count: init.frames, size: init.imageSize, rng, decodeScaling }, opts.into?.visual);
      }
      return out;
    },
  };
}
