/** What training and the run-directory commands set up alike: threads, device, data, normalisation, loaders, model. */
import { availableParallelism } from 'node:os';
import { checkPrecision, resolveDevice, setNumThreads } from '../torch/index.js';
import { createLoader, fitNormalization, openDataset, type Dataset, type Loader, type LoaderOptions, type Normalization, type Split } from '../data/index.js';
import { buildModel, type MultimodalClassifier } from '../models/classifier.js';
import type { RunDir } from './rundir.js';
import { readStoredConfig } from './rundir.js';
import type { RunConfig } from './types.js';

/** The run's data: its dataset and the standardisation its batches get (null: none). */
export interface RunData {
  device: string;
  dataset: Dataset;
  normalization: Normalization | null;
}

/**
 * Sets libtorch's threads, checks the device (and that it can run the precision), opens the run's dataset and gets its normalisation:
 * the one recorded in the run's config.json, else (a new run) fitted on the training split and
 * recorded there, so that val, test and every later command use the same statistics.
 */
export async function openRunData(cfg: RunConfig, dir: RunDir): Promise<RunData> {
  setNumThreads(cfg.threads || availableParallelism());
  const device = resolveDevice(cfg.device);
  checkPrecision(cfg.precision, device);
  const dataset = await openDataset(cfg.data, { ...cfg.dataOptions, skipBadSamples: cfg.skipBadSamples });
  const stored = readStoredConfig(dir.path);
  if (stored.normalization !== undefined) return { device, dataset, normalization: stored.normalization };
  const specs = dataset.modalities.filter((m) => cfg.normalize === 'on' || (cfg.normalize === 'auto' && m.raw === true));
  let normalization: Normalization | null = null;
  if (specs.length > 0) {
    const loader = runLoader(cfg, { dataset, normalization: null }, 'train');
    try {
      normalization = await fitNormalization(loader, specs);
    } finally {
      await loader.close();
    }
  }
  dir.writeText('config.json', JSON.stringify({ ...stored, normalization }, null, 2) + '\n');
  return { device, dataset, normalization };
}

/**
 * A loader of the run's dataset. Evaluation loaders (the default) see every sample once, in
 * order, without augmentation. MMGAP_CACHE: the feature cache `mmgap data prepare` fills.
 */
export function runLoader(cfg: RunConfig, data: Pick<RunData, 'dataset' | 'normalization'>, split: Split, opts: Partial<LoaderOptions> = {}): Loader {
  return createLoader(data.dataset, split, {
    batchSize: 256, shuffle: false, train: false,
    workers: cfg.workers < 0 ? 'auto' : cfg.workers, skipBadSamples: cfg.skipBadSamples, cacheDir: process.env.MMGAP_CACHE ?? null,
    normalize: data.normalization,
    ...opts,
  });
}

/** The run's classifier for the dataset's modalities, on `device`. */
export function runModel(cfg: RunConfig, dataset: Dataset, device: string): MultimodalClassifier {
  return buildModel(dataset.modalities, dataset.classes.length, { encoder: cfg.encoder, fusion: cfg.fusion, width: cfg.width, device }).to({ device });
}
