/**
 * The on-disk feature cache: one .npy per (sample, modality), keyed by a hash of the dataset name
 * and spec, its recipe, the sample id and the modality. Only deterministic features are stored
 * (eval mode, or modalities that training does not augment). Files are written to a temporary
 * name and renamed, so readers never see partial files.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readNpy, writeNpy } from './io/npy.js';
import type { Dataset, Sample } from './types.js';

/** A feature cache for one dataset. */
export class FeatureCache {
  private readonly root: string;
  private readonly prefix: string;

  constructor(dir: string, dataset: Dataset) {
    this.root = join(dir, dataset.name);
    this.prefix = JSON.stringify([dataset.name, dataset.source.spec, dataset.recipe]);
  }

  private path(sample: Sample, modality: string): string {
    const h = createHash('sha256').update(`${this.prefix}\n${sample.id}\n${modality}`).digest('hex');
    return join(this.root, h.slice(0, 2), `${h}.npy`);
  }

  /** The cached features, or null when absent or unusable (a size `fits` rejects: it will be rewritten). */
  async get(sample: Sample, modality: string, fits: (size: number) => boolean): Promise<Float32Array | null> {
    const file = this.path(sample, modality);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch {
      return null;
    }
    try {
      const arr = readNpy(bytes, file);
      return arr.data instanceof Float32Array && fits(arr.data.length) ? arr.data : null;
    } catch {
      return null;
    }
  }

  /** Stores features atomically. */
  async put(sample: Sample, modality: string, data: Float32Array): Promise<void> {
    const file = this.path(sample, modality);
    await mkdir(join(file, '..'), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, writeNpy(data, [data.length]));
    await rename(tmp, file);
  }
}
