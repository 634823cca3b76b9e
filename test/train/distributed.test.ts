/**
 * The trainer as a 2-rank data-parallel job on loopback (each rank a child process running the
 * built package, test/helpers/train-rank.mjs), against one process on the same global batches.
 */
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/cli/launch.js';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom, imbalancePosterior } from '../../src/core/index.js';
import { writeNpy } from '../../src/data/index.js';
import { loadSafetensors } from '../../src/torch/index.js';
import type { RunConfig, RunSummary } from '../../src/train/types.js';
import { tempDir } from '../helpers/python.js';

const CHILD = fileURLToPath(new URL('../helpers/train-rank.mjs', import.meta.url));

/** 48 train / 12 val / 12 test samples of two vector modalities (MLP encoders: no BatchNorm, whose per-rank statistics would differ from one process's by design). */
function vectorDataset(): string {
  const root = tempDir('mmgap-dist-');
  const rng = new SeededRandom(5);
  const lines = ['id,label,split'];
  for (const m of ['audio', 'visual']) mkdirSync(join(root, m), { recursive: true });
  for (const [split, n] of [['train', 48], ['val', 12], ['test', 12]] as const) {
    for (let i = 0; i < n; i++) {
      const id = `${split}-${i}`, label = i % 3;
      lines.push(`${id},c${label},${split}`);
      for (const [m, noise] of [['audio', 0.4], ['visual', 2]] as const) {
        const x = Float32Array.from({ length: 12 }, (_, k) => noise * rng.normal() + (Math.floor(k / 4) === label ? 1 : 0));
        writeFileSync(join(root, m, `${id}.npy`), writeNpy(x, [12]));
      }
    }
  }
  writeFileSync(join(root, 'manifest.csv'), `${lines.join('\n')}\n`);
  return root;
}


interface Out { status: number | null; stdout: string; stderr: string }
function rankProcess(cfg: Partial<RunConfig>, out: string, rank: number, world: number, port: number): Promise<Out> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CHILD, JSON.stringify(cfg), out, String(rank), String(world), String(port)],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLOG_minloglevel: '3' } });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function train(cfg: Partial<RunConfig>, world: number): Promise<{ out: string; outs: Out[] }> {
  const out = tempDir('mmgap-dist-run-');
  const port = await freePort();
  const outs = await Promise.all(Array.from({ length: world }, (_, r) => rankProcess(cfg, out, r, world, port)));
  return { out, outs };
}

const data = `folder:${vectorDataset()}`;
const base: Partial<RunConfig> = { data, epochs: 3, warmup: 1, batchSize: 16, lr: 0.01, threads: 1, seed: 2, schedule: 'none', weightDecay: 0 };

function model(out: string): Map<string, Float32Array> {
  const { tensors } = loadSafetensors(join(out, 'checkpoints', 'last.safetensors'));
  return new Map([...tensors].filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k, t.toFloat32Array()]));
}

describe('trainRun as 2 ranks (c10d, Gloo on loopback)', () => {
  for (const optimizer of ['sgd', 'adam'] as const) {
    it(`gmm-adaptive with ${optimizer}: the 2-rank run ends with the parameters of 1 process on the same global batches`, async () => {
      const cfg = { ...base, method: 'gmm-adaptive', optimizer };
      const [one, two] = await Promise.all([train(cfg, 1), train(cfg, 2)]);
      for (const o of [...one.outs, ...two.outs]) expect(o.status, o.stderr).toBe(0);
      const a = model(one.out), b = model(two.out);
      expect([...b.keys()]).toEqual([...a.keys()]);
      let worst = 0;
      for (const [k, x] of a) {
        const y = b.get(k)!;
        for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs((x[i] as number) - (y[i] as number)));
      }
      // float32 training: the two reduce the same gradients in another order.
      expect(worst).toBeLessThan(2e-4);
      // Every rank summarises the same (gathered) predictions.
      const [s0, s1] = two.outs.map((o) => JSON.parse(o.stdout) as RunSummary);
      expect(s1!.val).toEqual(s0!.val);
      expect(s1!.test).toEqual(s0!.test);
      // The epoch's training loss is over the whole training set.
      const m1 = readFileSync(join(one.out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { train: { loss: number } });
      const m2 = readFileSync(join(two.out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { train: { loss: number } });
      m2.forEach((m, i) => expect(m.train.loss).toBeCloseTo(m1[i]!.train.loss, 4));
    });
  }

  it("gmm-adaptive's gamma: all-gathered gaps, one fit equal to a fit of those gaps in one process", async () => {
    const { out, outs } = await train({ ...base, method: 'gmm-adaptive', optimizer: 'adam' }, 2);
    for (const o of outs) expect(o.status, o.stderr).toBe(0);
    // The trainer compared the method's state (gamma included) across ranks after every fit: the run finished, so they were equal.
    const rows = readFileSync(join(out, 'gaps', 'epoch-3.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(48);
    const gaps = Float64Array.from(rows, (r) => Number(r[2]));
    const refit = imbalancePosterior(gaps, { gmmOn: 'signed', seed: 2 });
    rows.forEach((r, i) => expect(Number(r[3])).toBeCloseTo(refit.gamma[i] as number, 4));
    const { tensors } = loadSafetensors(join(out, 'checkpoints', 'last.safetensors'));
    expect(tensors.get('method.gamma')!.shape).toEqual([48]);
  });

  it('a batch that does not split over the ranks is a one-line error on every rank', async () => {
    const odd = await train({ ...base, batchSize: 15, method: 'gmm-adaptive' }, 2);
    for (const o of odd.outs) {
      expect(o.status).toBe(1);
      expect(o.stderr.trim()).toBe('ConfigError: batch size 15 does not split over 2 ranks; use a multiple of 2 (each rank trains on batchSize / ranks samples per step)');
    }
  });
});
