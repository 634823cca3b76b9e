import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregateBench, benchCsv, benchEntries, benchJsonRows, benchMarkdown, compareRuns, stat, writeBenchOutputs, type BenchEntry, type TestPredictions } from '../../src/report/bench-table.js';
import { accuracy, macroF1 } from '../../src/core/index.js';
import type { RunSummary, SplitScores } from '../../src/train/types.js';

const scores = (acc: number): SplitScores => ({ acc, f1: acc - 0.1, modality: { audio: { acc: acc - 0.05, f1: 0 }, visual: { acc: acc - 0.3, f1: 0 } } });
const entry = (label: string, seed: number, acc: number, auroc: number | null = null): BenchEntry => ({ label, seed, fold: '', valAcc: acc, test: scores(acc), auroc, wallSeconds: 60 + seed, predictions: null });

describe('bench tables', () => {
  it('takes mean and sample std over seeds, per label in first-seen order', () => {
    expect(stat([1, 2, 3])).toEqual({ mean: 2, std: 1 });
    expect(stat([0.5])).toEqual({ mean: 0.5, std: 0 });
    const rows = aggregateBench([entry('joint', 0, 0.8), entry('gmm', 0, 0.9, 0.8), entry('joint', 1, 0.84), entry('gmm', 1, 0.94, 0.9)]);
    expect(rows.map((r) => r.label)).toEqual(['joint', 'gmm']);
    expect(rows[0].acc.mean).toBeCloseTo(0.82);
    expect(rows[0].acc.std).toBeCloseTo(Math.sqrt(0.0008));
    expect(rows[0].modality.visual.mean).toBeCloseTo(0.52);
    expect(rows[0].auroc).toBeNull();
    expect(rows[1].auroc?.mean).toBeCloseTo(0.85);
    expect(rows[1].wallSeconds).toEqual({ mean: 60.5, std: Math.SQRT1_2 });
    expect(rows[1].seeds).toEqual([0, 1]);
  });

  it('writes aligned Markdown (± std from two runs on) and a CSV of raw fractions', () => {
    const rows = aggregateBench([entry('joint', 0, 0.8), entry('gmm-adaptive + purify', 0, 0.9, 0.8), entry('gmm-adaptive + purify', 1, 0.9, 0.8)]);
    const md = benchMarkdown(rows).split('\n');
    expect(md).toEqual([
      '| method                | runs | val acc %  | test acc % | macro-F1 % | audio acc % | visual acc % | AUROC         | wall time  |',
      '|-----------------------|------|------------|------------|------------|-------------|--------------|---------------|------------|',
      '| joint                 | 1    | 80.0       | 80.0       | 70.0       | 75.0        | 50.0         | –             | 1 min 00 s |',
      '| gmm-adaptive + purify | 2    | 90.0 ± 0.0 | 90.0 ± 0.0 | 80.0 ± 0.0 | 85.0 ± 0.0  | 60.0 ± 0.0   | 0.800 ± 0.000 | 1 min 01 s |',
      '',
    ]);
    const csv = benchCsv(rows).split('\n');
    expect(csv[0]).toBe('method,runs,seeds,folds,test_samples,val_acc_mean,val_acc_std,acc_mean,acc_std,diff_vs_ref,diff_lo,diff_hi,mcnemar_p,f1_mean,f1_std,' +
      'audio_acc_mean,audio_acc_std,visual_acc_mean,visual_acc_std,auroc_mean,auroc_std,wall_s_mean,wall_s_std');
    expect(csv[2]).toBe('gmm-adaptive + purify,2,0 1,,0,0.9,0,0.9,0,,,,,0.8,0,0.85,0,0.6,0,0.8,0,60.5,0.707107');
  });

  it('splits a purified run into the method before and "+ purify" after', () => {
    const s = { method: 'gmm-adaptive', seed: 3, auroc: 0.7, wallSeconds: 9, val: scores(0.79), test: scores(0.8),
      purification: { beforeVal: scores(0.79), before: scores(0.8), afterVal: scores(0.83), after: scores(0.85) } } as unknown as RunSummary;
    expect(benchEntries(s).map((e) => [e.label, e.valAcc, e.test.acc])).toEqual([['gmm-adaptive', 0.79, 0.8], ['gmm-adaptive + purify', 0.83, 0.85]]);
  });

  it('writes the four files with the chart inlined in the page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmgap-bench-'));
    const files = await writeBenchOutputs(dir, aggregateBench([entry('joint', 0, 0.8), entry('joint', 1, 0.82)]), { title: 'test', links: [{ label: 'joint seed 0', href: 'joint-seed0/report.html' }] });
    const html = readFileSync(files.html, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('href="joint-seed0/report.html"');
    expect(html).not.toMatch(/https?:\/\//);
    expect(readFileSync(files.svg, 'utf8')).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  });
});

