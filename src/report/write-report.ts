/**
 * report.html of a run directory: results, accuracy curves, per-epoch gap histograms with the
 * fitted GMM, model selection (BIC), the imbalanced subgroup over time, the test confusion
 * matrix, purification, a gallery of imbalanced, balanced and purified-away samples, and the
 * config. Charts are Vega-Lite rendered to inline SVG and thumbnails are PNG data URIs, so the
 * page opens offline and loads nothing.
 */
import { join } from 'node:path';
import type { EpochMetrics, RunSummary, SplitScores } from '../train/types.js';
import { writeFileAtomic } from '../atomic-write.js';
import { accuracySpec } from './charts/accuracy.js';
import { bicSpec } from './charts/bic.js';
import { confusionSpec } from './charts/confusion.js';
import { gapHistogramSpec, GROUP_COLORS, isDiagnosed } from './charts/gap-histogram.js';
import { purificationSpec } from './charts/purification.js';
import { subgroupSpec } from './charts/subgroup.js';
import { duration, pct } from './format.js';
import { gallerySection } from './gallery.js';
import { escapeHtml, figure, page, table } from './html.js';
import { readRunDir, type RunData } from './run-data.js';
import { renderSvg } from './vega-svg.js';

function scoreRows(name: string, s: SplitScores): string[][] {
  return [
    [`${name}: fused`, pct(s.acc), pct(s.f1)],
    ...Object.entries(s.modality).map(([m, v]) => [`${name}: ${m} only`, pct(v.acc), pct(v.f1)]),
  ];
}

/** Share of the training loops spent waiting for data above which the report names the loader as the bottleneck. */
const LOADER_BOUND_SHARE = 0.1;

/** The data wait per training step over the run's measured epochs, and its share of their training loops; null when none was measured. */
export function dataWait(metrics: EpochMetrics[]): { perStep: number; share: number } | null {
  const measured = metrics.flatMap((m) => (m.data && m.data.steps > 0 ? [m.data] : []));
  if (measured.length === 0) return null;
  const sum = (f: (d: NonNullable<EpochMetrics['data']>) => number): number => measured.reduce((a, d) => a + f(d), 0);
  return { perStep: sum((d) => d.waitSeconds) / sum((d) => d.steps), share: sum((d) => d.waitSeconds) / Math.max(sum((d) => d.loopSeconds), 1e-9) };
}

function dataWaitRow(metrics: EpochMetrics[]): string[][] {
  const w = dataWait(metrics);
  if (!w) return [];
  const verdict = w.share > LOADER_BOUND_SHARE ? ': the loader, not the model, sets the pace (raise --workers)' : '';
  return [['data wait per training step', `${(1000 * w.perStep).toFixed(1)} ms (${pct(w.share)} of the training loops)${verdict}`]];
}

const gb = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GB`;

/** The run's peak tensor memory (the caching allocator's, in use and held) and peak resident size, in bytes, over the epochs that recorded them; null without any. */
export function peakMemory(metrics: EpochMetrics[]): { allocated: number; reserved: number; rss: number } | null {
  const m = metrics.flatMap((e) => (e.memory ? [e.memory] : []));
  if (m.length === 0) return null;
  const max = (f: (x: (typeof m)[number]) => number): number => Math.max(...m.map(f));
  return { allocated: max((x) => x.peakAllocated), reserved: max((x) => x.peakReserved), rss: max((x) => x.maxRss) };
}

function memoryRow(metrics: EpochMetrics[]): string[][] {
  const p = peakMemory(metrics);
  return p ? [['peak memory: tensors in use / held by the allocator / resident', `${gb(p.allocated)} / ${gb(p.reserved)} / ${gb(p.rss)}`]] : [];
}

function resultsSection(run: RunData): string {
  const s = run.summary;
  if (!s) return `<h2>Results</h2><p class="note">The run has not finished: ${run.metrics.length} of ${run.config.epochs || 'auto'} epochs done. Re-run the same command to resume.</p>`;
  const facts = table(
    ['', ''],
    [
      ['best epoch (validation accuracy)', s.epochs ? `${s.bestEpoch} of ${s.epochs}` : String(s.bestEpoch)],
      ['AUROC of γ vs corruption flags (train)', s.auroc === null ? 'no ground truth' : s.auroc.toFixed(3)],
      ['wall time', duration(s.wallSeconds)],
      ...dataWaitRow(run.metrics),
      ...memoryRow(run.metrics),
    ],
  );
  return `<h2>Results</h2>${table(['head', 'accuracy', 'macro-F1'], [...scoreRows('test', s.test), ...scoreRows('val', s.val)])}${facts}`;
}

async function curvesSection(run: RunData): Promise<string> {
  if (run.metrics.length === 0) return '<h2>Training curves</h2><p class="note">No finished epoch yet.</p>';
  return `<h2>Training curves</h2>
