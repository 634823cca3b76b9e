/**
 * Benchmark tables: runs of a (method x seed [x fold]) grid aggregated per method. Scores pool
 * the test predictions of a seed's folds (accuracy and macro-F1 over all of them), then take the
 * mean ± sample std over seeds. Every row is compared with a reference row (joint training by
 * default) on the same test samples: the difference in accuracy with a 95 % paired bootstrap
 * interval (test samples resampled, each with all its seeds) and McNemar's exact p on the
 * discordant pairs, so a reader sees which differences are outside the noise. Written as
 * Markdown (aligned, so it reads on a terminal too), CSV, an SVG chart and a self-contained HTML page.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { accuracy, macroF1, pairedComparison } from '../core/index.js';
import type { RunSummary, SplitScores } from '../train/types.js';
import { writeFileAtomic } from '../atomic-write.js';
import { duration } from './format.js';
import { escapeHtml, figure, page, table } from './html.js';
import { PUBLISHED, type PresetDataset } from './published.js';
import { renderSvg } from './vega-svg.js';

/** Per-sample test predictions of one run (predictions/test.csv). */
export interface TestPredictions {
  ids: string[];
  labels: Int32Array;
  /** Fused prediction per sample. */
  pred: Int32Array;
  /** Each modality's own prediction per sample. */
  modality: Record<string, Int32Array>;
  numClasses: number;
}

/** One finished run seen as a row of the grid. */
export interface BenchEntry {
  /** Row label: the method, or "method + purify" for the purified model. */
  label: string;
  seed: number;
  /** The data fold of the run ('' without folds): predictions of one seed's folds are pooled. */
  fold: string;
  /** Validation accuracy of the selected model (what tuning may look at). */
  valAcc: number;
  /** Test scores of the run alone. */
  test: SplitScores;
  auroc: number | null;
  wallSeconds: number;
  /** Per-sample test predictions (null for runs written before they were saved). */
  predictions: TestPredictions | null;
}

/** A run of the grid that did not finish (it crashed or was killed): listed under the table, in no row. */
export interface FailedRun {
  label: string;
  seed: number;
  fold: string;
  reason: string;
  /** The run's log (its stderr). */
  log: string;
}

/** The failed runs as lines under the table (none when every run finished). */
export function failedLines(failed: FailedRun[]): string[] {
  if (failed.length === 0) return [];
  return [`${failed.length} run(s) failed and are in no row above:`,
    ...failed.map((f) => `- ${f.label} seed ${f.seed}${f.fold ? ` fold ${f.fold}` : ''}: FAILED, ${f.reason} (log: ${f.log})`)];
}

export interface Stat {
  mean: number;
  std: number;
}

/** A row against the reference row on the same test samples (fractions; diff = row - reference). */
export interface Comparison {
  diff: number;
  lo: number;
  hi: number;
  mcnemarP: number;
  /** Paired predictions compared (samples x seeds). */
  n: number;
}

export interface BenchRow {
  label: string;
  runs: number;
  seeds: number[];
  folds: string[];
  /** Test predictions per seed (all folds pooled). */
  testSamples: number;
  valAcc: Stat;
  acc: Stat;
  f1: Stat;
  modality: Record<string, Stat>;
  /** Null when no run has corruption ground truth. */
  auroc: Stat | null;
  wallSeconds: Stat;
  /** Against the reference row; null for the reference itself's absence or without predictions. */
  vsRef: Comparison | null;
}

