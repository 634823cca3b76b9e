/**
 * The report's sample gallery: the most imbalanced training samples (highest γ at the selected
 * epoch, or the last diagnosed one), a few balanced ones, and the samples purification removed,
 * each with a thumbnail of every modality, its gap, γ, label and predicted classes, so a reader
 * can see which samples are imbalanced and why.
 */
import type { GapRow } from './gaps-csv.js';
import { loadThumbnails, type GalleryThumbnails, type SampleThumbnails, type ThumbnailLoader } from './gallery-samples.js';
import { escapeHtml } from './html.js';
import type { RunData } from './run-data.js';

/** How many samples each part of the gallery shows: enough to see a pattern, few enough to keep the page small. */
export const GALLERY_SIZE = { imbalanced: 12, balanced: 6, removed: 12 } as const;

/** The epoch whose gaps the gallery shows: the selected one when its gaps were written, else the last with gaps. */
export function galleryEpoch(run: Pick<RunData, 'summary' | 'gaps'>): number | null {
  const selected = run.summary?.bestEpoch;
  if (selected !== undefined && run.gaps.has(selected)) return selected;
  const epochs = [...run.gaps.keys()];
  return epochs.length > 0 ? Math.max(...epochs) : null;
}

const byId = (a: GapRow, b: GapRow): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The `n` highest γ (ties, as when the GMM finds no subgroup and every γ is 0: the larger |gap|). */
export function pickImbalanced(rows: readonly GapRow[], n: number): GapRow[] {
  return [...rows].sort((a, b) => b.gamma - a.gamma || Math.abs(b.gap) - Math.abs(a.gap) || byId(a, b)).slice(0, n);
}

/** The `n` lowest γ (ties: the smaller |gap|), leaving out `shown`. */
export function pickBalanced(rows: readonly GapRow[], n: number, shown: readonly GapRow[] = []): GapRow[] {
  const skip = new Set(shown.map((r) => r.id));
  return rows.filter((r) => !skip.has(r.id)).sort((a, b) => a.gamma - b.gamma || Math.abs(a.gap) - Math.abs(b.gap) || byId(a, b)).slice(0, n);
}

/**
 * The `n` samples purification was least likely to keep (keep 0 first, then the higher γ),
 * leaving out `shown` (their cards say so already); none when it kept every sample.
 */
export function pickRemoved(rows: readonly GapRow[], n: number, shown: readonly GapRow[] = []): GapRow[] {
  const skip = new Set(shown.map((r) => r.id));
  return rows.filter((r) => (r.keep ?? 1) < 1 && !skip.has(r.id)).sort((a, b) => (a.keep ?? 1) - (b.keep ?? 1) || b.gamma - a.gamma || byId(a, b)).slice(0, n);
}

function signed(x: number): string {
  const abs = Math.abs(x).toFixed(3);
  return `${x >= 0 || Number(abs) === 0 ? '+' : '−'}${abs}`;
}

/** One predicted class, marked right or wrong against the label. */
function prediction(name: string, pred: number, label: number, className: (c: number) => string): string {
  const ok = pred === label;
  return `<span class="${ok ? 'ok' : 'wrong'}" title="${ok ? 'correct' : 'wrong'}">${escapeHtml(name)} ${escapeHtml(className(pred))} ${ok ? '✓' : '✗'}</span>`;
}

function thumbnailsHtml(id: string, t: SampleThumbnails | undefined): string {
  if (!t) return '';
  const figures = t.modalities.map((m) => ('thumbnail' in m
    ? `<figure class="thumb"><img src="${m.thumbnail.uri}" width="${m.thumbnail.width}" height="${m.thumbnail.height}" alt="${escapeHtml(`${m.modality} of ${id}`)}" title="${escapeHtml(m.thumbnail.title)}"><figcaption>${escapeHtml(m.modality)}</figcaption></figure>`
    : `<figure class="thumb"><span class="thumb-missing" title="${escapeHtml(m.problem)}">no thumbnail</span><figcaption>${escapeHtml(m.modality)}</figcaption></figure>`));
  const problems = [
    ...(t.problem ? [`${id} ${t.problem}`] : []),
    ...t.modalities.flatMap((m) => ('problem' in m ? [`${m.modality}: ${m.problem}`] : [])),
  ];
  return `<div class="thumbs">${figures.join('')}</div>${problems.map((p) => `<div class="note">${escapeHtml(p)}</div>`).join('')}`;
}

/** What a card says about purification: removed, or how likely it is drawn under keep 'soft'. */
function purified(keep: number | undefined): string {
  if (keep === undefined || keep === 1) return '';
  return keep === 0 ? ' · <span class="wrong">removed by purification</span>' : ` · purification draws it with p ${keep.toFixed(2)}`;
}

