import { describe, expect, it } from 'vitest';
import {
  diagnosingRelearning, minMaxScale, purity, relearnStrength, representationPurity, softReinit,
} from '../../src/methods/diagnosing-relearning.js';
import { heldOutMask } from '../../src/methods/balance-utils.js';
import { noGrad, tensor, type Tensor } from '../../src/torch/index.js';
import type { EpochPlan, Method, SplitPredictions } from '../../src/methods/method.js';
import type { MultimodalClassifier } from '../../src/models/classifier.js';
import { CLASSES, MODALITIES, batchOf, epochContext, makeSplit, maxAbsDiff, sgd, snapshot, stepContext, tinyModel, trainStep, type Split } from './fixtures.js';

/** Eval-mode predictions with encoder features (what trainPredictions({ features: true }) gives). */
function featurePredictions(model: MultimodalClassifier, split: Split): SplitPredictions {
  const n = split.labels.length;
  model.eval();
  const r = noGrad(() => {
    const out = model.forward(split.inputs);
    return {
      fused: out.fused.softmax(1).toFloat32Array(),
      unimodal: Object.fromEntries(MODALITIES.map((m) => [m, (out.unimodal[m] as Tensor).softmax(1).toFloat32Array()])),
      features: Object.fromEntries(MODALITIES.map((m) => {
        const f = out.features[m] as Tensor;
        return [m, { data: f.toFloat32Array(), dim: f.size(1) }];
      })),
    };
  });
  model.train();
  return {
    ids: split.labels.map((_, i) => `s${i}`), labels: Int32Array.from(split.labels), index: Int32Array.from({ length: n }, (_, i) => i),
    ...r, corrupted: new Uint8Array(n), numClasses: CLASSES,
  };
}

describe('diagnosing: purity of a clustering', () => {
  it('purity of a hand-made clustering: (1/n) sum over clusters of the majority count', () => {
    // Cluster 0 holds labels {0, 0, 1}, cluster 1 {1, 2, 2}: (2 + 2) / 6.
    expect(purity([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1])).toBeCloseTo(4 / 6, 12);
    expect(purity([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9])).toBe(1);
    expect(purity([0, 1, 2, 2], [0, 0, 0, 0])).toBe(0.5);
    expect(purity([2, 1, 0], [0, 1, 2])).toBe(1);
  });

  it('min-max scaling maps each feature to [-1, 1]; a constant feature becomes -1 (sklearn)', () => {
    expect(Array.from(minMaxScale([0, 5, 2, 5, 4, 5], 3, 2))).toEqual([-1, -1, 0, -1, 1, -1]);
  });

  it('representation purity: scaled features of two label groups in two clusters', () => {
    // The second feature is constant; the first separates the labels.
    expect(representationPurity([0, 7, 1, 7, 100, 7, 101, 7], [1, 1, 0, 0], 2, 2, { runs: 2 })).toBe(1);
  });
});

describe('re-learning', () => {
  it('strength = tanh(lambda * |P_train - P_val|)', () => {
    expect(relearnStrength(0.9, 0.6, 3)).toBeCloseTo(Math.tanh(0.9), 12);
    expect(relearnStrength(0.6, 0.9, 3)).toBeCloseTo(Math.tanh(0.9), 12);
    expect(relearnStrength(0.7, 0.7, 3)).toBe(0);
    expect(relearnStrength(1, 0, 0)).toBe(0);
  });

  it('soft re-initialisation: theta <- (1 - a) theta + a theta_init', () => {
    const p = tensor([1, 2, 3]).requiresGrad_(true);
    softReinit([p], [tensor([3, 2, 1])], 0.25);
    expect(maxAbsDiff(p.toArray(), [1.5, 2, 2.5])).toBeLessThan(1e-7);
    expect(p.requiresGrad).toBe(true);
  });

  it('the held-out part is seeded and holds round(fraction * n) samples', () => {
    const m = heldOutMask(40, 0.1, 0);
    expect(m.reduce((s, v) => s + v, 0)).toBe(4);
    expect(Array.from(heldOutMask(40, 0.1, 0))).toEqual(Array.from(m));
    expect(Array.from(heldOutMask(40, 0.1, 1))).not.toEqual(Array.from(m));
  });
});

