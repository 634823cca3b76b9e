import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rowsBySample, teacherEpochs, umt } from '../../src/methods/umt.js';
import { nn, noGrad, tidy, type Tensor } from '../../src/torch/index.js';
import type { MultimodalClassifier } from '../../src/models/classifier.js';
import type { EpochContext, Method, SplitPredictions, TrainBatch } from '../../src/methods/method.js';
import { trainRun } from '../../src/train/run.js';
import type { EpochMetrics } from '../../src/train/types.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';
import { tempDir } from '../helpers/python.js';
import { CLASSES, MODALITIES, batchOf, epochContext, makeSplit, maxAbsDiff, sgd, snapshot, stepContext, tinyModel, trainStep, type Split } from './fixtures.js';

/** Eval-mode predictions with encoder features, rows in a shuffled order (as a data-parallel gather may give them). */
function featurePredictions(model: MultimodalClassifier, split: Split, order: number[]): SplitPredictions {
  const n = split.labels.length;
  model.eval();
  const feats = tidy(() => noGrad(() => {
    const out = model.forward(split.inputs);
    return Object.fromEntries(MODALITIES.map((m) => [m, { data: (out.features[m] as Tensor).toFloat32Array(), dim: (out.features[m] as Tensor).shape[1] as number }]));
  }));
  model.train();
  const features = Object.fromEntries(MODALITIES.map((m) => {
    const { data, dim } = feats[m] as { data: Float32Array; dim: number };
    const rows = new Float32Array(n * dim);
    order.forEach((s, r) => rows.set(data.subarray(s * dim, (s + 1) * dim), r * dim));
    return [m, { data: rows, dim }];
  }));
  return {
    ids: order.map((s) => `s${s}`), labels: Int32Array.from(order, (s) => split.labels[s] as number), index: Int32Array.from(order),
    fused: new Float32Array(n * CLASSES), unimodal: {}, features, corrupted: new Uint8Array(n), numClasses: CLASSES,
  };
}

/** sum over modalities of mean((f - t)^2), in float64. */
function distillation(out: { features: Record<string, Tensor> }, teacher: Record<string, { data: Float32Array; dim: number }>, batch: TrainBatch): Record<string, number> {
  return Object.fromEntries(MODALITIES.map((m) => {
    const f = (out.features[m] as Tensor).detach().toFloat32Array();
    const { data, dim } = teacher[m] as { data: Float32Array; dim: number };
    let s = 0;
    Array.from(batch.index).forEach((sample, i) => {
      for (let j = 0; j < dim; j++) s += ((f[i * dim + j] as number) - (data[sample * dim + j] as number)) ** 2;
    });
    return [m, s / (batch.size * dim)];
  }));
}

describe('umt schedule', () => {
  it('teacher epochs: round(share * N) within [1, N - 1]; fewer than 2 epochs is a clear error', () => {
    expect(teacherEpochs(15, 0.5)).toBe(8);
    expect(teacherEpochs(2, 0.5)).toBe(1);
    expect(teacherEpochs(10, 0.01)).toBe(1);
    expect(teacherEpochs(10, 0.99)).toBe(9);
    expect(teacherEpochs(10, 0.3)).toBe(3);
    expect(() => teacherEpochs(1, 0.5)).toThrow(/umt: needs at least 2 epochs \(the teachers, then the student\), got 1; raise --epochs/);
  });

  it('rowsBySample puts each prediction row at its sample index and refuses a missing sample', () => {
    const rows = rowsBySample(Float32Array.from([20, 21, 0, 1, 10, 11]), 2, Int32Array.from([2, 0, 1]), 3);
    expect(Array.from(rows)).toEqual([0, 1, 10, 11, 20, 21]);
    expect(() => rowsBySample(Float32Array.from([0, 1, 2, 3]), 2, Int32Array.from([0, 2]), 3)).toThrow(/umt: the training predictions have no row for sample 1/);
  });
});

