import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregateBench, benchCsv, benchEntries, benchMarkdown, stat, writeBenchOutputs, type BenchEntry } from '../../src/report/bench-table.js';
import type { RunSummary, SplitScores } from '../../src/train/types.js';

const scores = (acc: number): SplitScores => ({ acc, f1: acc - 0.1, modality: { audio: { acc: acc - 0.05, f1: 0 }, visual: { acc: acc - 0.3, f1: 0 } } });
const entry = (label: string, seed: number, acc: number, auroc: number | null = null): BenchEntry => ({ label, seed, valAcc: acc, test: scores(acc), auroc, wallSeconds: 60 + seed });

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
    expect(csv[0]).toBe('method,runs,seeds,val_acc_mean,val_acc_std,acc_mean,acc_std,f1_mean,f1_std,audio_acc_mean,audio_acc_std,visual_acc_mean,visual_acc_std,auroc_mean,auroc_std,wall_s_mean,wall_s_std');
    expect(csv[2]).toBe('gmm-adaptive + purify,2,0 1,0.9,0,0.9,0,0.8,0,0.85,0,0.6,0,0.8,0,60.5,0.707107');
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
