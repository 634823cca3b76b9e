/** Share of training samples in the imbalanced subgroup, and how well gamma finds the corrupted ones (AUROC). */
import type { TopLevelSpec } from 'vega-lite';
import type { EpochMetrics } from '../../train/types.js';

export function subgroupSpec(metrics: EpochMetrics[]): TopLevelSpec {
  const rows = metrics.flatMap((m) => (m.gmm ? [
    { epoch: m.epoch, series: 'share with γ > 0.5', value: m.gmm.shareImbalanced },
    ...(m.gmm.auroc === null ? [] : [{ epoch: m.epoch, series: 'AUROC of γ vs corruption flags', value: m.gmm.auroc }]),
  ] : []));
  return {
    width: 520,
    height: 220,
    title: 'Imbalanced subgroup over epochs (training split)',
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}
