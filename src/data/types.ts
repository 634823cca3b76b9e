/**
 * The data contract of mmgap. Everything in src/data is engine-free: features are typed arrays
 * with a shape, and the trainer turns batches into tensors.
 */

/** The three splits every dataset exposes. Data sets without a validation list carve one from train. */
export type Split = 'train' | 'val' | 'test';

/** All splits, in canonical order. */
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/**
 * What one sample of a modality is, read off the rank of its per-sample shape: a clip-level
 * vector [D], a sequence of per-step vectors [T, D] (MFCC or log-mel frames, keypoints,
 * per-frame embeddings), an image [C, H, W], or frames [T, C, H, W].
 */
export type ModalityKind = 'vector' | 'sequence' | 'image' | 'frames';
export const MODALITY_KINDS: readonly ModalityKind[] = ['vector', 'sequence', 'image', 'frames'];

/** The kind of a per-sample shape (rank 1 to 4); anything else is not a modality mmgap can encode. */
export function modalityKind(shape: readonly number[]): ModalityKind {
  const kind = MODALITY_KINDS[shape.length - 1];
  if (!kind) throw new Error(`a modality's per-sample shape has rank 1 to 4 ([D], [T, D], [C, H, W], [T, C, H, W]), got [${shape.join(', ')}]`);
  return kind;
}

/**
 * How a sample's steps are chosen when it has more (or, for `uniform`, fewer) than the batch's:
 *   random   a window of consecutive steps at a random start in training, the centre one in evaluation
 *   centre   the centre window, always
 *   uniform  steps spread over the whole sample (TSN's segment sampling): the sample is cut into
 *            `steps` equal segments and one step taken from each, at a random place in training
 *            and at the segment's centre in evaluation; a shorter sample repeats steps (no padding)
 */
export const STEP_CHOICES = {
  random: 'a random window in training, the centre one in evaluation',
  centre: 'the centre window',
  uniform: 'one step from each of `steps` equal segments of the whole sample (random within its segment in training, its centre in evaluation); shorter samples repeat steps',
} as const;
export type StepChoice = keyof typeof STEP_CHOICES;

/**
 * How the loader brings a modality whose number of steps T varies per sample to the batch's fixed
 * `steps`: longer samples are cropped to a window or sampled over their length (`crop`,
 * STEP_CHOICES), shorter ones zero-padded (`uniform`: repeated); with `mask`, the batch carries
 * each sample's valid steps and encoders ignore the rest.
 */
export interface LengthPolicy {
  steps: number;
  crop: StepChoice;
  mask: boolean;
}

/** One input modality and the shape of one sample's features (no batch dimension). */
export interface ModalitySpec {
  /** e.g. "audio", "visual". */
  name: string;
  /**
   * Per-sample feature shape as batched, e.g. audio [1, 40, 48], visual [1, 28, 28], frames [T, 3, H, W];
   * its rank gives the kind (`modalityKind`). With `length`, shape[0] is the fitted number of steps.
   */
  shape: number[];
  /** True when `train: true` changes the features (random crops, flips, frame choice): such features are never cached. */
  augmented: boolean;
  /**
   * Present when T varies from sample to sample: `load` then returns T_i x (product of shape[1..])
   * values and the loader fits them to `length.steps`.
   */
  length?: LengthPolicy;
  /** Steps per sample over the whole dataset, for sequences and frames (what `data inspect` reports). */
  lengths?: { min: number; median: number; max: number };
  /** True for features read as stored (e.g. .npy files), which no recipe has normalised: `normalize: auto` standardises them. */
  raw?: boolean;
}

/** Ground truth about a deliberately corrupted sample. */
export interface Corruption {
  modality: string;
  /** e.g. "noise", "silence", "occlusion", "swap". */
  kind: string;
}

/** One sample of a split. `index` is its position in `dataset.samples(split)`. */
export interface Sample {
  id: string;
  label: number;
  split: Split;
  index: number;
  corruption: Corruption | null;
  /** Where the sample came from (files, line of the split file, paired image...); for error messages and reports. */
  meta?: Record<string, string | number>;
}

/** Options of one `load` call. */
export interface LoadOptions {
  /** Enables the seeded augmentations and the random frame choice. */
  train: boolean;
  /** Loader seed; augmentations draw from (seed, epoch, sample id). */
  seed: number;
  epoch: number;
  /** Only compute these modalities (default: all). */
  modalities?: string[];
  /**
   * Where a worker wants fixed-size features (modalities without `length`): into[m] holds exactly
   * one sample's values of m, inside the batch buffer the worker hands over. A dataset may write
   * there and return into[m] itself, saving a copy, or ignore it.
   */
  into?: Record<string, Float32Array>;
}

/** A serialisable description from which `openDataset` re-creates a dataset (e.g. in a worker thread). */
export interface DatasetSource {
  spec: string;
  options: OpenOptions;
}

/** Options common to every dataset; each dataset documents its own extra keys. */
export interface OpenOptions {
  /** Skip bad samples found while opening (unknown label, missing file or folder) instead of throwing; they are listed in `dataset.skipped`. */
  skipBadSamples?: boolean;
  /** Number of frames per clip for frame-based datasets. */
  frames?: number;
  /** Side of the square frames (default 224). */
  imageSize?: number;
  /** Seed of the dataset's own random choices (pairing, corruption, validation carve-out). */
  seed?: number;
  /** Dataset-specific options (all JSON-serialisable). */
  [key: string]: unknown;
}

/** A sample that was left out, and why. Nothing is dropped without an entry here. */
export interface SkippedSample {
  id: string;
  split: Split | null;
  /** The file at fault (split file, audio file, frame folder...). */
  file: string;
  /** 1-based line in `file`, for split files and manifests. */
  line?: number;
  reason: string;
}

/** A dataset: a list of samples per split and a way to compute one sample's features. */
export interface Dataset {
  name: string;
  classes: string[];
  modalities: ModalitySpec[];
  samples(split: Split): Sample[];
  /** Features of one sample, one flat Float32Array per modality (C order, shape from `modalities`). */
  load(sample: Sample, opts: LoadOptions): Promise<Record<string, Float32Array>>;
  /** A stable description of the feature recipe; part of the disk-cache key. */
  recipe: string;
  /** How to re-open this dataset elsewhere (worker threads). */
  source: DatasetSource;
  /** Samples left out while opening (only with `skipBadSamples`). */
  skipped: SkippedSample[];
}

/** A stacked batch. `inputs[m].shape` is [size, ...modality shape]. */
export interface Batch {
  ids: string[];
  labels: Int32Array;
  /** Sample indices in the split. */
  index: Int32Array;
  /**
   * `lengths`: valid steps per sample, for a modality with a length policy; `masked`: whether the
   * encoder is to ignore the padded steps (the policy's `mask`).
   */
  inputs: Record<string, { data: Float32Array; shape: number[]; lengths?: Int32Array; masked?: boolean }>;
  /** 1 where the sample carries a deliberate corruption. */
  corrupted: Uint8Array;
  size: number;
}
