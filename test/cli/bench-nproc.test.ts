/**
 * `mmgap bench --nproc 2` (the built CLI, as a user runs it): every run of the grid trains as 2
 * ranks through the launcher `mmgap train --nproc` uses, and the tables come out as one process's.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSafetensors } from '../../src/torch/index.js';
import { tempDir } from '../helpers/python.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';

const BIN = join(import.meta.dirname, '../../dist/src/cli/main.js');

interface Out { status: number | null; stdout: string; stderr: string }
function mmgap(args: string[]): Promise<Out> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLOG_minloglevel: '3' } });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The model's tensors of a run's last checkpoint. */
function model(run: string): Map<string, Float64Array> {
  const { tensors } = loadSafetensors(join(run, 'checkpoints', 'last.safetensors'));
  return new Map([...tensors].filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k, t.toFloat64Array()]));
}

/** The bench table with its wall-time column blanked (the only column that may differ). */
const layout = (md: string): string => md.replace(/\| *[\d.]+ (s|min|h)[^|]*\|$/gm, '| (time) |');

describe.skipIf(!existsSync(BIN))('mmgap bench --nproc 2', () => {
  const data = `folder:${writeTinyDataset()}`;
  const grid = ['--data', data, '--methods', 'joint,gmm-adaptive', '--seeds', '0', '--epochs', '2', '--warmup', '1', '--batch-size', '16', '--threads', '1', '--json'];

  it('trains every run as 2 ranks and writes the tables of 1 process (with syncBatchNorm, the same models)', async () => {
    const one = tempDir('mmgap-bench1-'), two = tempDir('mmgap-bench2-');
    // syncBatchNorm: the small CNN's BatchNorm then sees the global batch, so the 2-rank runs train the models of the 1-process runs.
    const [a, b] = await Promise.all([mmgap(['bench', ...grid, '--sync-batch-norm', '--out', one]), mmgap(['bench', ...grid, '--sync-batch-norm', '--out', two, '--nproc', '2'])]);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    // One JSON line on stdout (rank 0's), with the same rows and files as one process's.
    const ja = JSON.parse(a.stdout.trim()) as { rows: Record<string, unknown>[]; files: Record<string, string> };
    const jb = JSON.parse(b.stdout.trim().split('\n').at(-1) as string) as typeof ja;
    expect(b.stdout.trim().split('\n')).toHaveLength(1);
    expect(Object.keys(jb.files)).toEqual(Object.keys(ja.files));
    expect(jb.rows.map((r) => r.label)).toEqual(['joint', 'gmm-adaptive']);
    jb.rows.forEach((r, i) => expect(Object.keys(r)).toEqual(Object.keys(ja.rows[i]!)));
    for (const f of ['bench.md', 'bench.csv', 'bench.svg', 'bench.html']) expect(existsSync(join(two, f)), f).toBe(true);
    expect(layout(readFileSync(join(two, 'bench.md'), 'utf8'))).toBe(layout(readFileSync(join(one, 'bench.md'), 'utf8')));
    const csv = (dir: string): string[] => readFileSync(join(dir, 'bench.csv'), 'utf8').trim().split('\n');
    expect(csv(two)[0]).toBe(csv(one)[0]);
    expect(csv(two)).toHaveLength(csv(one).length);
    let worst = 0;
    for (const run of ['joint-seed0', 'gmm-adaptive-seed0']) {
      expect(existsSync(join(two, run, 'report.html')), run).toBe(true);
      const x = model(join(one, run)), y = model(join(two, run));
      expect([...y.keys()]).toEqual([...x.keys()]);
      for (const [k, v] of x) v.forEach((e, i) => { worst = Math.max(worst, Math.abs(e - (y.get(k)![i] as number))); });
    }
    console.log(`bench --nproc 2 vs 1 process (syncBatchNorm): max |difference| of the models' tensors ${worst.toExponential(1)}`);
    expect(worst).toBeLessThan(2e-5);
  });

  it('runs as ranks: a batch that does not split over them is the launcher\'s one-line error', async () => {
    const o = await mmgap(['bench', ...grid.filter((x, i, all) => all[i - 1] !== '--batch-size' && x !== '--batch-size'), '--batch-size', '15', '--out', tempDir('mmgap-bench3-'), '--nproc', '2']);
    expect(o.status).toBe(2);
    expect(o.stderr).toContain('mmgap: batch size 15 does not split over 2 ranks');
    expect(o.stderr).toMatch(/mmgap: rank \d of 2 exited with code 2; the job stopped/);
  });
});