describe('diagnosing-relearning through the hooks', () => {
  const split = makeSplit(32);
  const opts = { reinitEvery: 1, heldOut: 0.25, kmeansRuns: 2, lambda: 20 };

  async function trainEpoch(method: Method, model: MultimodalClassifier, opt: ReturnType<typeof sgd>, epoch: number, lines?: string[]): Promise<number[]> {
    const plan = (await method.beginEpoch?.(epochContext(model, epoch, 32, () => featurePredictions(model, split), lines))) as EpochPlan;
    const idx = Array.from(plan.indices as Int32Array);
    const losses: number[] = [];
    for (let s = 0; s < idx.length; s += 8) losses.push(trainStep(method, batchOf(split, idx.slice(s, s + 8)), stepContext(model, opt, epoch, s)).loss);
    return losses;
  }

  it('trains on all but the held-out part; after epoch 1 re-learns each encoder toward its initial parameters, and nothing else', async () => {
    const model = tinyModel(21);
    const opt = sgd(model, 0.1);
    const method = diagnosingRelearning.create(opts);
    const enc = Object.fromEntries(MODALITIES.map((m) => [m, model.encoder(m).parameters()]));
    const init = Object.fromEntries(MODALITIES.map((m) => [m, snapshot(enc[m] as Tensor[])]));

    const plan = (await method.beginEpoch?.(epochContext(model, 0, 32, () => featurePredictions(model, split)))) as EpochPlan;
    const held = heldOutMask(32, 0.25, 0);
    expect(Array.from(plan.indices as Int32Array)).toEqual(Array.from({ length: 32 }, (_, i) => i).filter((i) => !held[i]));
    for (let s = 0; s < 24; s += 8) trainStep(method, batchOf(split, Array.from(plan.indices as Int32Array).slice(s, s + 8)), stepContext(model, opt, 0, s));
    await trainEpoch(method, model, opt, 1); // e = 0: no re-learning yet
    expect(await method.endEpoch?.({} as never)).toBeUndefined();

    // The diagnosis by hand, on the features the method will see.
    const preds = featurePredictions(model, split);
    const expected: Record<string, number> = {};
    for (const m of MODALITIES) {
      const f = preds.features?.[m] as { data: Float32Array; dim: number };
      const rows = (keep: boolean): number[] => Array.from({ length: 32 }, (_, i) => i).filter((i) => Boolean(held[i]) !== keep);
      const pickF = (rs: number[]): number[] => rs.flatMap((r) => Array.from(f.data.subarray(r * f.dim, (r + 1) * f.dim)));
      const pickY = (rs: number[]): number[] => rs.map((r) => split.labels[r] as number);
      const pT = representationPurity(pickF(rows(true)), pickY(rows(true)), f.dim, CLASSES, { seed: 0, runs: 2 });
      const pH = representationPurity(pickF(rows(false)), pickY(rows(false)), f.dim, CLASSES, { seed: 0, runs: 2 });
      expected[m] = Math.tanh(20 * Math.abs(pT - pH));
    }
    const current = Object.fromEntries(MODALITIES.map((m) => [m, snapshot(enc[m] as Tensor[])]));
    const head = snapshot(model.headParameters());
    const buffers = snapshot(model.buffers());
    const lines: string[] = [];

    await method.beginEpoch?.(epochContext(model, 2, 32, () => featurePredictions(model, split), lines)); // e = 1: re-learn
    const report = (await method.endEpoch?.({} as never)) as Record<string, number>;
    expect(lines[0]).toMatch(/diagnosing-relearning: re-learning 1\/3 after epoch 2: audio purity .* strength/);
    for (const m of MODALITIES) {
      const a = report[`strength_${m}`] as number;
      expect(a).toBeCloseTo(expected[m] as number, 12);
      expect(a).toBeGreaterThan(0);
      (enc[m] as Tensor[]).forEach((p, j) => {
        const cur = (current[m] as Float32Array[])[j] as Float32Array;
        const ini = (init[m] as Float32Array[])[j] as Float32Array;
        const want = cur.map((v, k) => (1 - a) * v + a * (ini[k] as number));
        expect(maxAbsDiff(p.toFloat32Array(), want)).toBeLessThan(1e-5);
      });
    }
    expect(snapshot(model.headParameters()).every((p, j) => maxAbsDiff(p, head[j] as Float32Array) === 0)).toBe(true);
    expect(snapshot(model.buffers()).every((p, j) => maxAbsDiff(p, buffers[j] as Float32Array) === 0)).toBe(true);
  });

  it('counts its own epochs: re-learns after every reinitEvery-th of them, at most reinitTimes times', async () => {
    const model = tinyModel(22);
    const method = diagnosingRelearning.create({ ...opts, reinitEvery: 2, reinitTimes: 2 });
    const at: number[] = [];
    for (let epoch = 10; epoch < 20; epoch++) {
      await method.beginEpoch?.(epochContext(model, epoch, 32, () => { at.push(epoch); return featurePredictions(model, split); }));
    }
    // Method epochs 0..9 start at run epoch 10; after method epochs 2 and 4, i.e. at run epochs 13 and 15.
    expect(at).toEqual([13, 15]);
    expect(method.state?.().json).toEqual({ first: 10, reinits: 2 });
  });

  it('state round trip: the initial parameters survive, and a resumed method re-learns identically', async () => {
    const model = tinyModel(23);
    const opt = sgd(model, 0.1);
    const a = diagnosingRelearning.create(opts);
    await trainEpoch(a, model, opt, 0);
    const saved = a.state?.();
    expect(Object.keys(saved?.tensors ?? {}).length).toBe(model.encoder('audio').parameters().length + model.encoder('visual').parameters().length);
    const weights = new Map([...model.stateDict()].map(([k, t]) => [k, t.detach().clone()]));

    for (const e of [1, 2]) await a.beginEpoch?.(epochContext(model, e, 32, () => featurePredictions(model, split)));
    const afterA = snapshot(model.parameters());

    model.loadStateDict(weights);
    const b = diagnosingRelearning.create(opts);
    b.loadState?.(saved as never);
    expect(b.state?.().json).toEqual(saved?.json);
    for (const e of [1, 2]) await b.beginEpoch?.(epochContext(model, e, 32, () => featurePredictions(model, split)));
    expect(snapshot(model.parameters()).every((p, j) => maxAbsDiff(p, afterA[j] as Float32Array) === 0)).toBe(true);
    expect(b.state?.().json).toEqual(a.state?.().json);
    expect(() => b.loadState?.({ json: { first: 0, reinits: -1 }, tensors: {} })).toThrow(/state has no valid "reinits"/);
    expect(() => b.loadState?.({ json: { first: 0, reinits: 0 }, tensors: {} })).toThrow(/state has no initial parameters/);
  });

  it('a held-out part smaller than the number of classes is refused with a clear error', async () => {
    const model = tinyModel(24);
    const method = diagnosingRelearning.create({ reinitEvery: 1, heldOut: 0.05 });
    for (const e of [0, 1]) await method.beginEpoch?.(epochContext(model, e, 32, () => featurePredictions(model, split)));
    await expect(method.beginEpoch?.(epochContext(model, 2, 32, () => featurePredictions(model, split)))).rejects.toThrow(/held-out part has 2 samples, fewer than the 4 classes; raise heldOut/);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => diagnosingRelearning.create({ heldOut: 0 })).toThrow(/diagnosing-relearning: option heldOut must be a number in \(0, 0.5\], got 0/);
    expect(() => diagnosingRelearning.create({ reinitEvery: 0 })).toThrow(/option reinitEvery must be an integer >= 1, got 0/);
    expect(() => diagnosingRelearning.create({ lambda: -1 })).toThrow(/option lambda must be a number >= 0/);
    expect(() => diagnosingRelearning.create({ kmeansRuns: 1.5 })).toThrow(/option kmeansRuns must be an integer/);
    expect(() => diagnosingRelearning.create({ moveLambda: 3 })).toThrow(/unknown option "moveLambda"/);
    expect(diagnosingRelearning.sharedWarmup).toBe(false);
    expect(diagnosingRelearning.resolve()).toEqual({ lambda: 3, reinitEvery: 20, reinitTimes: 3, heldOut: 0.1, kmeansRuns: 10, seed: 0 });
  });

  it('trains: the fused cross-entropy falls over a few epochs with a re-learning among them', async () => {
    const model = tinyModel(25);
    const opt = sgd(model, 0.05);
    const method = diagnosingRelearning.create({ ...opts, reinitEvery: 2, lambda: 3 });
    const means: number[] = [];
    for (let epoch = 0; epoch < 5; epoch++) {
      const losses = await trainEpoch(method, model, opt, epoch);
      expect(losses.every(Number.isFinite)).toBe(true);
      means.push(losses.reduce((s, v) => s + v, 0) / losses.length);
    }
    expect(method.state?.().json.reinits).toBe(1);
    expect(means[4] as number).toBeLessThan(means[0] as number);
  });
});
