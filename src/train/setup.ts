/** What training and the run-directory commands set up alike: threads, device, data, loaders, model. */
import { availableParallelism } from 'node:os';
import { checkPrecision, resolveDevice, setNumThreads } from '../torch/index.js';
import { createLoader, openDataset, type Dataset, type Loader, type LoaderOptions, type Split } from '../data/index.js';
import { buildModel, type MultimodalClassifier } from '../models/classifier.js';
import type { RunConfig } from './types.js';

/** Sets libtorch's threads, checks the device (and that it can run the precision) and opens the run's dataset. */
export async function openRunData(cfg: RunConfig): Promise<{ device: string; dataset: Dataset }> {
  setNumThreads(cfg.threads || availableParallelism());
  const device = resolveDevice(cfg.device);
  checkPrecision(cfg.precision, device);
  const dataset = await openDataset(cfg.data, { ...cfg.dataOptions, skipBadSamples: cfg.skipBadSamples });
  return { device, dataset };
}

/**
 * A loader of the run's dataset. Evaluation loaders (the default) see every sample once, in
 * order, without augmentation. MMGAP_CACHE: the feature cache `mmgap data prepare` fills.
 */
export function runLoader(cfg: RunConfig, dataset: Dataset, split: Split, opts: Partial<LoaderOptions> = {}): Loader {
  return createLoader(dataset, split, {
    batchSize: 256, shuffle: false, train: false,
    workers: cfg.workers, skipBadSamples: cfg.skipBadSamples, cacheDir: process.env.MMGAP_CACHE ?? null,
    ...opts,
  });
}

/** The run's classifier for the dataset's modalities, on `device`. */
export function runModel(cfg: RunConfig, dataset: Dataset, device: string): MultimodalClassifier {
  return buildModel(dataset.modalities, dataset.classes.length, { encoder: cfg.encoder, fusion: cfg.fusion, width: cfg.width }).to({ device });
}
