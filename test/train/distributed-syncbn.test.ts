/**
 * syncBatchNorm in the trainer: a 2-rank run of a model with BatchNorm (the small CNN on the tiny
 * image dataset) ends with the parameters and running statistics of one process on the same
 * global batches; without the setting, each rank's BatchNorm sees only its half and it does not.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/cli/launch.js';
import { loadSafetensors } from '../../src/torch/index.js';
import type { RunConfig } from '../../src/train/types.js';
import { tempDir } from '../helpers/python.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';

const CHILD = fileURLToPath(new URL('../helpers/train-rank.mjs', import.meta.url));

interface Out { status: number | null; stderr: string }
function rankProcess(cfg: Partial<RunConfig>, out: string, rank: number, world: number, port: number): Promise<Out> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CHILD, JSON.stringify(cfg), out, String(rank), String(world), String(port)],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GLOG_minloglevel: '3' } });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (status) => resolve({ status, stderr }));
  });
}

/** Trains `cfg` as `world` ranks; returns the model's tensors (parameters and buffers) of the last checkpoint. */
async function train(cfg: Partial<RunConfig>, world: number): Promise<Map<string, Float64Array>> {
  const out = tempDir('mmgap-syncbn-run-');
  const port = await freePort();
  const outs = await Promise.all(Array.from({ length: world }, (_, r) => rankProcess(cfg, out, r, world, port)));
  for (const o of outs) expect(o.status, o.stderr).toBe(0);
  const { tensors } = loadSafetensors(join(out, 'checkpoints', 'last.safetensors'));
  return new Map([...tensors].filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k, t.toFloat64Array()]));
}

function worst(a: Map<string, Float64Array>, b: Map<string, Float64Array>, filter: (k: string) => boolean = () => true): number {
  expect([...b.keys()]).toEqual([...a.keys()]);
  let w = 0;
  for (const [k, x] of a) {
    if (!filter(k)) continue;
    const y = b.get(k)!;
    for (let i = 0; i < x.length; i++) w = Math.max(w, Math.abs((x[i] as number) - (y[i] as number)));
  }
  return w;
}

describe('syncBatchNorm in a 2-rank run (c10d, Gloo on loopback)', () => {
  it('the 2-rank run with syncBatchNorm ends with the parameters and BatchNorm statistics of 1 process on the same global batches', async () => {
    // 60 training samples in batches of 16: the last global batch (12) splits 6 + 6.
    const base: Partial<RunConfig> = {
      data: `folder:${writeTinyDataset()}`, encoder: 'small-cnn', width: 4, method: 'joint', epochs: 2, warmup: 0, batchSize: 16,
      optimizer: 'sgd', lr: 0.05, momentum: 0.9, threads: 1, seed: 3, schedule: 'none', diagnose: 'selected',
    };
    // In one process the setting changes nothing (it is the reference run here).
    const [one, synced, perRank] = await Promise.all([train({ ...base, syncBatchNorm: true }, 1), train({ ...base, syncBatchNorm: true }, 2), train(base, 2)]);
    expect([...one.keys()].some((k) => k.endsWith('running_var'))).toBe(true);
    const on = worst(one, synced), stats = worst(one, synced, (k) => /running_(mean|var)$/.test(k)), off = worst(one, perRank);
    console.log(`2 ranks vs 1 process, max |difference| of the model's tensors: syncBatchNorm ${on.toExponential(1)} (running statistics ${stats.toExponential(1)}), per-rank BatchNorm ${off.toExponential(1)}`);
    // float32 training: the ranks reduce the same sums in another order.
    expect(on).toBeLessThan(1e-5);
    expect(off).toBeGreaterThan(100 * on);
  });
});
