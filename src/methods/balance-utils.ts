/** Small helpers shared by the imbalance baselines (ogm-ge, pmr, mmpareto, sample-valuation, diagnosing-relearning, g-blending, ...). */
import { noGrad, stack, type Tensor } from '../torch/index.js';
import { SeededRandom } from '../core/index.js';
import type { ModelOutput } from '../models/types.js';

/** Modality m's unimodal logits [N, C]; `owner` (the method's name) heads the error when the model gave none. */
export function unimodalLogits(out: ModelOutput, m: string, owner: string): Tensor {
  const z = out.unimodal[m];
  if (!z) throw new Error(`${owner}: the model gave no unimodal logits for "${m}"`);
  return z;
}

/** Modality m's encoder features [N, D_m]; `owner` (the method's name) heads the error when the model gave none. */
export function modalityFeatures(out: ModelOutput, m: string, owner: string): Tensor {
  const f = out.features[m];
  if (!f) throw new Error(`${owner}: the model gave no features for "${m}"`);
  return f;
}

/**
 * sum_i softmax(z_i)[y_i] over a batch, without gradient: the modality "score" of OGM-GE (Eq. 7,
 * on unimodal logits) and of PMR (on prototype logits).
 */
export function trueClassScore(logits: Tensor, labels: Tensor): Tensor {
  return noGrad(() => logits.softmax(1).gather(1, labels.unsqueeze(1)).sum());
}

/**
 * Reads named scalar tensors with one device-to-host copy, in float64 (exact for float32 scalars;
 * a float64 model's keep all their digits).
 */
export function readScalars(scalars: Record<string, Tensor>): Record<string, number> {
  const keys = Object.keys(scalars);
  if (keys.length === 0) return {};
  const values = noGrad(() => stack(keys.map((k) => (scalars[k] as Tensor).detach().double().reshape([]))).toFloat64Array());
  return Object.fromEntries(keys.map((k, i) => [k, values[i] as number]));
}

/** The seeded held-out part of a training split of `size` samples: 1 where held out. */
export function heldOutMask(size: number, fraction: number, seed: number): Uint8Array {
  const mask = new Uint8Array(size);
  const count = Math.round(size * fraction);
  const perm = new SeededRandom(seed).permutation(size);
  for (let r = 0; r < count; r++) mask[perm[r] as number] = 1;
  return mask;
}

/** The samples a held-out mask leaves to train on, ascending (an epoch's indices for beginEpoch). */
export function trainingPart(held: Uint8Array): Int32Array {
  const indices = new Int32Array(held.length - held.reduce((s, v) => s + v, 0));
  let at = 0;
  held.forEach((v, i) => { if (!v) indices[at++] = i; });
  return indices;
}

/** Per-step values averaged over an epoch (what endEpoch reports). */
export class EpochMeans {
  #sums = new Map<string, number>();
  #counts = new Map<string, number>();

  add(values: Record<string, number>): void {
    for (const [k, v] of Object.entries(values)) {
      this.#sums.set(k, (this.#sums.get(k) ?? 0) + v);
      this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1);
    }
  }

  /** The means so far, then starts over. */
  take(): Record<string, number> {
    const out = Object.fromEntries([...this.#sums].map(([k, s]) => [k, s / (this.#counts.get(k) as number)]));
    this.#sums.clear();
    this.#counts.clear();
    return out;
  }
}
