/** BIC of the 1- and 2-component GMM fits over epochs: where BIC(2) < BIC(1) there is an imbalanced subgroup. */
import type { TopLevelSpec } from 'vega-lite';
import type { EpochMetrics } from '../../train/types.js';

const FITS = ['BIC(1): one component', 'BIC(2): two components'] as const;
const TITLE = 'GMM model selection (lower BIC wins)';

export function bicSpec(metrics: EpochMetrics[]): TopLevelSpec {
  const rows = metrics.flatMap((m) => (m.gmm ? [
    { epoch: m.epoch, fit: FITS[0], bic: m.gmm.bic1 },
    { epoch: m.epoch, fit: FITS[1], bic: m.gmm.bic2 },
  ] : []));
  return {
    width: 520,
    height: 220,
    title: TITLE,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'bic', type: 'quantitative', title: 'BIC', scale: { zero: false } },
      color: { field: 'fit', type: 'nominal', title: null },
    },
  };
}

/** The two BICs of one fit (a predictions file has no epochs), as points in the colours of the curves above. */
export function bicFitSpec(bic1: number, bic2: number): TopLevelSpec {
  return {
    width: 420,
    height: 70,
    title: TITLE,
    data: { values: [{ fit: FITS[0], bic: bic1 }, { fit: FITS[1], bic: bic2 }] },
    mark: { type: 'point', filled: true, size: 90 },
    encoding: {
      y: { field: 'fit', type: 'nominal', title: null, sort: [...FITS] },
      x: { field: 'bic', type: 'quantitative', title: 'BIC', scale: { zero: false } },
      color: { field: 'fit', type: 'nominal', title: null, scale: { domain: [...FITS] }, legend: null },
    },
  };
}
