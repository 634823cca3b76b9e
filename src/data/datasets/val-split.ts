import { Rng } from '../rng.js';

/**
 * Chooses a seeded, class-stratified validation subset of a training list (for data sets that
 * ship only train/test lists): round(fraction * n_c) items of each class c. Returns the chosen positions.
 */
export function carveValidation(labels: readonly number[], fraction: number, seed: number): Set<number> {
  const byClass = new Map<number, number[]>();
  labels.forEach((l, i) => byClass.set(l, [...(byClass.get(l) ?? []), i]));
  const chosen = new Set<number>();
  for (const [label, items] of byClass) {
    const perm = new Rng(seed, 'val-split', label).permutation(items.length);
    const k = Math.round(fraction * items.length);
    for (let j = 0; j < k; j++) chosen.add(items[perm[j]]);
  }
  return chosen;
}
