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
const SESSION_CHILD = fileURLToPath(new URL('../helpers/session-rank.mjs', import.meta.url));

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
function rankProcess(cfg: Partial<RunConfig>, out: string, rank: number, world: number, port: number, child = CHILD, extra: string[] = []): Promise<Out> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [child, JSON.stringify(cfg), out, String(rank), String(world), String(port), ...extra],
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

/** What test/helpers/session-rank.mjs prints: a rank's float64 parameters and its epochs' logs. */
interface SessionResult {
  params: Record<string, { dtype: string; values: number[] }>;
  epochs: { logs: Record<string, number>; method: Record<string, number>; loss: number }[];
  steps: number;
}

/** The trainer's Session on a float64 model, by `world` ranks (each its own run directory); `extra`: session-rank.mjs's options. */
async function sessionRanks(cfg: Partial<RunConfig>, world: number, extra: string[] = []): Promise<Out[]> {
  const port = await freePort();
  return Promise.all(Array.from({ length: world }, (_, r) => rankProcess(cfg, tempDir('mmgap-dist-f64-'), r, world, port, SESSION_CHILD, extra)));
}

async function trainFloat64(cfg: Partial<RunConfig>, world: number): Promise<SessionResult[]> {
  const outs = await sessionRanks(cfg, world);
  for (const o of outs) expect(o.status, o.stderr).toBe(0);
  return outs.map((o) => JSON.parse(o.stdout) as SessionResult);
}

/** max |a - b| / max |b| over one parameter (or one list of logged numbers). */
function rel(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0) / Math.max(scale, 1e-300);
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
    // The diagnostics' default: the gaps standardised within each true class.
    const refit = imbalancePosterior(gaps, { gmmOn: 'signed', classLabels: Int32Array.from(rows, (r) => Number(r[1])), seed: 2 });
    rows.forEach((r, i) => expect(Number(r[3])).toBeCloseTo(refit.gamma[i] as number, 4));
    const { tensors } = loadSafetensors(join(out, 'checkpoints', 'last.safetensors'));
    expect(tensors.get('method.gamma')!.shape).toEqual([48]);
  });

  it('ranks started with different configs (compared by hash at the start) are a one-line error on every rank', async () => {
    const out = tempDir('mmgap-dist-mismatch-');
    const port = await freePort();
    const outs = await Promise.all([0, 1].map((r) => rankProcess({ ...base, method: 'joint', lr: r === 0 ? 0.01 : 0.02 }, out, r, 2, port)));
    for (const o of outs) {
      expect(o.status).toBe(1);
      expect(o.stderr.trim()).toBe('DistributedError: the run config differs between rank 0 and rank 1; start every rank with the same flags and config file');
    }
  });

  it('a batch that does not split over the ranks is a one-line error on every rank', async () => {
    const odd = await train({ ...base, batchSize: 15, method: 'gmm-adaptive' }, 2);
    for (const o of odd.outs) {
      expect(o.status).toBe(1);
      expect(o.stderr.trim()).toBe('ConfigError: batch size 15 does not split over 2 ranks; use a multiple of 2 (each rank trains on batchSize / ranks samples per step)');
    }
  });
});

/**
 * Methods that edit gradients per batch (and PMR, whose loss uses batch statistics), as 2 ranks
 * against 1 process on the same global batches, through the trainer's own Session on a float64
 * copy of the run's model: each method sums its batch statistics over the ranks
 * (StepContext.allReduceSum), MMPareto averages its per-objective gradients (allReduceMeanGrads)
 * instead of the trainer's DDP average, and OGM-GE's noise comes from a generator seeded by
 * (seed, step, draw) on every rank.
 */
