// The trainer end to end on a tiny folder dataset: the run directory, validation model selection,
// a kill -9 at any point followed by a resume that ends with the same numbers, and clear errors.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChild } from '../helpers/run-child.js';
import { fileURLToPath } from 'node:url';
import { trainRun, evaluateRun, diagnoseRun, purifyRun } from '../../src/train/run.js';
import { METHODS } from '../../src/methods/registry.js';
import { AUTO_MIN_EPOCHS, ConfigError, trainingEpochs } from '../../src/train/config.js';
import type { EpochMetrics, RunConfig, RunSummary } from '../../src/train/types.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';
import { tempDir } from '../helpers/python.js';

const data = `folder:${writeTinyDataset()}`;
const base: Partial<RunConfig> = { data, epochs: 4, warmup: 1, batchSize: 16, optimizer: 'adam', lr: 0.01, width: 4, threads: 1, seed: 3 };

function readMetrics(dir: string): EpochMetrics[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochMetrics);
}
/** What must be identical between an interrupted-and-resumed run and an uninterrupted one. */
function comparable(s: RunSummary, m: EpochMetrics[]): unknown {
  return { bestEpoch: s.bestEpoch, val: s.val, test: s.test, confusion: s.confusion, auroc: s.auroc, purification: s.purification,
    metrics: m.map(({ seconds: _s, gapSeconds: _g, data: _d, memory: _m, ...rest }) => rest) };
}

