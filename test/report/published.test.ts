import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aggregateBench, peersMarkdown, writeBenchOutputs, type BenchEntry } from '../../src/report/bench-table.js';
import { PUBLISHED, presetDataset } from '../../src/report/published.js';
import { METHODS } from '../../src/methods/registry.js';
import type { SplitScores } from '../../src/train/types.js';

const scores = (acc: number): SplitScores => ({ acc, f1: acc - 0.1, modality: {} });
const entry = (label: string, seed: number, acc: number): BenchEntry => ({ label, seed, fold: '', valAcc: acc, test: scores(acc), auroc: null, wallSeconds: 60, predictions: null });

describe('published numbers', () => {
  it('name registered methods, and docs/REPRODUCE.md\'s table holds exactly them', () => {
    const names = METHODS.map((m) => m.name);
    for (const p of PUBLISHED) expect(names).toContain(p.method);
    const doc = readFileSync(fileURLToPath(new URL('../../docs/REPRODUCE.md', import.meta.url)), 'utf8');
    const rows = doc.split('\n').filter((l) => /^\| .*\(`[a-z-]+`\) \|/.test(l));
    const fromDoc = rows.flatMap((l) => {
      const cells = l.split('|').slice(1, -1).map((c) => c.trim());
      const method = /\(`([a-z-]+)`\)/.exec(cells[0]!)![1]!;
      return (['cremad', 'ks', 'ave'] as const).flatMap((dataset, i) => (cells[i + 1] === '–' ? [] : [`${method} ${dataset} ${cells[i + 1]}`]));
    });
    expect(fromDoc.sort()).toEqual(PUBLISHED.map((p) => `${p.method} ${p.dataset} ${p.acc}`).sort());
  });

  it('bench writes peers.md for a preset dataset: ours beside the published accuracy', async () => {
    expect(presetDataset('cremad:/data/CREMA-D')).toBe('cremad');
    expect(presetDataset('avdigits')).toBeNull();
    const rows = aggregateBench([entry('joint', 0, 0.6), entry('joint', 1, 0.62), entry('gmm-adaptive', 0, 0.7), entry('gmm-adaptive', 1, 0.72), entry('unimodal', 0, 0.5), entry('unimodal', 1, 0.5)]);
    const md = peersMarkdown(rows, 'cremad');
    expect(md).toMatch(/\| joint +\| 61\.0 ± 1\.4 +\| 51\.0 ± 1\.4 +\| 65\.5 +\| BalanceBenchmark/);
    expect(md).toMatch(/\| gmm-adaptive +\| 71\.0 ± 1\.4 +\| 61\.0 ± 1\.4 +\| 80\.65 +\| GMM-guided adaptive loss/);
    expect(md).toMatch(/\| unimodal +\| 50\.0 ± 0\.0 +\| 40\.0 ± 0\.0 +\| – +\| – +\|/);
    expect(peersMarkdown(rows, 'ave')).toMatch(/\| joint +\| 61\.0 ± 1\.4 +\| 51\.0 ± 1\.4 +\| – /);
    const dir = mkdtempSync(join(tmpdir(), 'mmgap-peers-'));
    const files = await writeBenchOutputs(dir, rows, { title: 't', dataset: 'ks' });
    expect(readFileSync(files.peers!, 'utf8')).toMatch(/\| joint +\| 61\.0 ± 1\.4 +\| 51\.0 ± 1\.4 +\| 65\.6 /);
    expect((await writeBenchOutputs(mkdtempSync(join(tmpdir(), 'mmgap-peers-')), rows, { title: 't' })).peers).toBeUndefined();
  });
});