describe('gradient-editing methods as 2 ranks = 1 process (float64 model)', () => {
  const f64 = { ...base, epochs: 3, warmup: 0, width: 4, diagnose: 'selected' as const, optimizer: 'sgd' as const, lr: 0.05 };
  type Epoch = SessionResult['epochs'][number];
  // Each method's coefficients, and a sign that the run exercised them (not all neutral).
  const cases: { method: string; methodOptions: Record<string, unknown>; cfg?: Partial<RunConfig>; logged: string[]; active: (e: Epoch) => boolean }[] = [
    // params all: the MLP encoders have no convolution kernels to modulate; GE noise on.
    { method: 'ogm-ge', methodOptions: { alpha: 0.8, params: 'all' }, logged: ['k_audio', 'k_visual', 'ratio_audio'], active: (e) => Math.min(e.logs.k_audio!, e.logs.k_visual!) < 0.5 },
    { method: 'agm', methodOptions: { alpha: 0.5 }, logged: ['k_audio', 'k_visual', 'score_audio', 'clipped'], active: (e) => Math.abs(e.logs.k_audio! - 1) > 0.01 },
    { method: 'mla', methodOptions: {}, logged: ['head_grad_ratio'], active: (e) => Math.abs(e.logs.head_grad_ratio! - 1) > 0.01 },
    // InfoReg sums its scores over the ranks and pulls the dominant encoder toward its start-of-epoch weights.
    { method: 'inforeg', methodOptions: {}, logged: ['beta_audio', 'trace_audio', 'rate_visual'], active: (e) => Math.max(e.logs.beta_audio!, e.logs.beta_visual!) > 0 },
    // UMT: 2 teacher epochs, then the student distils the teachers' features gathered from both ranks.
    { method: 'umt', methodOptions: {}, logged: ['teacher'], active: (e) => (e.logs.distill_audio ?? 0) > 0 },
    // PMR sums its per-batch class sums and scores in loss(); the entropy term (a batch sum) on for 2 epochs.
    { method: 'pmr', methodOptions: { mu: 0.1, perEpochs: 2 }, logged: ['beta_visual', 'pce_audio'], active: (e) => e.logs.beta_visual! > 0.1 },
    // OPM: per-sample drop masks drawn by training-split index, its scores and kept count summed over the ranks.
    { method: 'opm', methodOptions: { qBase: 0.6, lambda: 1 }, logged: ['q_audio', 'ratio_visual', 'keptShare'], active: (e) => e.logs.dropped! > 0 && Math.max(e.logs.q_audio!, e.logs.q_visual!) > 0 },
    // CML: the removal order from the shared draws; per-sample hinges summed over the global batch.
    { method: 'cml', methodOptions: { lam: 1, hinge: 'sample' }, logged: ['ce', 'reg'], active: (e) => e.logs.reg! > 0 },
    // MBSD: batch means only (the trainer's gradient average does the rest).
    { method: 'mbsd', methodOptions: {}, logged: ['kl', 'rs', 'ce_audio'], active: (e) => e.logs.rs! > 0 },
    // AMCo: dependence shares summed over the ranks, feature masks from the shared draws (from epoch 1).
    { method: 'amco', methodOptions: {}, logged: ['p', 'share_audio', 'masked_visual'], active: (e) => e.logs.masked_audio! + e.logs.masked_visual! > 0 },
    // G-Blending: weights from the all-gathered training predictions, every epoch (6 of the 48 samples
    // held out: an even training part, which the ranks' sampler does not pad).
    { method: 'g-blending', methodOptions: { superEpoch: 1, heldOut: 0.125 }, logged: ['w_fused', 'ce_audio', 'lossHeldOut_visual'], active: (e) => Math.abs(e.logs.w_fused! - 1 / 3) > 0.01 },
    // Greedy: the excitations' running means over the global batch; the speeds from the averaged gradients.
    { method: 'greedy', methodOptions: { alpha: 0.001 }, logged: ['speed_audio', 'rebalance_visual'], active: (e) => e.logs.rebalance_audio! + e.logs.rebalance_visual! > 0 },
    // Smaller batches and a larger step: some steps' gradients conflict, and take the min-norm weights.
    { method: 'mmpareto', methodOptions: {}, cfg: { batchSize: 8, lr: 0.2 }, logged: ['cos_audio', 'wmm_audio', 'cos_visual'], active: (e) => (e.method.conflict_visual ?? 0) > 0 },
  ];
  for (const { method, methodOptions, cfg: own, logged, active } of cases) {
    it(`${method}: parameters within 1e-9 (relative) of one process after 3 epochs, the same coefficients logged, identical replicas`, async () => {
      const cfg = { ...f64, ...own, method, methodOptions };
      const [[one], two] = await Promise.all([trainFloat64(cfg, 1), trainFloat64(cfg, 2)]);
      const [r0, r1] = two as [SessionResult, SessionResult];
      expect(r0.steps).toBe(one!.steps);
      // Every rank applied the same update: the replicas are bitwise equal.
      expect(r1.params).toEqual(r0.params);
      let worst = 0;
      for (const [k, p] of Object.entries(one!.params)) {
        expect(p.dtype).toBe('float64');
        worst = Math.max(worst, rel(r0.params[k]!.values, p.values));
      }
      expect(worst).toBeLessThan(1e-9);
      // The method's per-step coefficients (epoch means) and its endEpoch diagnostics, and the loss.
      let worstLog = 0;
      one!.epochs.forEach((e, i) => {
        const d = r0.epochs[i]!;
        for (const k of logged) expect([...Object.keys(d.logs), ...Object.keys(d.method)]).toContain(k);
        expect(Object.keys(d.logs).sort()).toEqual(Object.keys(e.logs).sort());
        expect(Object.keys(d.method).sort()).toEqual(Object.keys(e.method).sort());
        for (const k of Object.keys(e.logs)) worstLog = Math.max(worstLog, rel([d.logs[k]!], [e.logs[k]!]));
        for (const k of Object.keys(e.method)) worstLog = Math.max(worstLog, rel([d.method[k]!], [e.method[k]!]));
        worstLog = Math.max(worstLog, rel([d.loss], [e.loss]));
      });
      expect(worstLog).toBeLessThan(1e-9);
      expect(one!.epochs.some(active), JSON.stringify(one!.epochs)).toBe(true);
      console.log(`${method}: max relative parameter difference ${worst.toExponential(2)}, logs ${worstLog.toExponential(2)}`);
    }, 120_000);
  }

  it('a method with its own backward that does not average its gradients over the ranks is a one-line error at its first step', async () => {
    // session-rank.mjs's plain-backward: joint with a backward of its own, loss.backward() and nothing more.
    const outs = await sessionRanks({ ...f64, method: 'joint' }, 2, ['plain-backward']);
    for (const o of outs) {
      expect(o.status).toBe(1);
      expect(o.stderr.trim()).toBe('DistributedError: method joint computes its own gradients without ctx.allReduceMeanGrads, so its ranks would train different models; average them there (src/methods/method.ts) or train it in one process');
    }
  }, 60_000);
});
