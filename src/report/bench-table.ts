/**
 * Benchmark tables: runs of a (method x seed) grid aggregated per method as mean ± std (sample
 * std over seeds), written as Markdown (aligned, so it reads on a terminal too), CSV, an SVG
 * chart and a self-contained HTML page.
 */
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { RunSummary, SplitScores } from '../train/types.js';
import { writeFileAtomic } from './atomic-write.js';
import { duration } from './format.js';
import { escapeHtml, figure, page, table } from './html.js';
import { renderSvg } from './vega-svg.js';

/** One finished run seen as a row of the grid. */
export interface BenchEntry {
  /** Row label: the method, or "method + purify" for the purified model. */
  label: string;
  seed: number;
  /** Validation accuracy of the selected model (what tuning may look at). */
  valAcc: number;
  /** Test scores. */
  test: SplitScores;
  auroc: number | null;
  wallSeconds: number;
}

export interface Stat {
  mean: number;
  std: number;
}

export interface BenchRow {
  label: string;
  runs: number;
  seeds: number[];
  valAcc: Stat;
  acc: Stat;
  f1: Stat;
  modality: Record<string, Stat>;
  /** Null when no run has corruption ground truth. */
  auroc: Stat | null;
  wallSeconds: Stat;
}

/**
 * The rows a run contributes: its final model; with purification, the model before it under the
 * method's name and the purified one as "method + purify" (the wall time is the whole run's).
 */
export function benchEntries(s: RunSummary, label = s.method): BenchEntry[] {
  const base = { seed: s.seed, auroc: s.auroc, wallSeconds: s.wallSeconds };
  if (!s.purification) return [{ ...base, label, valAcc: s.val.acc, test: s.test }];
  return [
    { ...base, label, valAcc: s.purification.beforeVal.acc, test: s.purification.before },
    { ...base, label: `${label} + purify`, valAcc: s.purification.afterVal.acc, test: s.purification.after },
  ];
}

export function stat(xs: number[]): Stat {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

/** Aggregates entries per label, in the order labels first appear. */
export function aggregateBench(entries: BenchEntry[]): BenchRow[] {
  const labels = [...new Set(entries.map((e) => e.label))];
  return labels.map((label) => {
    const group = entries.filter((e) => e.label === label);
    const modalities = [...new Set(group.flatMap((e) => Object.keys(e.test.modality)))];
    const aurocs = group.map((e) => e.auroc).filter((a): a is number => a !== null);
    return {
      label,
      runs: group.length,
      seeds: group.map((e) => e.seed),
      valAcc: stat(group.map((e) => e.valAcc)),
      acc: stat(group.map((e) => e.test.acc)),
      f1: stat(group.map((e) => e.test.f1)),
      modality: Object.fromEntries(modalities.map((m) => [m, stat(group.flatMap((e) => (e.test.modality[m] ? [e.test.modality[m].acc] : [])))])),
      auroc: aurocs.length > 0 ? stat(aurocs) : null,
      wallSeconds: stat(group.map((e) => e.wallSeconds)),
    };
  });
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
export function benchCells(rows: BenchRow[]): { headers: string[]; cells: string[][] } {
  const mods = modalitiesOf(rows);
  const headers = ['method', 'runs', 'val acc %', 'test acc %', 'macro-F1 %', ...mods.map((m) => `${m} acc %`), 'AUROC', 'wall time'];
  const cells = rows.map((r) => [
    r.label,
    String(r.runs),
    pm(r.valAcc, r.runs),
    pm(r.acc, r.runs),
    pm(r.f1, r.runs),
    ...mods.map((m) => pm(r.modality[m], r.runs)),
    pm(r.auroc, r.runs, 1, 3),
    duration(r.wallSeconds.mean),
  ]);
  return { headers, cells };
}

/** A Markdown table with padded columns. */
export function benchMarkdown(rows: BenchRow[]): string {
  const { headers, cells } = benchCells(rows);
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
  const header = ['method', 'runs', 'seeds', 'val_acc_mean', 'val_acc_std', 'acc_mean', 'acc_std', 'f1_mean', 'f1_std', ...mods.flatMap((m) => [`${m}_acc_mean`, `${m}_acc_std`]), 'auroc_mean', 'auroc_std', 'wall_s_mean', 'wall_s_std'];
  const num = (x: number | undefined): string => (x === undefined ? '' : String(Number(x.toFixed(6))));
  const lines = rows.map((r) =>
    [
      csvField(r.label),
      String(r.runs),
      r.seeds.join(' '),
      num(r.valAcc.mean), num(r.valAcc.std),
      num(r.acc.mean), num(r.acc.std), num(r.f1.mean), num(r.f1.std),
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
  options: { title: string; htmlName?: string; intro?: string; links?: { label: string; href: string }[] },
): Promise<BenchOutputs> {
  const out = { markdown: join(dir, 'bench.md'), csv: join(dir, 'bench.csv'), svg: join(dir, 'bench.svg'), html: join(dir, options.htmlName ?? 'bench.html') };
  const svg = await renderSvg(benchChartSpec(rows));
  const { headers, cells } = benchCells(rows);
  const links = options.links?.length
    ? `<h2>Runs</h2><ul>${options.links.map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a></li>`).join('')}</ul>`
    : '';
  const body = `<h1>${escapeHtml(options.title)}</h1>${options.intro ? `<p class="note">${escapeHtml(options.intro)}</p>` : ''}
${table(headers, cells)}
${figure('bench', svg, 'Bars: mean over seeds; lines: ± one standard deviation.')}
${links}`;
  await Promise.all([
    writeFileAtomic(out.markdown, benchMarkdown(rows)),
    writeFileAtomic(out.csv, benchCsv(rows)),
    writeFileAtomic(out.svg, svg.replace('<svg', '<svg xmlns="http://www.w3.org/2000/svg"')),
    writeFileAtomic(out.html, page(options.title, body)),
  ]);
  return out;
}
