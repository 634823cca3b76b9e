/**
 * The grid runner of `mmgap bench` and `mmgap demo`: each run in a child process, a crashed run
 * reported in the tables while the others finish, and the grid resumable. In-process with the fake
 * trainer (a stand-in child that dies by SIGKILL), then with the built CLI, where the test itself
 * kills a run's process with SIGKILL, as the out-of-memory killer would.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import type { CliChild } from '../../src/cli/io.js';
import { Progress, readRelayed } from '../../src/cli/progress.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';
import { fakeTrainer } from './helpers/fake-trainer.js';
import { memoryIo } from './helpers/memory-io.js';

const dir = mkdtempSync(join(tmpdir(), 'mmgap-grid-'));
const BIN = join(import.meta.dirname, '../../dist/src/cli/main.js');

interface Failed { label: string; seed: number; fold: string; reason: string; log: string }

/** A child that writes a line and dies by `signal`, as a process the kernel killed. */
function killed(signal: string): CliChild {
  let h: (t: string) => void = () => {};
  return {
    onStderr: (f) => { h = f; },
    exited: new Promise((resolve) => setTimeout(() => { h('epoch 1/2 ...\n'); resolve({ code: null, signal }); }, 5)),
    interrupt: () => {},
  };
}

describe('runGrid in mmgap bench (in-process, fake trainer)', () => {
  it('reports a killed run in bench.md and --json, finishes the others, and retrains only it when run again', async () => {
    const out = join(dir, 'bench');
    const trainer = fakeTrainer();
    const argv = ['bench', '--methods', 'joint,gmm-adaptive', '--seeds', '0,1', '--epochs', '2', '--warmup', '1', '--out', out, '--json'];
    const io = memoryIo({
      loadTrainer: async () => trainer,
      child: (args, inProcess) => (args[args.indexOf('--out') + 1] === join(out, 'joint-seed1') ? killed('SIGKILL') : inProcess()),
    });
    const code = await runCli(argv, io, async () => trainer);
    expect(code, io.err).toBe(1);
    expect(trainer.calls.map((c) => `${c.config.method}/${c.config.seed}`)).toEqual(['joint/0', 'gmm-adaptive/0', 'gmm-adaptive/1']);
    const j = JSON.parse(io.out.trim().split('\n').at(-1) as string) as { rows: { label: string; runs: number }[]; failed: Failed[] };
    expect(j.rows.map((r) => [r.label, r.runs])).toEqual([['joint', 1], ['gmm-adaptive', 2]]);
    expect(j.failed).toEqual([{ label: 'joint', seed: 1, fold: '', reason: expect.stringMatching(/^killed by SIGKILL/), log: join(out, 'joint-seed1', 'train.log') }]);
    expect(readFileSync(j.failed[0]!.log, 'utf8')).toMatch(/^# \S+ mmgap train --config \S+grid-config\.json --out \S+joint-seed1 --progress-relay\nepoch 1\/2 \.\.\.\n$/);
    const md = readFileSync(join(out, 'bench.md'), 'utf8');
    expect(md).toContain('1 run(s) failed and are in no row above:');
    expect(md).toContain(`- joint seed 1: FAILED, killed by SIGKILL`);
    expect(readFileSync(join(out, 'bench.html'), 'utf8')).toContain('<h2>Failed runs</h2>');

    // Run again: the finished runs are kept, the failed one trains, and the table is whole.
    const again = fakeTrainer();
    const io2 = memoryIo({ loadTrainer: async () => again });
    expect(await runCli(argv, io2, async () => again), io2.err).toBe(0);
    expect(again.calls.map((c) => `${c.config.method}/${c.config.seed}`)).toEqual(['joint/1']);
    const j2 = JSON.parse(io2.out.trim()) as { rows: { label: string; runs: number }[]; failed: Failed[] };
    expect(j2.rows.map((r) => r.runs)).toEqual([2, 2]);
    expect(j2.failed).toEqual([]);
    expect(readFileSync(join(out, 'bench.md'), 'utf8')).not.toContain('FAILED');
  });

  it('stops at a run refused as bad input (exit 2) with its message, training nothing after it', async () => {
    const trainer = fakeTrainer();
    const io = memoryIo({
      loadTrainer: async () => trainer,
      child: () => {
        let h: (t: string) => void = () => {};
        return { onStderr: (f) => { h = f; }, exited: new Promise((r) => setTimeout(() => { h('mmgap: batch size 15 does not split over 2 ranks\n'); r({ code: 2, signal: null }); }, 5)), interrupt: () => {} };
      },
    });
    const code = await runCli(['bench', '--methods', 'joint,gmm-adaptive', '--seeds', '0', '--epochs', '2', '--warmup', '1', '--out', join(dir, 'refused'), '--json'], io, async () => trainer);
    expect(code).toBe(2);
    expect(io.err).toContain('mmgap: batch size 15 does not split over 2 ranks\nmmgap: the grid stopped at the run refused above');
    expect(existsSync(join(dir, 'refused', 'gmm-adaptive-seed0'))).toBe(false);
  });

  it('relays a run\'s progress bar as marked lines the grid reads back', () => {
    const io = memoryIo();
    const p = new Progress(io, false, true);
    p.update(0.25, 'epoch 1/4 done');
    p.log('a log line');
    const lines = io.err.trimEnd().split('\n');
    expect(lines.map(readRelayed)).toEqual([{ fraction: 0.25, label: 'epoch 1/4 done' }, null]);
    expect(lines[1]).toBe('a log line');
  });
});

describe.skipIf(!existsSync(BIN))('mmgap bench, built, a run killed by SIGKILL', () => {
  it('reports the killed run as failed with its log, and the other run finishes', async () => {
    const data = writeTinyDataset();
    const out = join(dir, 'killed');
    const child = spawn(process.execPath, [BIN, 'bench', '--data', `folder:${data}`, '--methods', 'joint,gmm-adaptive', '--seeds', '0', '--epochs', '40', '--warmup', '1',
      '--batch-size', '16', '--threads', '1', '--out', out, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLOG_minloglevel: '3' } });
    let stdout = '', stderr = '', shot = false;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    // Once the first run (joint) has finished an epoch, kill its process (the bench's child) as the OOM killer would.
    const timer = setInterval(() => {
      if (shot || !existsSync(join(out, 'joint-seed0', 'metrics.jsonl'))) return;
      const pids = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
      if (pids.length !== 1) return;
      shot = true;
      process.kill(Number(pids[0]), 'SIGKILL');
    }, 200);
    const code = await new Promise<number | null>((done) => child.on('close', done));
    clearInterval(timer);
    expect(shot).toBe(true);
    expect(code, stderr).toBe(1);
    const j = JSON.parse(stdout.trim().split('\n').at(-1) as string) as { rows: { label: string }[]; failed: Failed[] };
    expect(j.failed.map((f) => [f.label, f.reason.split(' (')[0]])).toEqual([['joint', 'killed by SIGKILL']]);
    expect(existsSync(j.failed[0]!.log)).toBe(true);
    expect(j.rows.map((r) => r.label)).toEqual(['gmm-adaptive']);
    expect(existsSync(join(out, 'gmm-adaptive-seed0', 'summary.json'))).toBe(true);
    expect(readFileSync(join(out, 'bench.md'), 'utf8')).toMatch(/- joint seed 0: FAILED, killed by SIGKILL .*train\.log\)/);
  }, 300_000);
});
