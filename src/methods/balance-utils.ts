/** Small helpers shared by the imbalance baselines (ogm-ge, pmr, mmpareto, sample-valuation). */
import { noGrad, stack, type Tensor } from '../torch/index.js';

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
