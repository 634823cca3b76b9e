/**
 * One epoch's gap histogram: bars split by the GMM posterior (gamma <= 0.5 balanced, > 0.5
 * imbalanced) with the two fitted component densities drawn over them, scaled to counts.
 * Gaps come from gaps/epoch-N.csv; without it, the histogram kept in metrics.jsonl is shown unsplit.
 */
import type { TopLevelSpec } from 'vega-lite';
import { linspace, mixtureDensity } from '../../core/index.js';
import type { EpochMetrics } from '../../train/types.js';
import type { GapRow } from '../gaps-csv.js';

/** Colours of the two subgroups; the HTML legend of the small multiples uses the same. */
export const GROUP_COLORS = { balanced: '#4c78a8', imbalanced: '#f58518', all: '#9d9d9d' } as const;
type Group = keyof typeof GROUP_COLORS;

/** One bar: [x0, x1) by [y0, y1) samples, stacked here (balanced below imbalanced). */
interface Bin { x0: number; x1: number; group: Group; y0: number; y1: number }

function binRows(rows: GapRow[], absolute: boolean, domain: [number, number], bins: number): Bin[] {
  const width = (domain[1] - domain[0]) / bins;
  const counts = { balanced: new Array<number>(bins).fill(0), imbalanced: new Array<number>(bins).fill(0) };
  for (const r of rows) {
    const x = absolute ? Math.abs(r.gap) : r.gap;
    const b = Math.min(bins - 1, Math.max(0, Math.floor((x - domain[0]) / width)));
    counts[r.gamma > 0.5 ? 'imbalanced' : 'balanced'][b]++;
  }
  return (['balanced', 'imbalanced'] as const).flatMap((group) =>
    counts[group].map((count, b) => {
      const y0 = group === 'imbalanced' ? counts.balanced[b] : 0;
      return { x0: domain[0] + b * width, x1: domain[0] + (b + 1) * width, group, y0, y1: y0 + count };
    }),
  ).filter((bin) => bin.y1 > bin.y0);
}

/** An epoch with diagnostics (runs that diagnose only their selected epoch have one). */
export type DiagnosedEpoch = EpochMetrics & { gap: NonNullable<EpochMetrics['gap']>; gmm: NonNullable<EpochMetrics['gmm']> };

export function isDiagnosed(m: EpochMetrics): m is DiagnosedEpoch {
  return m.gap !== null && m.gmm !== null;
}

/** What a histogram draws: the gaps' histogram and the GMM fitted to them (an epoch's, or a predictions file's). */
export type GapDiagnosis = Pick<DiagnosedEpoch, 'gap' | 'gmm'>;

function densityRows(m: GapDiagnosis, n: number, binWidth: number, domain: [number, number]): { x: number; group: Group; y: number }[] {
  const { means, variances, weights, balanced } = m.gmm;
  if (means.length === 0) return [];
  const grid = linspace(domain[0], domain[1], 121);
  const d = mixtureDensity({ means: Float64Array.from(means), variances: Float64Array.from(variances), weights: Float64Array.from(weights) }, grid);
  return means.flatMap((_, j) =>
    Array.from(grid, (x, t) => ({ x, group: (j === balanced ? 'balanced' : 'imbalanced') as Group, y: d.components[j * grid.length + t] * n * binWidth })),
  );
}

export function gapHistogramSpec(m: DiagnosedEpoch, rows: GapRow[] | undefined): TopLevelSpec {
  return gapHistogramOf(m, rows, `epoch ${m.epoch} (${m.stage})`);
}

export function gapHistogramOf(m: GapDiagnosis, rows: GapRow[] | undefined, title: string): TopLevelSpec {
  const absolute = m.gmm.on === 'absolute';
  const domain: [number, number] = absolute ? [0, 1] : [-1, 1];
  const bins = absolute ? 20 : 40;
  const binWidth = (domain[1] - domain[0]) / bins;
  let bars: Bin[];
  let n: number;
  if (rows && rows.length > 0) {
    bars = binRows(rows, absolute, domain, bins);
    n = rows.length;
  } else {
    const { edges, counts } = m.gap.hist;
    bars = counts.map((count, b) => ({ x0: edges[b], x1: edges[b + 1], group: 'all' as const, y0: 0, y1: count }));
    n = counts.reduce((a, b) => a + b, 0);
  }
  // Densities only where they live on the histogram's axis (an |d| fit over a signed histogram, or
  // a fit in per-class standard units over any gap histogram, would mislead).
  const densities = !m.gmm.perClass && (rows || !absolute) ? densityRows(m, n, rows ? binWidth : (m.gap.hist.edges[1] ?? 0) - (m.gap.hist.edges[0] ?? 0), domain) : [];
  const verdict = m.gmm.imbalanced ? `BIC: 2 groups, ${(100 * m.gmm.shareImbalanced).toFixed(0)} % imbalanced` : 'BIC: 1 group';
  const color = { field: 'group', type: 'nominal', legend: null, scale: { domain: Object.keys(GROUP_COLORS), range: Object.values(GROUP_COLORS) } } as const;
  return {
    width: 210,
    height: 110,
    title: { text: title, subtitle: verdict, subtitleFontSize: 9 },
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar', opacity: 0.75 },
        encoding: {
          x: { field: 'x0', type: 'quantitative', title: absolute ? '|gap d|' : 'gap d', scale: { domain } },
          x2: { field: 'x1' },
          y: { field: 'y1', type: 'quantitative', title: 'samples' },
          y2: { field: 'y0' },
          color,
        },
      },
      {
        data: { values: densities },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { domain } },
          y: { field: 'y', type: 'quantitative' },
          color,
          detail: { field: 'group' },
        },
      },
    ],
  };
}