/** Reads predictions/<name>.csv of a run (id,label,pred,pred_<m>...,p_true,corrupted). */
export function readTestPredictions(file: string, numClasses: number): TestPredictions {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const header = (lines[0] ?? '').split(',');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${file}: no column "${name}" (header: ${lines[0]})`);
    return i;
  };
  const [iLabel, iPred] = [col('label'), col('pred')];
  const mods = header.filter((h) => h.startsWith('pred_')).map((h) => h.slice(5));
  const rows = lines.slice(1).map((l) => {
    // Ids may be quoted (CSV); the numeric columns are the last ones.
    const parts = l.split(',');
    const tail = parts.slice(parts.length - (header.length - 1));
    const id = parts.slice(0, parts.length - (header.length - 1)).join(',').replace(/^"|"$/g, '').replace(/""/g, '"');
    return { id, cells: [id, ...tail] };
  });
  return {
    ids: rows.map((r) => r.id),
    labels: Int32Array.from(rows.map((r) => Number(r.cells[iLabel]))),
    pred: Int32Array.from(rows.map((r) => Number(r.cells[iPred]))),
    modality: Object.fromEntries(mods.map((m) => [m, Int32Array.from(rows.map((r) => Number(r.cells[col(`pred_${m}`)])))])),
    numClasses,
  };
}

/**
 * The rows a run contributes: its final model; with purification, the model before it under the
 * method's name and the purified one as "method + purify" (the wall time is the whole run's).
 * `dir` (the run directory) supplies the per-sample predictions when they are there.
 */
export function benchEntries(s: RunSummary, label = s.method, dir: string | null = null, fold = ''): BenchEntry[] {
  const preds = (name: string): TestPredictions | null => {
    const file = dir === null ? null : join(dir, 'predictions', `${name}.csv`);
    return file && existsSync(file) ? readTestPredictions(file, s.classes.length) : null;
  };
  const base = { seed: s.seed, fold, auroc: s.auroc, wallSeconds: s.wallSeconds };
  if (!s.purification) return [{ ...base, label, valAcc: s.val.acc, test: s.test, predictions: preds('test') }];
  return [
    { ...base, label, valAcc: s.purification.beforeVal.acc, test: s.purification.before, predictions: preds('test') },
    { ...base, label: `${label} + purify`, valAcc: s.purification.afterVal.acc, test: s.purification.after, predictions: preds('test-purified') },
  ];
}

export function stat(xs: number[]): Stat {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

/** One seed's runs (its folds) pooled into one set of predictions. */
function pooled(group: BenchEntry[]): TestPredictions | null {
  if (group.some((e) => !e.predictions)) return null;
  const ps = group.map((e) => e.predictions as TestPredictions);
  const cat = (f: (p: TestPredictions) => Int32Array): Int32Array => Int32Array.from(ps.flatMap((p) => Array.from(f(p))));
  const mods = Object.keys(ps[0]?.modality ?? {});
  return {
    ids: group.flatMap((e) => (e.predictions as TestPredictions).ids.map((id) => `${e.fold}|${id}`)),
    labels: cat((p) => p.labels), pred: cat((p) => p.pred),
    modality: Object.fromEntries(mods.map((m) => [m, cat((p) => p.modality[m] ?? new Int32Array(p.labels.length).fill(-1))])),
    numClasses: ps[0]?.numClasses ?? 0,
  };
}

/** Per-seed scores: pooled over the seed's folds from predictions, else the mean of its runs' own scores. */
function seedScores(group: BenchEntry[]): { acc: number; f1: number; modality: Record<string, number>; n: number } {
  const p = pooled(group);
  if (p) {
    return {
      acc: accuracy(p.labels, p.pred), f1: macroF1(p.labels, p.pred, p.numClasses), n: p.labels.length,
      modality: Object.fromEntries(Object.entries(p.modality).map(([m, pr]) => [m, accuracy(p.labels, pr)])),
    };
  }
  const avg = (f: (e: BenchEntry) => number): number => group.reduce((a, e) => a + f(e), 0) / group.length;
  const mods = [...new Set(group.flatMap((e) => Object.keys(e.test.modality)))];
  return { acc: avg((e) => e.test.acc), f1: avg((e) => e.test.f1), n: 0, modality: Object.fromEntries(mods.map((m) => [m, avg((e) => e.test.modality[m]?.acc ?? NaN)])) };
}

/** Correctness per (seed, fold, sample) key of a row's runs. */
function correctness(group: BenchEntry[]): Map<string, number> | null {
  const out = new Map<string, number>();
  for (const e of group) {
    const p = e.predictions;
    if (!p) return null;
    p.ids.forEach((id, i) => out.set(`${e.seed}\u0000${e.fold}\u0000${id}`, p.pred[i] === p.labels[i] ? 1 : 0));
  }
  return out;
}

/** The paired comparison of a row's runs with the reference's, on the (seed, fold, sample) keys both have. */
export function compareRuns(row: BenchEntry[], ref: BenchEntry[], seed = 0): Comparison | null {
  const a = correctness(row), b = correctness(ref);
  if (!a || !b) return null;
  const keys = [...a.keys()].filter((k) => b.has(k));
  if (keys.length === 0) return null;
  const clusterIds = new Map<string, number>();
  const clusters = Int32Array.from(keys.map((k) => {
    const sample = k.slice(k.indexOf('\u0000') + 1);
    let c = clusterIds.get(sample);
    if (c === undefined) clusterIds.set(sample, (c = clusterIds.size));
    return c;
  }));
  const r = pairedComparison(Uint8Array.from(keys.map((k) => a.get(k) as number)), Uint8Array.from(keys.map((k) => b.get(k) as number)), { clusters, seed });
  return { diff: r.diff, lo: r.lo, hi: r.hi, mcnemarP: r.mcnemarP, n: r.n };
}

/** Aggregates entries per label, in the order labels first appear; each row is compared with `reference` (a label) when given. */
export function aggregateBench(entries: BenchEntry[], o: { reference?: string } = {}): BenchRow[] {
  const labels = [...new Set(entries.map((e) => e.label))];
  const refGroup = o.reference === undefined ? [] : entries.filter((e) => e.label === o.reference);
  return labels.map((label) => {
    const group = entries.filter((e) => e.label === label);
    const seeds = [...new Set(group.map((e) => e.seed))];
    const perSeed = seeds.map((sd) => seedScores(group.filter((e) => e.seed === sd)));
    const modalities = [...new Set(perSeed.flatMap((x) => Object.keys(x.modality)))];
    const aurocs = group.map((e) => e.auroc).filter((a): a is number => a !== null);
    return {
      label,
      runs: group.length,
      seeds,
      folds: [...new Set(group.map((e) => e.fold))],
      testSamples: Math.max(0, ...perSeed.map((x) => x.n)),
      valAcc: stat(group.map((e) => e.valAcc)),
      acc: stat(perSeed.map((x) => x.acc)),
      f1: stat(perSeed.map((x) => x.f1)),
      modality: Object.fromEntries(modalities.map((m) => [m, stat(perSeed.flatMap((x) => (x.modality[m] === undefined ? [] : [x.modality[m] as number])))])),
      auroc: aurocs.length > 0 ? stat(aurocs) : null,
      wallSeconds: stat(group.map((e) => e.wallSeconds)),
      vsRef: refGroup.length === 0 ? null : compareRuns(group, refGroup),
    };
  });
}

/** The machine-readable rows (`--json`): acc, f1, diff_vs_ref {diff, lo, hi} and mcnemar_p per row (the reference row carries zeros and p = 1). */
export function benchJsonRows(rows: BenchRow[]): Record<string, unknown>[] {
  return rows.map((r) => ({
    label: r.label, runs: r.runs, seeds: r.seeds, folds: r.folds, test_samples: r.testSamples,
    acc: r.acc.mean, acc_std: r.acc.std, f1: r.f1.mean, f1_std: r.f1.std, val_acc: r.valAcc.mean,
    modality_acc: Object.fromEntries(Object.entries(r.modality).map(([m, s]) => [m, s.mean])),
    auroc: r.auroc?.mean ?? null,
    diff_vs_ref: r.vsRef ? { diff: r.vsRef.diff, lo: r.vsRef.lo, hi: r.vsRef.hi } : null,
    mcnemar_p: r.vsRef?.mcnemarP ?? null,
    wall_s: r.wallSeconds.mean,
  }));
}

function modalitiesOf(rows: BenchRow[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r.modality)))];
}

/** "mean ± std", or the mean alone for a single run (its std says nothing). */
function pm(s: Stat | null | undefined, runs: number, scale = 100, digits = 1): string {
  if (!s) return '–';
  const mean = (scale * s.mean).toFixed(digits);
  return runs > 1 ? `${mean} ± ${(scale * s.std).toFixed(digits)}` : mean;
}

/** Header and text cells of the human-readable table (accuracies in %). */
export function benchCells(rows: BenchRow[], reference?: string): { headers: string[]; cells: string[][] } {
  const mods = modalitiesOf(rows);
  const compared = rows.some((r) => r.vsRef);
  const n = (r: BenchRow): number => r.seeds.length;
  const headers = ['method', 'runs', 'val acc %', 'test acc %', ...(compared ? [`Δ acc vs ${reference ?? 'reference'} [95 % CI]`, 'McNemar p', 'verdict'] : []),
    'macro-F1 %', ...mods.map((m) => `${m} acc %`), 'AUROC', 'wall time'];
  const cells = rows.map((r) => [
    r.label,
    String(r.runs),
    pm(r.valAcc, r.runs),
    pm(r.acc, n(r)),
    ...(compared ? comparisonCells(r, reference) : []),
    pm(r.f1, n(r)),
    ...mods.map((m) => pm(r.modality[m], n(r))),
    pm(r.auroc, r.runs, 1, 3),
    duration(r.wallSeconds.mean),
  ]);
  return { headers, cells };
}

/** "+1.2 [+0.3, +2.1]", the p-value, and whether the interval excludes 0. */
function comparisonCells(r: BenchRow, reference?: string): string[] {
  const c = r.vsRef;
  if (r.label === reference) return ['(reference)', '–', '–'];
  if (!c) return ['–', '–', '–'];
  const sg = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;
  const verdict = c.lo > 0 ? 'better' : c.hi < 0 ? 'worse' : 'within noise';
  return [`${sg(c.diff)} [${sg(c.lo)}, ${sg(c.hi)}]`, c.mcnemarP < 0.001 ? '<0.001' : c.mcnemarP.toFixed(3), verdict];
}

/**
 * The peers' format (BalanceBenchmark's tables: accuracy and macro-F1 per method, %, mean over
 * seeds) with the accuracy each method's authors or BalanceBenchmark published for the dataset
 * beside it. Their protocols differ from run to run (docs/REPRODUCE.md), so the column is context,
 * not a comparison with an interval.
 */
export function peersMarkdown(rows: BenchRow[], dataset: PresetDataset): string {
  const published = PUBLISHED.filter((p) => p.dataset === dataset);
  const cells = rows.map((r) => {
    const p = published.find((x) => x.method === r.label);
    return [r.label, pm(r.acc, r.seeds.length), pm(r.f1, r.seeds.length), p?.acc ?? '–', p?.source ?? '–'];
  });
  return markdownTable(['method', 'Acc % (mmgap)', 'macro-F1 % (mmgap)', 'Acc % (published)', 'published by'], cells);
}

/** A Markdown table with padded columns. */
export function benchMarkdown(rows: BenchRow[], reference?: string): string {
  const { headers, cells } = benchCells(rows, reference);
  return markdownTable(headers, cells);
}

function markdownTable(headers: string[], cells: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => `| ${c.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n') + '\n';
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV with raw fractions (not %), one column per mean and std. */
export function benchCsv(rows: BenchRow[]): string {
  const mods = modalitiesOf(rows);
  const header = ['method', 'runs', 'seeds', 'folds', 'test_samples', 'val_acc_mean', 'val_acc_std', 'acc_mean', 'acc_std', 'diff_vs_ref', 'diff_lo', 'diff_hi', 'mcnemar_p',
    'f1_mean', 'f1_std', ...mods.flatMap((m) => [`${m}_acc_mean`, `${m}_acc_std`]), 'auroc_mean', 'auroc_std', 'wall_s_mean', 'wall_s_std'];
  const num = (x: number | undefined): string => (x === undefined ? '' : String(Number(x.toFixed(6))));
  const lines = rows.map((r) =>
    [
      csvField(r.label),
      String(r.runs),
      r.seeds.join(' '),
      csvField(r.folds.join(' ')),
      String(r.testSamples),
      num(r.valAcc.mean), num(r.valAcc.std),
      num(r.acc.mean), num(r.acc.std),
      num(r.vsRef?.diff), num(r.vsRef?.lo), num(r.vsRef?.hi), num(r.vsRef?.mcnemarP),
      num(r.f1.mean), num(r.f1.std),
      ...mods.flatMap((m) => [num(r.modality[m]?.mean), num(r.modality[m]?.std)]),
      num(r.auroc?.mean), num(r.auroc?.std),
      num(r.wallSeconds.mean), num(r.wallSeconds.std),
    ].join(','),
  );
  return [header.join(','), ...lines].join('\n') + '\n';
}

/** Grouped bars (mean) with ± std error bars: test accuracy, macro-F1 and each modality's accuracy, per method. */
export function benchChartSpec(rows: BenchRow[]): TopLevelSpec {
  const mods = modalitiesOf(rows);
  const values = rows.flatMap((r) => [
    { method: r.label, metric: 'test acc', ...r.acc },
    { method: r.label, metric: 'macro-F1', ...r.f1 },
    ...mods.filter((m) => r.modality[m]).map((m) => ({ method: r.label, metric: `${m} acc`, ...r.modality[m] })),
  ]).map((v) => ({ ...v, lo: Math.max(0, v.mean - v.std), hi: Math.min(1, v.mean + v.std) }));
  const metrics = ['test acc', 'macro-F1', ...mods.map((m) => `${m} acc`)];
  const methods = rows.map((r) => r.label);
  return {
    width: Math.max(360, 40 * values.length),
    height: 260,
    title: 'Test scores per method (mean ± std over seeds)',
    data: { values },
    encoding: {
      x: { field: 'metric', type: 'nominal', sort: metrics, title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'method', sort: methods },
      color: { field: 'method', type: 'nominal', sort: methods, title: null },
    },
    layer: [
      { mark: 'bar', encoding: { y: { field: 'mean', type: 'quantitative', title: 'score', scale: { domain: [0, 1] }, axis: { format: '%' } } } },
      { mark: { type: 'rule', color: 'black' }, encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
    ],
  };
}

export interface BenchOutputs {
  markdown: string;
  /** peers.md, for the datasets with published numbers (cremad, ks, ave). */
  peers?: string;
  csv: string;
  svg: string;
  html: string;
}

/**
 * Writes bench.md, bench.csv, bench.svg and the HTML page (`htmlName`, default bench.html) into
 * `dir`. `links` point from the page to each run's own report (paths relative to `dir`).
 */
export async function writeBenchOutputs(
  dir: string,
  rows: BenchRow[],
  options: { title: string; htmlName?: string; intro?: string; reference?: string; links?: { label: string; href: string }[]; dataset?: PresetDataset | null; failed?: FailedRun[] },
): Promise<BenchOutputs> {
  const out = {
    markdown: join(dir, 'bench.md'), csv: join(dir, 'bench.csv'), svg: join(dir, 'bench.svg'), html: join(dir, options.htmlName ?? 'bench.html'),
    ...(options.dataset && { peers: join(dir, 'peers.md') }),
  };
  const svg = await renderSvg(benchChartSpec(rows));
  const { headers, cells } = benchCells(rows, options.reference);
  const links = options.links?.length
    ? `<h2>Runs</h2><ul>${options.links.map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a></li>`).join('')}</ul>`
    : '';
  const failed = failedLines(options.failed ?? []);
  const failedHtml = failed.length ? `<h2>Failed runs</h2><p>${escapeHtml(failed[0] as string)}</p><ul>${failed.slice(1).map((l) => `<li>${escapeHtml(l.slice(2))}</li>`).join('')}</ul>` : '';
  const body = `<h1>${escapeHtml(options.title)}</h1>${options.intro ? `<p class="note">${escapeHtml(options.intro)}</p>` : ''}
${table(headers, cells)}
${failedHtml}
${figure('bench', svg, 'Bars: mean over seeds; lines: ± one standard deviation.')}
${links}`;
  await Promise.all([
    writeFileAtomic(out.markdown, benchMarkdown(rows, options.reference) + (failed.length ? `\n${failed.join('\n')}\n` : '')),
    writeFileAtomic(out.csv, benchCsv(rows)),
    writeFileAtomic(out.svg, svg.replace('<svg', '<svg xmlns="http://www.w3.org/2000/svg"')),
    writeFileAtomic(out.html, page(options.title, body)),
    ...(options.dataset ? [writeFileAtomic(join(dir, 'peers.md'), peersMarkdown(rows, options.dataset))] : []),
  ]);
  return out;
}
