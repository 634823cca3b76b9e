/** The CLI with the real trainer (libtorch): the demo on a tiny dataset in-process, and the README's train line on avdigits. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { RUN_FORMAT_VERSION, type EpochMetrics, type RunSummary } from '../../src/train/types.js';
import { memoryIo } from './helpers/memory-io.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';
import { runChild } from '../helpers/run-child.js';

const ROOT = join(import.meta.dirname, '../..');
const TRAINER = join(ROOT, 'src/train/run.ts');
const BIN = join(ROOT, 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'mmgap-e2e-'));

const read = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const metrics = (run: string): EpochMetrics[] => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochMetrics);

describe.skipIf(!existsSync(TRAINER))('mmgap with the real trainer', () => {
  it('demo --quick: two runs, three rows, reports, numbers that match the run directories', async () => {
    const data = join(dir, 'tiny');
    writeTinyDataset(data);
    const out = join(dir, 'demo');
    const io = memoryIo();
    const code = await runCli(['demo', '--quick', '--data', `folder:${data}`, '--batch-size', '16', '--threads', '1', '--out', out, '--json'], io);
    expect(code, io.err).toBe(0);
    const lines = io.out.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]) as { methods: Record<string, { acc: number; f1: number; modality: Record<string, number> }>; report: string; reports: Record<string, string> };
    expect(Object.keys(j.methods)).toEqual(['joint', 'gmm-adaptive', 'gmm-adaptive + purify']);
    expect(j.report).toBe(join(out, 'report.html'));
    expect(readFileSync(j.report, 'utf8')).toContain('data-chart="bench"');

    const joint = read<RunSummary>(join(out, 'joint', 'summary.json'));
    const gmm = read<RunSummary>(join(out, 'gmm-adaptive', 'summary.json'));
    expect(joint.purification).toBeNull();
    expect(j.methods.joint.acc).toBe(joint.test.acc);
    expect(j.methods['gmm-adaptive'].acc).toBe(gmm.test.acc);
    expect(j.methods['gmm-adaptive + purify'].acc).toBe(gmm.purification?.after.acc);
    expect(Object.keys(j.methods.joint.modality)).toEqual(['audio', 'visual']);
    for (const m of Object.values(j.methods)) {
      expect(m.acc).toBeGreaterThanOrEqual(0);
      expect(m.acc).toBeLessThanOrEqual(1);
    }
    // 2 epochs each (gmm-adaptive's first is the shared warm-up); the gmm-adaptive run adds its purification epoch.
    expect(metrics(join(out, 'joint')).map((m) => m.stage)).toEqual(['main', 'main']);
    expect(metrics(join(out, 'gmm-adaptive')).map((m) => m.stage)).toEqual(['warmup', 'main', 'finetune']);
    expect(gmm.purification?.total).toBe(60);
    for (const run of ['joint', 'gmm-adaptive']) {
      expect(read<{ formatVersion: number }>(join(out, run, 'config.json')).formatVersion).toBe(RUN_FORMAT_VERSION);
      expect(readFileSync(join(out, run, 'gaps', 'epoch-2.csv'), 'utf8').split('\n')[0]).toBe('id,label,gap,gamma,dominant,corrupted,pred,pred_audio,pred_visual');
      expect(existsSync(j.reports[run])).toBe(true);
    }

    // Run again: both runs are finished and reused, nothing trains.
    const again = memoryIo();
    expect(await runCli(['demo', '--quick', '--data', `folder:${data}`, '--batch-size', '16', '--out', out, '--json'], again)).toBe(0);
    expect(JSON.parse(again.out.trim()).methods).toEqual(j.methods);
  });

  it.skipIf(!existsSync(BIN))('Ctrl-C stops a real run with 130 and a resume line; the same command then resumes and finishes', async () => {
    const data = join(dir, 'tiny-sigint');
    writeTinyDataset(data);
    const args = [BIN, 'train', '--data', `folder:${data}`, '--method', 'joint', '--epochs', '12', '--warmup', '1', '--batch-size', '16', '--threads', '1', '--out', join(dir, 'sigint')];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (/epoch 2\/12/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(code, stderr).toBe(130);
    const last = stderr.trimEnd().split('\n').at(-1) as string;
    expect(last).toMatch(/^mmgap: interrupted; the last finished epoch is saved in .*sigint; resume with: mmgap train --data folder:/);
    const done = metrics(join(dir, 'sigint')).length;
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(12);

    const again = await runChild(process.execPath, args, { timeout: 120_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`resumed from the checkpoint after epoch ${done}`));
    expect(metrics(join(dir, 'sigint')).map((m) => m.epoch)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  }, 120_000);

  it.skipIf(!existsSync(BIN))('the README line: mmgap train on avdigits, 2 epochs of joint training with no --warmup, JSON summary as the last line', async () => {
    const out = join(dir, 'avdigits');
    const r = await runChild(process.execPath, [BIN, 'train', '--data', 'avdigits', '--method', 'joint', '--epochs', '2', '--seed', '0', '--out', out, '--json'], { timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) as string) as RunSummary & { report: string };
    expect(metrics(out).map((m) => m.stage)).toEqual(['main', 'main']);
    // The default protocol: leave-one-speaker-out fold 0, the held-out speaker's 500 clips.
    expect(s.confusion.flat().reduce((a, b) => a + b, 0)).toBe(500);
    expect(s.test.acc).toBeGreaterThan(0);
    expect(s.test.f1).toBeGreaterThan(0);
    expect(Object.keys(s.test.modality).sort()).toEqual(['audio', 'visual']);
    expect(existsSync(s.report)).toBe(true);
  }, 300_000);
});
