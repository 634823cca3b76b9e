/**
 * The accuracies the peers published for the datasets the presets reproduce (test accuracy %,
 * each under its own protocol), declared once: `mmgap bench` prints them beside its own rows
 * (peers.md) and docs/REPRODUCE.md's table is checked against them (test/report/published.test.ts).
 * Methods are named as in mmgap's registry.
 */

export type PresetDataset = 'cremad' | 'ks' | 'ave';
export const PRESET_DATASETS: readonly PresetDataset[] = ['cremad', 'ks', 'ave'];

export interface PublishedResult {
  method: string;
  dataset: PresetDataset;
  /** As printed by the source (its digits). */
  acc: string;
  source: string;
}

const BALANCE_BENCHMARK = 'BalanceBenchmark (arXiv 2502.10816)';
const PAPER = 'GMM-guided adaptive loss (arXiv 2510.21797)';

/** [method, CREMA-D, Kinetics-Sounds, AVE, source]; null: not in the sources we have. */
const TABLE: [string, string | null, string | null, string | null, string][] = [
  ['joint', '65.5', '65.6', null, BALANCE_BENCHMARK],
  ['ogm-ge', '67.8', '67.0', null, BALANCE_BENCHMARK],
  ['pmr', '67.2', '67.1', null, BALANCE_BENCHMARK],
  ['agm', '71.6', null, null, BALANCE_BENCHMARK],
  ['mla', '72.3', '69.1', null, BALANCE_BENCHMARK],
  ['reconboost', '74.0', null, null, BALANCE_BENCHMARK],
  ['sample-valuation', '75.9', '68.0', null, BALANCE_BENCHMARK],
  ['mmpareto', '80.0', '74.6', null, BALANCE_BENCHMARK],
  ['gmm-adaptive', '80.65', '72.42', '70.40', PAPER],
];

export const PUBLISHED: readonly PublishedResult[] = TABLE.flatMap(([method, cremad, ks, ave, source]) =>
  ([['cremad', cremad], ['ks', ks], ['ave', ave]] as const).flatMap(([dataset, acc]) => (acc === null ? [] : [{ method, dataset, acc, source }])));

/** The preset dataset a data spec names (`cremad:/data/x` -> cremad), or null. */
export function presetDataset(spec: string): PresetDataset | null {
  const name = spec.split(':')[0] as PresetDataset;
  return PRESET_DATASETS.includes(name) ? name : null;
}
