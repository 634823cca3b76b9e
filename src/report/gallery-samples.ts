/**
 * The features of the gallery's samples as thumbnails: the run's dataset re-opened from its
 * config (never downloading: a report must not reach the network) and each sample loaded as
 * evaluation sees it (no augmentation). Whatever fails — the dataset moved, a file unreadable, a
 * shape no thumbnail shows — becomes a note on the page, never a failed report.
 */
import { openDataset } from '../data/open.js';
import type { Dataset, Sample } from '../data/types.js';
import type { RunConfig } from '../train/types.js';
import { renderThumbnail, type Thumbnail } from './thumbnails.js';

/** One modality of one sample: its thumbnail, or why there is none. */
export type ModalityThumbnail = { modality: string; thumbnail: Thumbnail } | { modality: string; problem: string };

export interface SampleThumbnails {
  /** Per modality, in the dataset's order. */
  modalities: ModalityThumbnail[];
  /** Something the reader should know about the whole sample (not found, label changed...), else null. */
  problem: string | null;
}

export interface GalleryThumbnails {
  /** Why there are no thumbnails at all (the dataset could not be opened), else null. */
  unavailable: string | null;
  /** The dataset's class names, when it opened. */
  classes: string[] | null;
  bySample: Map<string, SampleThumbnails>;
}

/** What the gallery needs of a run's config to re-open its data. */
export type DataConfig = Pick<RunConfig, 'data' | 'dataOptions' | 'seed'>;

/** Loads the thumbnails of `ids` (training samples) from the run's dataset. */
export type ThumbnailLoader = (config: DataConfig, ids: readonly string[]) => Promise<GalleryThumbnails>;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function sampleThumbnails(dataset: Dataset, sample: Sample, seed: number): Promise<SampleThumbnails> {
  let features: Record<string, Float32Array>;
  try {
    features = await dataset.load(sample, { train: false, seed, epoch: 0 });
  } catch (e) {
    return { modalities: [], problem: `could not be loaded: ${message(e)}` };
  }
  const modalities = dataset.modalities.map((spec): ModalityThumbnail => {
    const data = features[spec.name];
    if (!data) return { modality: spec.name, problem: 'the dataset returned no features for it' };
    try {
      return { modality: spec.name, thumbnail: renderThumbnail(data, spec.shape) };
    } catch (e) {
      return { modality: spec.name, problem: message(e) };
    }
  });
  return { modalities, problem: null };
}

/** Thumbnails of the training samples `ids` of an open dataset. */
export async function datasetThumbnails(dataset: Dataset, ids: readonly string[], seed: number): Promise<GalleryThumbnails> {
  const train = new Map(dataset.samples('train').map((s) => [s.id, s]));
  const bySample = new Map<string, SampleThumbnails>();
  for (const id of new Set(ids)) {
    const sample = train.get(id);
    bySample.set(id, sample
      ? await sampleThumbnails(dataset, sample, seed)
      : { modalities: [], problem: `is not in the training split of "${dataset.source.spec}" any more (the data changed since the run)` });
  }
  return { unavailable: null, classes: dataset.classes, bySample };
}

/** The run's dataset, opened as the trainer opens it, for thumbnails of `ids`. */
export const loadThumbnails: ThumbnailLoader = async (config, ids) => {
  let dataset: Dataset;
  try {
    // Skipping bad samples: one unreadable sample elsewhere in the data must not hide the others.
    dataset = await openDataset(config.data, { ...config.dataOptions, skipBadSamples: true, download: false });
  } catch (e) {
    return { unavailable: `the dataset "${config.data}" could not be opened (${message(e)})`, classes: null, bySample: new Map() };
  }
  return datasetThumbnails(dataset, ids, config.seed);
};
