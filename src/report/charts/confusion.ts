/** Test confusion matrix of the fused output: colour = share of the true class, text = count. */
import type { TopLevelSpec } from 'vega-lite';

export function confusionSpec(confusion: number[][], classes: string[]): TopLevelSpec {
  const rows = confusion.flatMap((row, t) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    return row.map((count, p) => ({ actual: classes[t] ?? String(t), predicted: classes[p] ?? String(p), count, rate: count / total }));
  });
  const side = Math.min(480, Math.max(160, 32 * classes.length));
  return {
    width: side,
    height: side,
    title: 'Confusion matrix (test, fused)',
    data: { values: rows },
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: classes, title: 'predicted' },
      y: { field: 'actual', type: 'ordinal', sort: classes, title: 'true class' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: { color: { field: 'rate', type: 'quantitative', title: 'share of row', scale: { domain: [0, 1], scheme: 'blues' } } },
      },
      {
        mark: { type: 'text', fontSize: 9 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.rate > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}
