/** Validation accuracy over epochs: fused and each modality's unimodal head, stages shaded. */
import type { TopLevelSpec } from 'vega-lite';
import type { EpochMetrics } from '../../train/types.js';

export function accuracySpec(metrics: EpochMetrics[]): TopLevelSpec {
  const rows = metrics.flatMap((m) => [
    { epoch: m.epoch, series: 'fused', acc: m.val.acc },
    ...Object.entries(m.val.modality).map(([name, s]) => ({ epoch: m.epoch, series: name, acc: s.acc })),
  ]);
  const stages = metrics.map((m) => ({ from: m.epoch - 0.5, to: m.epoch + 0.5, stage: m.stage }));
  return {
    width: 520,
    height: 260,
    title: 'Validation accuracy by epoch',
    layer: [
      {
        data: { values: stages },
        mark: { type: 'rect', opacity: 0.12 },
        encoding: {
          x: { field: 'from', type: 'quantitative' },
          x2: { field: 'to' },
          color: { field: 'stage', type: 'nominal', title: 'stage', scale: { domain: ['warmup', 'main', 'finetune'], range: ['#999', '#fff', '#2ca02c'] } },
        },
      },
      {
        data: { values: rows },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
          y: { field: 'acc', type: 'quantitative', title: 'accuracy (val)', scale: { domain: [0, 1] }, axis: { format: '%' } },
          color: { field: 'series', type: 'nominal', title: 'head' },
        },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  };
}