${figure('accuracy', await renderSvg(accuracySpec(run.metrics)), 'Fused and per-modality (unimodal head) accuracy on the validation split; shading marks the warm-up and fine-tuning stages.')}
${figure('bic', await renderSvg(bicSpec(run.metrics)), 'BIC of the 1- and 2-component fits of the training gaps. Where BIC(2) is lower, the GMM finds an imbalanced subgroup; otherwise every γ is 0.')}
${figure('subgroup', await renderSvg(subgroupSpec(run.metrics)), 'Share of training samples with imbalance posterior γ > 0.5 and, where the data set marks corrupted samples, the AUROC of γ against those flags.')}`;
}

async function histogramsSection(run: RunData): Promise<string> {
  const diagnosed = run.metrics.filter(isDiagnosed);
  if (diagnosed.length === 0) return '';
  const charts: string[] = [];
  for (const m of diagnosed) charts.push(figure(`gaps-epoch-${m.epoch}`, await renderSvg(gapHistogramSpec(m, run.gaps.get(m.epoch))), `epoch ${m.epoch}`));
  const unsplit = diagnosed.some((m) => !run.gaps.has(m.epoch));
  const swatch = (color: string, label: string): string => `<span class="swatch" style="background:${color}"></span>${escapeHtml(label)}`;
  return `<h2>Modality gap by epoch</h2>
<p class="note">Histogram of each training sample's gap d = p<sub>1</sub>[y] − p<sub>2</sub>[y] after every diagnosed epoch (every epoch, or only the selected one under <code>diagnose: selected</code>), bars split by the GMM posterior; lines: the fitted components, scaled to counts (none where the GMM was fitted on the gaps standardised within each class, <code>diagnoseGaps: per-class</code>: its components are not on this axis).
${swatch(GROUP_COLORS.balanced, 'balanced (γ ≤ 0.5) / balanced component')}${swatch(GROUP_COLORS.imbalanced, 'imbalanced (γ > 0.5) / imbalanced component')}${unsplit ? swatch(GROUP_COLORS.all, 'all samples (epoch without gaps/epoch-N.csv)') : ''}</p>
<div class="grid">${charts.join('\n')}</div>`;
}

async function confusionSection(s: RunSummary | null): Promise<string> {
  if (!s || s.confusion.length === 0) return '';
  return `<h2>Confusion matrix</h2>${figure('confusion', await renderSvg(confusionSpec(s.confusion, s.classes)), `Test split, fused output, model of epoch ${s.bestEpoch}.`)}`;
}

async function purificationSection(s: RunSummary | null): Promise<string> {
  const p = s?.purification;
  if (!p) return `<h2>Purification</h2><p class="note">This run did not purify (train with --purify to fine-tune on the balanced subset).</p>`;
  const rows = [
    ['selection', p.config.keep === 'tau' ? `γ < ${p.config.tau}` : p.config.keep === 'mixture' ? 'the balanced component\'s share (lowest γ)' : 'each epoch, sample i kept with probability 1 − γ'],
    ['fine-tuned', `${p.config.params === 'head' ? 'fusion head' : 'all parameters'}, ${p.config.loss === 'ce' ? 'cross-entropy' : 'the run\'s method'}, ${p.config.epochs} epochs at lr × ${p.config.lrFactor}`],
    ['kept samples', `${p.kept} of ${p.total} (${pct(p.keptFraction)})`],
    ['removed samples that were corrupted', p.removedCorruptedShare === null ? 'no ground truth' : pct(p.removedCorruptedShare)],
    ['test accuracy before → after', `${pct(p.before.acc)} → ${pct(p.after.acc)}`],
    ['test macro-F1 before → after', `${pct(p.before.f1)} → ${pct(p.after.f1)}`],
  ];
  return `<h2>Purification</h2>${table(['', ''], rows)}${figure('purification', await renderSvg(purificationSpec(p)), 'Test accuracy of the fused output and of each modality before and after fine-tuning on the kept subset.')}`;
}

/** The fitted statistics are data, not settings: the table names what was standardised (config.json holds the numbers). */
function normalizationText(v: unknown): string {
  if (v === null || v === undefined) return 'none';
  const stats = v as Record<string, { mean: number[] }>;
  return `per-feature mean and std fitted on the training split (config.json): ${Object.entries(stats).map(([m, s]) => `${m} (${s.mean.length} features)`).join(', ')}`;
}

function configSection(run: RunData): string {
  const rows = Object.entries(run.config).map(([k, v]) => [k, k === 'normalization' ? normalizationText(v) : typeof v === 'string' ? v : JSON.stringify(v)]);
  return `<h2>Configuration</h2>${table(['field', 'value'], rows)}`;
}

/** Renders the report of a run directory as HTML (nothing written). */
export async function renderReport(run: RunData): Promise<string> {
  const c = run.config;
  const title = `mmgap: ${c.method} on ${c.data} (seed ${c.seed})`;
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">${escapeHtml(run.dir)} · run format ${c.formatVersion}${c.mmgapVersion ? ` · mmgap ${escapeHtml(c.mmgapVersion)}` : ''}${c.libtorchVersion ? ` · libtorch ${escapeHtml(c.libtorchVersion)}` : ''}</p>`,
    resultsSection(run),
    await curvesSection(run),
    await histogramsSection(run),
    await confusionSection(run.summary),
    await purificationSection(run.summary),
    await gallerySection(run),
    configSection(run),
  ];
  return page(title, body.join('\n'));
}

/** Writes `outDir/report.html` from the run directory's files and returns its path. */
export async function writeReport(outDir: string): Promise<string> {
  const run = await readRunDir(outDir);
  const file = join(run.dir, 'report.html');
  await writeFileAtomic(file, await renderReport(run));
  return file;
}
