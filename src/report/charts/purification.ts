/** Test accuracy before and after purification, fused and per modality. */
import type { TopLevelSpec } from 'vega-lite';
import type { PurificationSummary, SplitScores } from '../../train/types.js';

function rowsOf(model: string, s: SplitScores): { model: string; head: string; acc: number }[] {
  return [{ model, head: 'fused', acc: s.acc }, ...Object.entries(s.modality).map(([head, m]) => ({ model, head, acc: m.acc }))];
}

export function purificationSpec(p: PurificationSummary): TopLevelSpec {
  return {
    width: 360,
    height: 220,
    title: `Purification: kept ${(100 * p.keptFraction).toFixed(1)} % of training samples (keep ${p.config.keep}${p.config.keep === 'tau' ? `: γ < ${p.config.tau}` : ''})`,
    data: { values: [...rowsOf('before', p.before), ...rowsOf('after', p.after)] },
    mark: 'bar',
    encoding: {
      x: { field: 'head', type: 'nominal', title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'model', sort: ['before', 'after'] },
      y: { field: 'acc', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] }, axis: { format: '%' } },
      color: { field: 'model', type: 'nominal', title: null, sort: ['before', 'after'] },
    },
  };
}
