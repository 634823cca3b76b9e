/**
 * report.html of a predictions file (`mmgap diagnose --predictions`): the run report's look and
 * charts (gap histogram with the fitted components, BIC of the two fits) for one diagnosis, and
 * the samples the GMM finds most imbalanced.
 */
import { basename, resolve } from 'node:path';
import type { PredictionsDiagnosis } from '../diagnose/diagnose-predictions.js';
import { bicFitSpec } from './charts/bic.js';
import { gapHistogramOf, GROUP_COLORS } from './charts/gap-histogram.js';
import { pct } from './format.js';
import { escapeHtml, figure, page, table } from './html.js';
import { renderSvg } from './vega-svg.js';

/** Rows of the sample table: enough to read the subgroup's head without a page the size of the data. */
export const TOP_SAMPLES = 30;

function resultsSection(d: PredictionsDiagnosis): string {
  const p = d.predictions;
  const g = d.diagnostics.gmm;
  const rows = [
    ['samples', String(p.labels.length)],
    ['classes (score columns)', String(p.numClasses)],
    ...p.modalities.map((m) => [`${m}: scores read as`, p.scores[m] === 'probs' ? 'probabilities' : 'logits (softmax taken here)']),
    ...p.modalities.map((m) => [`${m} only: accuracy (top class)`, pct(d.accuracy[m])]),
    ['gap', p.modalities.length === 2 ? `d = p_${p.modalities[0]}[y] − p_${p.modalities[1]}[y]` : 'spread max_m p_m[y] − min_m p_m[y]'],
    ['gap mean ± sd', `${d.diagnostics.gap.mean.toFixed(4)} ± ${d.diagnostics.gap.std.toFixed(4)}`],
    ['GMM fitted on', `${g.on === 'signed' ? 'the gaps' : 'the absolute gaps |d|'}${g.perClass ? ', standardised within each class' : ''}`],
    ['imbalanced subgroup', g.imbalanced ? `${pct(g.shareImbalanced)} of samples (γ > 0.5)` : 'none: BIC prefers one component (every γ = 0)'],
    ['AUROC of γ vs corrupted flags', g.auroc !== null ? g.auroc.toFixed(3) : p.hasCorrupted ? 'no sample is flagged corrupted' : 'no corrupted flags in the file'],
  ];
  const comps = g.means.map((mean, j) => [
    j === g.balanced ? 'balanced' : 'imbalanced', mean.toFixed(4), Math.sqrt(g.variances[j]).toFixed(4), g.weights[j].toFixed(3),
  ]);
  return `<h2>Results</h2>${table(['', ''], rows)}${table(['component', 'mean', 'sd', 'weight'], comps)}`;
}

async function chartsSection(d: PredictionsDiagnosis): Promise<string> {
  const g = d.diagnostics.gmm;
  const rows = d.diagnostics.rows.map((r) => ({ ...r, corrupted: r.corrupted === 1 }));
  const swatch = (color: string, label: string): string => `<span class="swatch" style="background:${color}"></span>${escapeHtml(label)}`;
  return `<h2>Modality gap</h2>
<p class="note">Histogram of each sample's gap, bars split by the GMM posterior; lines: the fitted components, scaled to counts (none where the GMM was fitted on the gaps standardised within each class: its components are not on this axis).
${swatch(GROUP_COLORS.balanced, 'balanced (γ ≤ 0.5) / balanced component')}${swatch(GROUP_COLORS.imbalanced, 'imbalanced (γ > 0.5) / imbalanced component')}</p>
${figure('gaps', await renderSvg(gapHistogramOf(d.diagnostics, rows, basename(d.predictions.file))), 'Gap histogram with the fitted 2-component GMM.')}
${figure('bic', await renderSvg(bicFitSpec(g.bic1, g.bic2)), 'BIC of the 1- and 2-component fits. Where BIC(2) is lower, the GMM finds an imbalanced subgroup; otherwise every γ is 0.')}`;
}

function samplesSection(d: PredictionsDiagnosis): string {
  const p = d.predictions;
  const index = d.diagnostics.rows.map((_, i) => i);
  const rows = d.diagnostics.rows;
  // Highest posterior first; |gap| orders the rest (all of them when no subgroup is found).
  index.sort((a, b) => rows[b].gamma - rows[a].gamma || Math.abs(rows[b].gap) - Math.abs(rows[a].gap) || a - b);
  const top = index.slice(0, TOP_SAMPLES);
  const headers = ['id', 'label', 'gap', 'γ', 'dominant', ...p.modalities.map((m) => `${m} predicts`), ...(p.hasCorrupted ? ['corrupted'] : [])];
  const body = top.map((i) => [
    rows[i].id, String(rows[i].label), rows[i].gap.toFixed(4), rows[i].gamma.toFixed(4), rows[i].dominant,
    ...p.modalities.map((m) => String(rows[i].pred.modality[m])),
    ...(p.hasCorrupted ? [p.corrupted[i] === 1 ? 'yes' : 'no'] : []),
  ]);
  return `<h2>Most imbalanced samples</h2>
<p class="note">The ${top.length} of ${rows.length} samples with the highest imbalance posterior γ (then the largest |gap|); dominant: the modality most confident in the true class. Every sample is in gaps.csv.</p>
${table(headers, body)}`;
}

function settingsSection(d: PredictionsDiagnosis): string {
  const o = d.options;
  return `<h2>Settings</h2>${table(['setting', 'value'], [['scores', o.scores], ['gmmOn', o.gmmOn], ['seed', String(o.seed)]])}`;
}

/** Renders the report of a diagnosed predictions file as HTML (nothing written). */
export async function renderPredictionsReport(d: PredictionsDiagnosis): Promise<string> {
  const p = d.predictions;
  const title = `mmgap: diagnosis of ${basename(p.file)}`;
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">${escapeHtml(resolve(p.file))} · ${p.labels.length} samples · modalities ${escapeHtml(p.modalities.join(', '))}</p>`,
    resultsSection(d),
    await chartsSection(d),
    samplesSection(d),
    settingsSection(d),
  ];
  return page(title, body.join('\n'));
}