describe('trainRun', () => {
  it('writes the run directory and selects the best epoch on validation', async () => {
    const out = tempDir();
    const s = await trainRun({ ...base, method: 'gmm-adaptive' }, { outDir: out });
    for (const f of ['config.json', 'metrics.jsonl', 'summary.json', 'run.log', 'checkpoints/last.safetensors', 'checkpoints/best.safetensors', 'predictions/test.csv']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    // Per-sample test predictions of the selected model: they reproduce the summary's test accuracy.
    const preds = readFileSync(join(out, 'predictions', 'test.csv'), 'utf8').trim().split('\n');
    expect(preds[0]).toBe('id,label,pred,pred_audio,pred_visual,p_true,corrupted');
    const rows = preds.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(15);
    expect(rows.filter((r) => r[1] === r[2]).length / 15).toBeCloseTo(s.test.acc, 12);
    const m = readMetrics(out);
    expect(m.map((x) => x.epoch)).toEqual([1, 2, 3, 4]);
    expect(m.map((x) => x.stage)).toEqual(['warmup', 'main', 'main', 'main']);
    // each epoch records how long its training loop waited for data: 60 samples in batches of 16
    for (const x of m) expect(x.data!.steps === 4 && x.data!.waitSeconds >= 0 && x.data!.waitSeconds <= x.data!.loopSeconds, JSON.stringify(x.data)).toBe(true);
    const bestVal = Math.max(...m.map((x) => x.val.acc));
    expect(s.bestEpoch).toBe(m.findIndex((x) => x.val.acc === bestVal) + 1);
    expect(s.val.acc).toBe(bestVal);
    expect(s.test.acc).toBeGreaterThan(0.5); // 3 classes, learnable: far above chance
    expect(Object.keys(s.test.modality).sort()).toEqual(['audio', 'visual']);
    const csv = readFileSync(join(out, 'gaps', 'epoch-4.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('id,label,gap,gamma,dominant,corrupted,pred,pred_audio,pred_visual');
    expect(csv.length).toBe(1 + 60);
    for (const line of csv.slice(1)) {
      const [, , gap, gamma, dom] = line.split(',');
      expect(Math.abs(Number(gap))).toBeLessThanOrEqual(1);
      expect(Number(gamma)).toBeGreaterThanOrEqual(0);
      expect(Number(gamma)).toBeLessThanOrEqual(1);
      expect(['audio', 'visual']).toContain(dom);
    }
    for (const x of m) {
      expect(x.gmm!.bic1).toBeTypeOf('number');
      expect(x.gap!.hist.counts.reduce((a, b) => a + b, 0)).toBe(60);
      expect(x.gmm!.auroc).toBeNull(); // the folder format carries no corruption flags
    }
    expect(m[1]?.train.logs).toHaveProperty('fusion');
  });

  it("diagnose 'selected': no per-epoch pass, the selected epoch's diagnostics equal the every-epoch run's", async () => {
    const every = tempDir(), selected = tempDir();
    const a = await trainRun({ ...base, method: 'joint' }, { outDir: every });
    const b = await trainRun({ ...base, method: 'joint', diagnose: 'selected' }, { outDir: selected });
    expect(b.test).toEqual(a.test);
    const ma = readMetrics(every), mb = readMetrics(selected);
    expect(mb.map((m) => m.gmm === null)).toEqual(mb.map((m) => m.epoch !== b.bestEpoch));
    expect(mb[b.bestEpoch - 1]!.gmm).toEqual(ma[a.bestEpoch - 1]!.gmm);
    expect(mb[b.bestEpoch - 1]!.gap).toEqual(ma[a.bestEpoch - 1]!.gap);
    expect(readFileSync(join(selected, 'gaps', `epoch-${b.bestEpoch}.csv`), 'utf8')).toBe(readFileSync(join(every, 'gaps', `epoch-${a.bestEpoch}.csv`), 'utf8'));
    expect(existsSync(join(selected, 'gaps', 'epoch-1.csv'))).toBe(b.bestEpoch === 1);
  });

  it('purifies: keeps gamma < tau, fine-tunes, reports the change', async () => {
    const out = tempDir();
    const s = await trainRun({ ...base, method: 'joint', purify: { tau: 0.5, epochs: 2, lrFactor: 0.1, loss: 'ce', maxDrop: 1 } }, { outDir: out });
    const p = s.purification!;
    // The keep decision is logged with its validation interval; a discarded purification ends with the model before it.
    expect(p.decision!.lo).toBeLessThanOrEqual(p.decision!.diff);
    expect(p.decision!.n).toBe(15);
    expect(readFileSync(join(out, 'run.log'), 'utf8')).toMatch(/purification: validation acc .* gain .* \(95 % paired bootstrap, 15 samples\): purified model (kept|discarded)/);
    if (!p.decision!.kept) expect([p.after, p.afterVal]).toEqual([p.before, p.beforeVal]);
    expect(p.total).toBe(60);
    expect(p.kept).toBeGreaterThan(0);
    expect(p.keptFraction).toBeCloseTo(p.kept / 60, 12);
    expect([5, 6]).toContain(p.selectedEpoch);
    const m = readMetrics(out);
    expect(m.slice(4).map((x) => x.stage)).toEqual(['finetune', 'finetune']);
    expect(existsSync(join(out, 'checkpoints', 'purified.safetensors'))).toBe(true);
    // gaps/purification.csv records the choice: keep 1 exactly where gamma < tau.
    const rows = readFileSync(join(out, 'gaps', 'purification.csv'), 'utf8').trim().split('\n');
    expect(rows[0]).toBe('id,label,gap,gamma,dominant,corrupted,pred,pred_audio,pred_visual,keep');
    expect(rows.length).toBe(1 + 60);
    const keep = rows.slice(1).map((line) => line.split(',').map(Number)).map((f) => ({ gamma: f[3] as number, keep: f[9] as number }));
    expect(keep.filter((r) => r.keep === 1).length).toBe(p.kept);
    for (const r of keep) expect(r.keep).toBe(r.gamma < 0.5 ? 1 : 0);
  });

  it('a run killed with SIGKILL resumes and ends with the same numbers as an uninterrupted one', async () => {
    const child = fileURLToPath(new URL('../helpers/train-child.mjs', import.meta.url));
    expect(existsSync(fileURLToPath(new URL('../../dist/src/train/run.js', import.meta.url))), 'run `make build` first').toBe(true);
    const cfg = { ...base, epochs: 5, method: 'gmm-adaptive', purify: { tau: 0.5, epochs: 2, lrFactor: 0.1, loss: 'method' } };
    const whole = tempDir();
    const r = await runChild('node', [child, JSON.stringify(cfg), whole]);
    expect(r.status, r.stderr).toBe(0);
    const reference = comparable(JSON.parse(r.stdout) as RunSummary, readMetrics(whole));

    // Kill inside epoch 2, between two epochs, inside a later epoch, and inside purification.
    for (const killAt of ['step:1:2', 'epoch:2', 'step:3:1', 'step:5:2']) {
      const out = tempDir();
      const killed = await runChild('node', [child, JSON.stringify(cfg), out, killAt]);
      expect(killed.signal, `${killAt}: ${killed.stderr}`).toBe('SIGKILL');
      expect(existsSync(join(out, 'summary.json'))).toBe(false);
      const again = await runChild('node', [child, JSON.stringify(cfg), out]);
      expect(again.status, again.stderr).toBe(0);
      expect(comparable(JSON.parse(again.stdout) as RunSummary, readMetrics(out)), killAt).toEqual(reference);
      expect(readFileSync(join(out, 'run.log'), 'utf8')).toMatch(/resumed from the checkpoint after epoch/);
    }
  }, 600_000);

  it('evaluates, diagnoses and purifies a finished run directory', async () => {
    const out = tempDir();
    const s = await trainRun({ ...base, method: 'joint' }, { outDir: out });
    const ev = await evaluateRun(out, 'test');
    expect(ev.epoch).toBe(s.bestEpoch);
    expect(ev.scores).toEqual(s.test);
    expect(ev.confusion).toEqual(s.confusion);
    const dg = await diagnoseRun(out, 'val');
    expect(dg.samples.length).toBe(15);
    expect(dg.gmm.bic1).toBeTypeOf('number');
    expect(dg.samples.every((r) => r.corrupted === false && r.gamma >= 0 && r.gamma <= 1)).toBe(true);
    const p1 = await purifyRun(out, { tau: 0.5, epochs: 1, lrFactor: 0.1, loss: 'ce' });
    expect(p1.test).toEqual(s.test); // the main stage is untouched
    expect(p1.purification?.selectedEpoch).toBe(5);
    // Purifying again replaces the earlier purification instead of appending to it.
    const p2 = await purifyRun(out, { tau: 0.9, epochs: 2, lrFactor: 0.1, loss: 'ce' });
    expect(p2.purification?.config.tau).toBe(0.9);
    // joint runs its own schedule from epoch 0: no shared warm-up.
    expect(readMetrics(out).map((x) => x.stage)).toEqual(['main', 'main', 'main', 'main', 'finetune', 'finetune']);
    // The run's final model: the purified one when validation kept it, else the one before it.
    expect((await evaluateRun(out, 'test')).epoch).toBe(p2.purification?.decision?.kept ? p2.purification.selectedEpoch : s.bestEpoch);
    const p3 = await purifyRun(out, { tau: 0.9, epochs: 1, decide: 'always' });
    expect((await evaluateRun(out, 'test')).epoch).toBe(p3.purification?.selectedEpoch);
    await expect(purifyRun(tempDir(), { tau: 0.5, epochs: 1, lrFactor: 0.1, loss: 'ce' })).rejects.toThrow(/has no summary.json/);
  });

  it('purifies a finished run again, for every method (the earlier fine-tuning\'s state never reaches the main method)', async () => {
    for (const f of METHODS) {
      const out = tempDir();
      const cfg = { ...base, epochs: 2, warmup: 1, method: f.name, purify: { epochs: 1, loss: 'method' as const } };
      const s = await trainRun(cfg, { outDir: out });
      expect(s.purification?.selectedEpoch, f.name).toBe(3);
      const again = await purifyRun(out, { epochs: 1, loss: 'method', keep: 'soft' });
      expect(again.purification?.config.keep, f.name).toBe('soft');
      expect(again.test, f.name).toEqual(s.test);
      const third = await purifyRun(out, { epochs: 1, loss: 'ce' });
      expect(third.purification?.config.loss, f.name).toBe('ce');
    }
  }, 300_000);

  it('a method without the shared warm-up trains from epoch 0 with no --warmup; one with it refuses warmup >= epochs', async () => {
    const s = await trainRun({ ...base, method: 'joint', epochs: 2 }, { outDir: tempDir() });
    expect(s.bestEpoch).toBeGreaterThan(0);
    await expect(trainRun({ ...base, method: 'gmm-adaptive', epochs: 2, warmup: 3 }, { outDir: tempDir() }))
      .rejects.toThrow(/warmup \(3\) must leave at least one epoch of gmm-adaptive/);
  });

  it('epochs 0 (auto): the floor of epochs, or enough epochs for minSteps optimizer steps; config.json keeps the request', async () => {
    // 60 training samples in batches of 16: 4 steps an epoch
    expect(trainingEpochs({ epochs: 0, minSteps: 70, batchSize: 16 }, 60)).toBe(18);
    expect(trainingEpochs({ epochs: 0, minSteps: 10, batchSize: 16 }, 60)).toBe(AUTO_MIN_EPOCHS);
    expect(trainingEpochs({ epochs: 3, minSteps: 10_000, batchSize: 16 }, 60)).toBe(3);
    const out = tempDir();
    const s = await trainRun({ ...base, method: 'joint', epochs: 0, minSteps: 0, width: 2 }, { outDir: out });
    expect(s.epochs).toBe(AUTO_MIN_EPOCHS);
    expect(readMetrics(out)).toHaveLength(AUTO_MIN_EPOCHS);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).epochs).toBe(0);
    expect(readFileSync(join(out, 'run.log'), 'utf8')).toMatch(/epochs: 15 \(auto: at least 0 optimizer steps of batch 16\)/);
    // a finished auto run resumes as finished (the request, not the resolved count, is compared)
    const again = await trainRun({ ...base, method: 'joint', epochs: 0, minSteps: 0, width: 2 }, { outDir: out });
    expect(again.test).toEqual(s.test);
  }, 120_000);

  it('refuses a directory holding another config, or another format version', async () => {
    const out = tempDir();
    await trainRun({ ...base, epochs: 1, warmup: 0, method: 'joint' }, { outDir: out });
    await expect(trainRun({ ...base, epochs: 1, warmup: 0, method: 'joint', lr: 0.5 }, { outDir: out })).rejects.toThrow(/holds a run with a different lr; use another --out, or --no-resume/);
    // Threads set speed, not the experiment: another count resumes the finished run.
    await expect(trainRun({ ...base, epochs: 1, warmup: 0, method: 'joint', threads: 2 }, { outDir: out })).resolves.toBeDefined();
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    // A run written before a setting existed reads it as its default, and resumes.
    const { diagnose, ...older } = cfg;
    expect(diagnose).toBe('every-epoch');
    writeFileSync(join(out, 'config.json'), JSON.stringify(older));
    await expect(trainRun({ ...base, epochs: 1, warmup: 0, method: 'joint' }, { outDir: out })).resolves.toBeDefined();
    writeFileSync(join(out, 'config.json'), JSON.stringify({ ...cfg, formatVersion: 99 }));
    await expect(trainRun({ ...base, epochs: 1, warmup: 0, method: 'joint' }, { outDir: out })).rejects.toThrow(/format version 99/);
  });

  it('names bad configuration values', async () => {
    const out = tempDir();
    await expect(trainRun({ ...base, method: 'nope' }, { outDir: out })).rejects.toThrow(ConfigError);
    await expect(trainRun({ ...base, method: 'nope' }, { outDir: out })).rejects.toThrow(/unknown method "nope" \(known: joint, unimodal/);
    await expect(trainRun({ ...base, method: 'ogm-ge', methodOptions: { alpah: 1 } }, { outDir: out })).rejects.toThrow(/ogm-ge.*alpah/);
    await expect(trainRun({ ...base, epochs: -1 }, { outDir: out })).rejects.toThrow(/config: field epochs must be an integer in \[0, 100000\], got -1/);
    await expect(trainRun({ ...base, lr: 0 }, { outDir: out })).rejects.toThrow(/config: field lr must be a number in \(0, 100\], got 0/);
    await expect(trainRun({ ...base, purify: { tau: 0 } }, { outDir: out })).rejects.toThrow(/config: purify: field tau must be a number in \(0, 1\]/);
    await expect(trainRun({ ...base, fusion: 'mul' as never }, { outDir: out })).rejects.toThrow(/fusion must be one of concat, sum, film, gated/);
    await expect(trainRun({ ...base, device: 'cuda:7' }, { outDir: tempDir() })).rejects.toThrow(/cuda/);
  });

  it('stops with a clear error on NaN in a feature file, and on a non-finite loss', async () => {
    const nan = writeTinyDataset(undefined, { poison: { id: 'train-5', value: NaN } });
    await expect(trainRun({ ...base, data: `folder:${nan}`, method: 'joint', epochs: 2, warmup: 0 }, { outDir: tempDir() }))
      .rejects.toThrow(`${join(nan, 'audio', 'train-5.npy')}: sample "train-5" holds NaN at element 0; replace non-finite values in the file, or fix the data or pass --skip-bad-samples`);
    const huge = `folder:${writeTinyDataset(undefined, { poison: { id: 'train-5', value: 3e38 } })}`;
    await expect(trainRun({ ...base, data: huge, normalize: 'off', method: 'joint', epochs: 2, warmup: 0 }, { outDir: tempDir() }))
      .rejects.toThrow(/loss is (NaN|Infinity) at epoch 1, step \d+ \(method joint, lr 0.01\); lower --lr, or check the data/);
  });
});
