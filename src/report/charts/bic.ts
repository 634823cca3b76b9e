/** BIC of the 1- and 2-component GMM fits over epochs: where BIC(2) < BIC(1) there is an imbalanced subgroup. */
import type { TopLevelSpec } from 'vega-lite';
import type { EpochMetrics } from '../../train/types.js';

export function bicSpec(metrics: EpochMetrics[]): TopLevelSpec {
  const rows = metrics.flatMap((m) => (m.gmm ? [
    { epoch: m.epoch, fit: 'BIC(1): one component', bic: m.gmm.bic1 },
    { epoch: m.epoch, fit: 'BIC(2): two components', bic: m.gmm.bic2 },
  ] : []));
  return {
    width: 520,
    height: 220,
    title: 'GMM model selection (lower BIC wins)',
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'bic', type: 'quantitative', title: 'BIC', scale: { zero: false } },
      color: { field: 'fit', type: 'nominal', title: null },
    },
  };
}