describe('umt teachers, reset and student distillation', () => {
  const split = makeSplit(16);
  const order = [5, 0, 15, 3, 8, 1, 12, 7, 2, 14, 6, 11, 9, 4, 13, 10];
  const ctxAt = (model: MultimodalClassifier, epoch: number, stage: EpochContext['stage'] = 'main'): EpochContext =>
    ({ ...epochContext(model, epoch, 16, () => featurePredictions(model, split, order), [], 4), stage });

  it('teacher epochs train each modality on its own CE and are not selectable; then the model is reset and distils the teachers\' features', async () => {
    const model = tinyModel(4);
    const opt = sgd(model, 0.1);
    const method: Method = umt.create({ alpha: 0.7 });
    const init = snapshot(model.parameters());
    // 4 epochs, share 0.5: epochs 0 and 1 train the teachers.
    for (const epoch of [0, 1]) {
      await method.beginEpoch?.(ctxAt(model, epoch));
      const batch = batchOf(split, [0, 1, 2, 3, 4, 5, 6, 7]);
      const out = model.forward(batch.inputs);
      const r = method.loss(out, batch, stepContext(model, opt, epoch, epoch));
      const ces = MODALITIES.map((m) => nn.F.crossEntropy(out.unimodal[m] as Tensor, batch.labels).item());
      expect(r.loss.item()).toBeCloseTo((ces[0] as number) + (ces[1] as number), 5);
      trainStep(method, batch, stepContext(model, opt, epoch, epoch));
      expect(method.selectable?.()).toBe(false);
    }
    const teacherWeights = snapshot(model.parameters());
    expect(teacherWeights.some((p, i) => maxAbsDiff(p, init[i] as Float32Array) > 1e-4)).toBe(true);
    const teacher = featurePredictions(model, split, [...Array(16).keys()]).features as Record<string, { data: Float32Array; dim: number }>;

    // Epoch 2: the student starts from the initial weights, with the teachers' features as targets.
    await method.beginEpoch?.(ctxAt(model, 2));
    snapshot(model.parameters()).forEach((p, i) => expect(maxAbsDiff(p, init[i] as Float32Array)).toBe(0));
    expect(method.selectable?.()).toBe(true);
    const batch = batchOf(split, [9, 3, 14, 0, 7, 12, 5, 10]);
    const check = (m: Method): number => {
      const out = model.forward(batch.inputs);
      const r = m.loss(out, batch, stepContext(model, opt, 2, 2));
      const ce = nn.F.crossEntropy(out.fused, batch.labels).item();
      const kd = distillation(out, teacher, batch);
      for (const mod of MODALITIES) expect(Math.abs((r.logs?.[`distill_${mod}`] as number) - (kd[mod] as number))).toBeLessThanOrEqual(1e-5 * (kd[mod] as number));
      expect(kd.audio).toBeGreaterThan(0);
      const total = ce + 0.7 * ((kd.audio as number) + (kd.visual as number));
      expect(Math.abs(r.loss.item() - total)).toBeLessThanOrEqual(1e-5 * total);
      return r.loss.item();
    };
    const value = check(method);
    // A resume keeps the teachers' features: a fresh instance loaded from the state gives the same loss.
    const resumed = umt.create({ alpha: 0.7 });
    resumed.loadState?.(method.state?.() as never);
    await resumed.beginEpoch?.(ctxAt(model, 3));
    expect(check(resumed)).toBeCloseTo(value, 6);
    expect(resumed.selectable?.()).toBe(true);
  });

  it('a fine-tuning stage (fresh instance, no teachers) trains on the fused CE alone', async () => {
    const model = tinyModel(4);
    const method = umt.create({});
    await method.beginEpoch?.(ctxAt(model, 5, 'finetune'));
    const batch = batchOf(split, [0, 1, 2, 3]);
    const out = model.forward(batch.inputs);
    expect(method.loss(out, batch, stepContext(model, sgd(model), 5, 0)).loss.item()).toBeCloseTo(nn.F.crossEntropy(out.fused, batch.labels).item(), 6);
    expect(method.selectable?.()).toBe(true);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => umt.create({ teacherShare: 1 })).toThrow(/umt: option teacherShare must be a number in \(0, 1\), got 1/);
    expect(() => umt.create({ alpha: -0.5 })).toThrow(/umt: option alpha must be a number >= 0, got -0.5/);
  });
});

describe('umt in the trainer', () => {
  it('never selects a teacher epoch: with 3 epochs (2 teachers) the selected epoch is the student\'s', async () => {
    const out = tempDir();
    const s = await trainRun({ data: `folder:${writeTinyDataset()}`, epochs: 3, batchSize: 16, optimizer: 'adam', lr: 0.01, width: 4, threads: 1, seed: 3, method: 'umt', methodOptions: { teacherShare: 0.6 } }, { outDir: out });
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochMetrics);
    expect(metrics.map((m) => m.method.teacher)).toEqual([1, 1, 0]);
    expect(s.bestEpoch).toBe(3);
    expect(readFileSync(join(out, 'run.log'), 'utf8')).toMatch(/umt: 2 epochs of unimodal teachers, then 1 of the student/);
  }, 120_000);
});
