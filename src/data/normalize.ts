/**
 * Per-feature standardisation fitted on the training split: raw feature files (MFCC with values in
 * the hundreds, embeddings of any scale) need no preprocessing. The feature axis follows the
 * modality's kind: the last axis of vectors [D] and sequences [T, D], the channel axis of images
 * [C, H, W] and frames [T, C, H, W]. Padded steps are left out of the statistics and stay zero.
 */
import { modalityKind, type Batch, type ModalitySpec } from './types.js';

/** Mean and standard deviation per feature of one modality. */
export interface FeatureStats {
  mean: number[];
  std: number[];
}

/** Fitted statistics by modality name (only the standardised modalities). */
export type Normalization = Record<string, FeatureStats>;

/** Below this, a feature is treated as constant: it is centred, not scaled (no division by ~0). */
const MIN_STD = 1e-8;

/** Where a modality's feature axis lies: `features` values, each repeated `inner` times, in `outer` blocks per step. */
function layout(spec: ModalitySpec): { features: number; inner: number } {
  const s = spec.shape;
  switch (modalityKind(s)) {
    case 'vector': return { features: s[0]!, inner: 1 };
    case 'sequence': return { features: s[1]!, inner: 1 };
    case 'image': return { features: s[0]!, inner: s[1]! * s[2]! };
    case 'frames': return { features: s[1]!, inner: s[2]! * s[3]! };
  }
}

/** Steps per sample in the batch layout (1 for vectors and images) and values per step. */
function steps(spec: ModalitySpec): { steps: number; stepSize: number } {
  const kind = modalityKind(spec.shape);
  const stepped = kind === 'sequence' || kind === 'frames';
  const size = spec.shape.reduce((a, b) => a * b, 1);
  return stepped ? { steps: spec.shape[0]!, stepSize: size / spec.shape[0]! } : { steps: 1, stepSize: size };
}

/** Running sums of one modality's features (float64), over valid steps only. */
export class FeatureMoments {
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  count = 0;
  constructor(readonly spec: ModalitySpec) {
    const { features } = layout(spec);
    this.sum = new Float64Array(features);
    this.sumSq = new Float64Array(features);
  }

  /** Adds a batch's values of this modality. */
  add(input: Batch['inputs'][string]): void {
    const { features, inner } = layout(this.spec);
    const { steps: t, stepSize } = steps(this.spec);
    const n = input.shape[0]!;
    for (let i = 0; i < n; i++) {
      const valid = input.lengths ? input.lengths[i]! : t;
      const base = i * t * stepSize;
      for (let k = 0; k < valid * stepSize; k++) {
        const f = Math.floor(k / inner) % features;
        const v = input.data[base + k]!;
        this.sum[f] += v;
        this.sumSq[f] += v * v;
      }
      this.count += valid * (stepSize / features);
    }
  }

  stats(): FeatureStats {
    const mean = Array.from(this.sum, (s) => s / Math.max(1, this.count));
    // population variance, as scikit-learn's StandardScaler
    const std = Array.from(this.sumSq, (s, f) => Math.sqrt(Math.max(0, s / Math.max(1, this.count) - mean[f]! ** 2)));
    return { mean, std };
  }
}

/** Standardises a batch in place with fitted statistics; padded steps stay zero. */
export function normalizeBatch(batch: Batch, modalities: ModalitySpec[], norm: Normalization): void {
  for (const spec of modalities) {
    const stats = norm[spec.name];
    const input = batch.inputs[spec.name];
    if (!stats || !input) continue;
    const { features, inner } = layout(spec);
    if (stats.mean.length !== features) {
      throw new Error(`normalization of "${spec.name}" has ${stats.mean.length} features, the data has ${features}; the run's dataset changed since it was fitted`);
    }
    const scale = stats.std.map((s) => (s > MIN_STD ? 1 / s : 1));
    const { steps: t, stepSize } = steps(spec);
    for (let i = 0; i < batch.size; i++) {
      const valid = input.lengths ? input.lengths[i]! : t;
      const base = i * t * stepSize;
      for (let k = 0; k < valid * stepSize; k++) {
        const f = Math.floor(k / inner) % features;
        input.data[base + k] = (input.data[base + k]! - stats.mean[f]!) * scale[f]!;
      }
    }
  }
}

/** Fits the statistics of `modalities` over every sample a loader yields (an evaluation loader of the training split). */
export async function fitNormalization(loader: AsyncIterable<Batch>, modalities: ModalitySpec[]): Promise<Normalization> {
  const moments = modalities.map((m) => new FeatureMoments(m));
  for await (const batch of loader) for (const mo of moments) mo.add(batch.inputs[mo.spec.name]!);
  return Object.fromEntries(moments.map((mo) => [mo.spec.name, mo.stats()]));
}