/** A run with per-sample predictions: `right[i]` says whether sample i is predicted correctly (labels i % 3). */
function withPredictions(label: string, seed: number, fold: string, right: number[]): BenchEntry {
  const labels = Int32Array.from(right.map((_, i) => i % 3));
  const pred = Int32Array.from(right.map((r, i) => (r ? i % 3 : (i + 1) % 3)));
  const predictions: TestPredictions = { ids: right.map((_, i) => `s${i}`), labels, pred, modality: { audio: pred, visual: labels }, numClasses: 3 };
  const acc = accuracy(labels, pred);
  return { label, seed, fold, valAcc: acc, test: scores(acc), auroc: null, wallSeconds: 1, predictions };
}

describe('pooled scores and paired comparisons', () => {
  it('pools a seed\'s folds before scoring, then averages over seeds', () => {
    const a = [1, 1, 1, 0], b = [1, 0, 0, 0, 0, 0];
    const rows = aggregateBench([withPredictions('m', 0, '0', a), withPredictions('m', 0, '1', b)]);
    // Pooled: 4 of 10 right (not the mean of 0.75 and 0.167).
    expect(rows[0]!.acc.mean).toBeCloseTo(0.4, 12);
    expect(rows[0]!.testSamples).toBe(10);
    const labels = Int32Array.from([...a.map((_, i) => i % 3), ...b.map((_, i) => i % 3)]);
    const pred = Int32Array.from([...a.map((r, i) => (r ? i % 3 : (i + 1) % 3)), ...b.map((r, i) => (r ? i % 3 : (i + 1) % 3))]);
    expect(rows[0]!.f1.mean).toBeCloseTo(macroF1(labels, pred, 3), 12);
    expect(rows[0]!.modality.visual!.mean).toBe(1);
  });

  it('compares each row with the reference on the same (seed, fold, sample): diff, interval, McNemar', () => {
    const n = 400;
    const ref = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1)); // 80 %
    const better = ref.map((r, i) => (i % 10 === 0 ? 1 : r)); // 40 samples fixed: 90 %
    const entries = [0, 1].flatMap((seed) => [withPredictions('joint', seed, '0', ref), withPredictions('ours', seed, '0', better)]);
    const rows = aggregateBench(entries, { reference: 'joint' });
    const ours = rows.find((r) => r.label === 'ours')!;
    expect(ours.vsRef!.diff).toBeCloseTo(0.1, 12);
    expect(ours.vsRef!.lo).toBeGreaterThan(0);
    expect(ours.vsRef!.hi).toBeGreaterThan(ours.vsRef!.diff);
    expect(ours.vsRef!.n).toBe(2 * n);
    // 80 discordant pairs, all one way: p = 2 * 0.5^80.
    expect(ours.vsRef!.mcnemarP).toBeCloseTo(2 * 0.5 ** 80, 30);
    const joint = rows.find((r) => r.label === 'joint')!;
    expect(joint.vsRef).toMatchObject({ diff: 0, lo: 0, hi: 0, mcnemarP: 1 });
    const md = benchMarkdown(rows, 'joint');
    expect(md).toMatch(/Δ acc vs joint \[95 % CI\]/);
    expect(md).toMatch(/\| ours .*\+10\.0 \[\+\d\.\d, \+\d+\.\d\] +\| <0\.001 +\| better/);
    expect(md).toMatch(/\| joint .*\(reference\)/);
    const json = benchJsonRows(rows);
    expect(json[1]).toMatchObject({ label: 'ours', acc: 0.9, diff_vs_ref: { diff: ours.vsRef!.diff, lo: ours.vsRef!.lo, hi: ours.vsRef!.hi }, mcnemar_p: ours.vsRef!.mcnemarP });
  });

  it('a difference inside the noise is called so', () => {
    const ref = Array.from({ length: 300 }, (_, i) => (i % 4 === 0 ? 0 : 1));
    const other = ref.map((r, i) => (i === 1 ? 0 : i === 4 ? 1 : r)); // one sample each way
    const c = compareRuns([withPredictions('x', 0, '', other)], [withPredictions('joint', 0, '', ref)])!;
    expect(c.diff).toBe(0);
    expect(c.lo).toBeLessThan(0);
    expect(c.hi).toBeGreaterThan(0);
    expect(c.mcnemarP).toBe(1);
    expect(benchMarkdown(aggregateBench([withPredictions('joint', 0, '', ref), withPredictions('x', 0, '', other)], { reference: 'joint' }), 'joint')).toMatch(/within noise/);
  });

  it('reads predictions/test.csv of a run directory, ids with commas included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmgap-preds-'));
    mkdirSync(join(dir, 'predictions'));
    writeFileSync(join(dir, 'predictions', 'test.csv'), 'id,label,pred,pred_audio,pred_visual,p_true,corrupted\na,1,1,0,1,0.900000,0\n"b,c",2,0,2,2,0.100000,1\n');
    const s = { method: 'joint', seed: 0, auroc: null, wallSeconds: 1, val: scores(0.5), test: scores(0.5), classes: ['0', '1', '2'], purification: null } as unknown as RunSummary;
    const [e] = benchEntries(s, 'joint', dir, '3');
    expect(e!.fold).toBe('3');
    expect(e!.predictions!.ids).toEqual(['a', 'b,c']);
    expect(Array.from(e!.predictions!.pred)).toEqual([1, 0]);
    expect(Array.from(e!.predictions!.modality.audio!)).toEqual([0, 2]);
  });
});
