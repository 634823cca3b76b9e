/**
 * The fault test of data-parallel training: `mmgap train --nproc 2` on a tiny dataset, rank 1
 * killed with SIGKILL in the middle of an epoch (test/helpers/kill-rank.mjs, preloaded into the
 * ranks, kills it just before the backward of a fixed step). The job must stop within 60 s with
 * an error naming the lost rank, and the same command must then resume and end with the metrics
 * and summary of an uninterrupted 2-rank run of that command.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EpochMetrics, RunSummary } from '../../src/train/types.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';
import { tempDir } from '../helpers/python.js';

const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const KILL_HOOK = fileURLToPath(new URL('../helpers/kill-rank.mjs', import.meta.url));

interface Exit { code: number | null; stderr: string; exitedAt: number }

function mmgap(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exit> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (code) => resolve({ code, stderr, exitedAt: Date.now() }));
  });
}

/** What must be identical between the killed-and-resumed job and the uninterrupted one: all but timings and the directory. */
function outcome(dir: string): unknown {
  const { wallSeconds: _w, outDir: _o, ...summary } = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as EpochMetrics).map(({ seconds: _s, gapSeconds: _g, data: _d, memory: _m, ...rest }) => rest);
  return { summary, metrics };
}

describe.skipIf(!existsSync(BIN))('mmgap train --nproc 2: a rank killed with SIGKILL', () => {
  const data = `folder:${writeTinyDataset()}`;
  // 60 training samples in global batches of 16: 4 steps an epoch (mla visits each sample twice: 8).
  const cases = [
    { method: 'gmm-adaptive', killStep: 10, resumedAfter: 2 }, // epoch 3, step 2 (the GMM's per-sample state gathered from both ranks)
    { method: 'mla', killStep: 11, resumedAfter: 1 }, // epoch 2, step 3 (per-batch statistics summed over the ranks; the projector as state)
  ];
  for (const { method, killStep, resumedAfter } of cases) {
    it(`${method}: the job stops within 60 s naming rank 1; the same command resumes and ends as an uninterrupted run`, async () => {
      const flags = (out: string): string[] => ['train', '--data', data, '--method', method, '--epochs', '4', '--warmup', '1', '--batch-size', '16',
        '--width', '4', '--threads', '1', '--seed', '3', '--nproc', '2', '--out', out];
      const whole = tempDir('mmgap-fault-whole-'), killed = tempDir('mmgap-fault-killed-');
      const stamp = join(killed, 'killed-at');
      const [a, b] = await Promise.all([
        mmgap(flags(whole)),
        mmgap(flags(killed), {
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${KILL_HOOK}`.trim(),
          MMGAP_TEST_KILL_RANK: '1', MMGAP_TEST_KILL_STEP: String(killStep), MMGAP_TEST_KILL_STAMP: stamp,
        }),
      ]);
      expect(a.code, a.stderr).toBe(0);

      // The killed job: non-zero, within 60 s of the kill, its last line naming the lost rank.
      expect(b.code, b.stderr).not.toBe(0);
      expect(existsSync(stamp), b.stderr).toBe(true);
      const stopped = b.exitedAt - Number(readFileSync(stamp, 'utf8'));
      console.log(`${method}: the job stopped ${stopped} ms after the kill`);
      expect(stopped).toBeLessThan(60_000);
      expect(b.stderr.trimEnd().split('\n').at(-1)).toBe('mmgap: rank 1 of 2 was killed by SIGKILL; the job stopped (the last finished epoch is saved: run the same command to resume)');
      expect(existsSync(join(killed, 'summary.json'))).toBe(false);
      expect(readFileSync(join(killed, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(resumedAfter);

      // The same command again: it resumes after the last finished epoch and ends as the uninterrupted job.
      const c = await mmgap(flags(killed));
      expect(c.code, c.stderr).toBe(0);
      expect(c.stderr).toContain(`resumed from the checkpoint after epoch ${resumedAfter}`);
      expect(outcome(killed)).toEqual(outcome(whole));
    }, 240_000);
  }
});