function card(row: GapRow, keep: number | undefined, thumbs: GalleryThumbnails, className: (c: number) => string): string {
  const facts = [
    `<b>${escapeHtml(row.id)}</b> · label <b>${escapeHtml(className(row.label))}</b>${row.corrupted ? ' · <span class="wrong">corrupted (ground truth)</span>' : ''}`,
    `gap ${signed(row.gap)} (${escapeHtml(row.dominant)} stronger) · γ ${row.gamma.toFixed(3)}${purified(keep)}`,
  ];
  if (row.pred) {
    const preds = [
      ...(row.pred.fused === null ? [] : [prediction('fused', row.pred.fused, row.label, className)]),
      ...Object.entries(row.pred.modality).map(([m, p]) => prediction(m, p, row.label, className)),
    ];
    facts.push(`predicted: ${preds.join(' · ')}`);
  }
  return `<div class="sample" data-id="${escapeHtml(row.id)}">${thumbnailsHtml(row.id, thumbs.bySample.get(row.id))}<div class="facts">${facts.join('<br>')}</div></div>`;
}

interface Cards {
  thumbs: GalleryThumbnails;
  className: (c: number) => string;
  /** Purification's keep probability by sample id (empty without purification). */
  keep: Map<string, number>;
}

function part(name: string, heading: string, note: string, rows: readonly GapRow[], c: Cards): string {
  const cards = rows.map((r) => card(r, r.keep ?? c.keep.get(r.id), c.thumbs, c.className));
  return `<h3>${escapeHtml(heading)}</h3><p class="note">${note}</p><div class="gallery" data-gallery="${name}">${cards.join('\n')}</div>`;
}

function removalNote(run: RunData, removed: number, shownAbove: number): string {
  const keep = run.summary?.purification?.config.keep;
  const rule = keep === 'soft'
    ? 'Purification draws each sample with probability 1 − γ every fine-tuning epoch: these are the least likely to be drawn'
    : keep === 'mixture' ? 'Purification kept the balanced component\'s share of the lowest-γ samples: these were removed'
    : `Purification kept the samples with γ < ${run.summary?.purification?.config.tau ?? 'τ'}: these were removed`;
  return `${escapeHtml(rule)} (${removed} with keep probability below 1, highest γ first${shownAbove > 0 ? `; ${shownAbove} of them are shown above and not repeated` : ''}). γ here is from purification's own GMM on the selected model's gaps.`;
}

/**
 * The gallery section of report.html. `load` re-opens the run's dataset for the thumbnails (a
 * parameter so that tests can hand in data without a dataset).
 */
export async function gallerySection(run: RunData, load: ThumbnailLoader = loadThumbnails): Promise<string> {
  const epoch = galleryEpoch(run);
  const rows = epoch === null ? [] : (run.gaps.get(epoch) as GapRow[]);
  const removable = run.purificationRows ?? [];
  if (rows.length === 0 && removable.length === 0) return '';
  const imbalanced = pickImbalanced(rows, GALLERY_SIZE.imbalanced);
  const balanced = pickBalanced(rows, GALLERY_SIZE.balanced, imbalanced);
  const removed = pickRemoved(removable, GALLERY_SIZE.removed, [...imbalanced, ...balanced]);
  const thumbs = await load(run.config, [...imbalanced, ...balanced, ...removed].map((r) => r.id));
  const classes = run.summary?.classes ?? thumbs.classes;
  const keep = new Map(removable.map((r) => [r.id, r.keep ?? 1]));
  const cards: Cards = { thumbs, className: (c) => classes?.[c] ?? String(c), keep };
  const found = run.metrics.find((m) => m.epoch === epoch)?.gmm;
  const parts = [
    `<h2>Sample gallery</h2>`,
    `<p class="note">Training samples at epoch ${epoch ?? '–'}${epoch === run.summary?.bestEpoch ? ' (the selected model)' : ''}, one thumbnail per modality of the features the dataset loads in evaluation mode, before any normalisation the run fits (min-max scaled per thumbnail; sequences as heat maps, time to the right; frame stacks show their middle frame; hover for shape and value range). ` +
      'Gap: the difference of the modalities\' probabilities of the true class; γ: the posterior of the imbalanced subgroup; ✓/✗: predicted class right or wrong.' +
      `${[...rows, ...removed].some((r) => !r.pred) ? ' Predicted classes are missing where the run predates them in its gaps CSV.' : ''}` +
      `${thumbs.unavailable ? ` <b>No thumbnails</b>: ${escapeHtml(thumbs.unavailable)}; the rows below come from the run directory alone.` : ''}</p>`,
  ];
  if (rows.length > 0) {
    const subgroup = found?.imbalanced === false ? ' The GMM found no imbalanced subgroup at this epoch (every γ is 0), so these are the largest |gap|.' : '';
    parts.push(part('imbalanced', 'Most imbalanced', `The ${imbalanced.length} highest γ of ${rows.length} training samples.${subgroup}`, imbalanced, cards));
    parts.push(part('balanced', 'Balanced', `The ${balanced.length} lowest γ (ties: the smallest |gap|), for comparison.`, balanced, cards));
  }
  const removedAll = removable.filter((r) => (r.keep ?? 1) < 1);
  const shownAbove = [...imbalanced, ...balanced].filter((r) => (keep.get(r.id) ?? 1) < 1).length;
  const soft = run.summary?.purification?.config.keep === 'soft';
  if (removedAll.length > 0) parts.push(part('removed', soft ? 'Least likely drawn by purification' : 'Removed by purification', removalNote(run, removedAll.length, shownAbove), removed, cards));
  return parts.join('\n');
}
