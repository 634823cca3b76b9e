import { describe, expect, it } from 'vitest';
import { acquisitionRate, inforeg, regulation } from '../../src/methods/inforeg.js';
import { noGrad, type Tensor } from '../../src/torch/index.js';
import type { MultimodalClassifier } from '../../src/models/classifier.js';
import type { Method, StepContext, TrainBatch } from '../../src/methods/method.js';
import {
  MODALITIES, batchOf, epochContext, gradsOf, makeSplit, maxAbs, maxAbsDiff, predictionsOf, sgd, snapshot, stepContext, tinyModel, trainStep,
} from './fixtures.js';

/** sum_i softmax(z^m_i)[y_i] per modality, in float64 from the float32 logits. */
function scoresOf(out: { unimodal: Record<string, Tensor> }, batch: TrainBatch): Record<string, number> {
  const y = batch.labels.toArray();
  return noGrad(() => Object.fromEntries(MODALITIES.map((m) => {
    const z = (out.unimodal[m] as Tensor).toFloat32Array();
    let s = 0;
    y.forEach((c, i) => {
      const row = Array.from(z.subarray(i * 4, i * 4 + 4));
      const mx = Math.max(...row);
      const e = row.map((v) => Math.exp(v - mx));
      s += (e[c] as number) / e.reduce((a, b) => a + b, 0);
    });
    return [m, s];
  })));
}

/** Forward, the method's loss and backward, then beforeStep: gradients before and after, and the scores. */
function regulateOnce(method: Method, model: MultimodalClassifier, batch: TrainBatch, ctx: StepContext) {
  ctx.optimizer.zeroGrad();
  const out = model.forward(batch.inputs);
  method.loss(out, batch, ctx).loss.backward();
  const scores = scoresOf(out, batch);
  const params = Object.fromEntries(MODALITIES.map((m) => [m, model.encoder(m).parameters()]));
  const before = Object.fromEntries(MODALITIES.map((m) => [m, gradsOf(params[m] as Tensor[])]));
  const logs = method.beforeStep?.(out, batch, ctx) as Record<string, number>;
  const after = Object.fromEntries(MODALITIES.map((m) => [m, gradsOf(params[m] as Tensor[])]));
  return { scores, params, before, after, logs };
}

describe('inforeg acquisition rate and regulation strength', () => {
  it('the rate of the Fisher traces: 1 before any epoch, moving averages over `window` epochs padded with zeros', () => {
    expect(acquisitionRate([], 10)).toBe(1);
    expect(acquisitionRate([5], 10)).toBe(1);
    // [0 x 10, 2, 6]: recent = 8/10, before = 2/10.
    expect(acquisitionRate([2, 6], 10)).toBeCloseTo((0.8 - 0.2) / 0.8, 15);
    // window 2: [0, 0, 1, 2, 4]: recent = 3, before = 1.5.
    expect(acquisitionRate([1, 2, 4], 2)).toBeCloseTo(0.5, 15);
    // A flat trace has stopped growing, a falling one is below zero: the window is closed.
    expect(acquisitionRate(new Array<number>(12).fill(3), 10)).toBe(0);
    expect(acquisitionRate([4, 3, 2], 2)).toBeCloseTo((2.5 - 3.5) / 2.5, 15);
    expect(acquisitionRate([0, 0], 10)).toBe(0);
  });

  it('beta = gamma exp(tanh(score gap to the runner-up)) for the strictly dominant modality; none on a tie', () => {
    const r = regulation({ audio: 3, visual: 1 }, 0.95);
    expect(r.dominant).toBe('audio');
    expect(r.beta).toBeCloseTo(0.95 * Math.exp(Math.tanh(2)), 14);
    expect(regulation({ audio: 1.25, visual: 1.5 }, 0.5)).toEqual({ dominant: 'visual', beta: 0.5 * Math.exp(Math.tanh(0.25)) });
    expect(regulation({ audio: 2, visual: 2 }, 0.95)).toEqual({ dominant: null, beta: 0 });
    const three = regulation({ a: 1, b: 4, c: 3.5 }, 1);
    expect(three.dominant).toBe('b');
    expect(three.beta).toBeCloseTo(Math.exp(Math.tanh(0.5)), 14);
  });
});

describe('inforeg regulation of the dominant encoder', () => {
  const split = makeSplit(16);
  const first = batchOf(split, [0, 1, 2, 3, 4, 5, 6, 7]);
  const second = batchOf(split, [8, 9, 10, 11, 12, 13, 14, 15]);

  /** One plain step after beginEpoch (so the weights leave their start-of-epoch values), then the regulated step. */
  async function setUp(options: Record<string, unknown>) {
    const model = tinyModel(3);
    const opt = sgd(model, 0.2);
    const method = inforeg.create(options);
    await method.beginEpoch?.(epochContext(model, 0, 16, () => predictionsOf(model, split)));
    const start = Object.fromEntries(MODALITIES.map((m) => [m, snapshot(model.encoder(m).parameters())]));
    trainStep(method, first, stepContext(model, opt, 0, 0));
    return { model, method, start, ...regulateOnce(method, model, second, stepContext(model, opt, 0, 1)) };
  }

  it('adds beta (theta - theta at the start of the epoch) to every gradient of the dominant encoder, nothing to the other', async () => {
    const { method, start, scores, params, before, after, logs } = await setUp({});
    const { dominant, beta } = regulation(scores, 0.95);
    expect(dominant).not.toBeNull();
    const d = dominant as string;
    const weak = MODALITIES.find((m) => m !== d) as string;
    expect(logs[`beta_${d}`]).toBeCloseTo(beta, 5);
    expect(logs[`beta_${weak}`]).toBe(0);
    let moved = 0;
    (params[d] as Tensor[]).forEach((p, j) => {
      const theta = p.detach().toFloat32Array();
      const theta0 = (start[d] as Float32Array[])[j] as Float32Array;
      const b = (before[d] as Float32Array[])[j] as Float32Array;
      const expected = b.map((g, i) => g + beta * ((theta[i] as number) - (theta0[i] as number)));
      moved = Math.max(moved, maxAbsDiff(theta, theta0));
      expect(maxAbsDiff((after[d] as Float32Array[])[j] as Float32Array, expected)).toBeLessThanOrEqual(1e-6 * Math.max(maxAbs(expected), 1e-6));
    });
    expect(moved).toBeGreaterThan(1e-4);
    (before[weak] as Float32Array[]).forEach((b, j) => expect(maxAbsDiff((after[weak] as Float32Array[])[j] as Float32Array, b)).toBe(0));
    await method.endEpoch?.(epochContext(tinyModel(0), 0, 16, () => { throw new Error('unused'); }));
  });

  it('leaves the gradients alone while the window is closed (rate 1 is not above threshold 1)', async () => {
    const { before, after, logs } = await setUp({ threshold: 1 });
    for (const m of MODALITIES) {
      expect(logs[`beta_${m}`]).toBe(0);
      (before[m] as Float32Array[]).forEach((b, j) => expect(maxAbsDiff((after[m] as Float32Array[])[j] as Float32Array, b)).toBe(0));
    }
  });
});

describe('inforeg Fisher trace and window over epochs', () => {
  it('trace_m = sum over steps and weight tensors (ndim >= 2) of mean(g^2) of the applied gradients; the next rate follows from it', async () => {
    const split = makeSplit(24);
    const model = tinyModel(5);
    const opt = sgd(model);
    const method = inforeg.create({ window: 2 });
    const ectx = epochContext(model, 0, 24, () => predictionsOf(model, split));
    const expected: Record<string, number> = { audio: 0, visual: 0 };
    for (let epoch = 0; epoch < 2; epoch++) {
      await method.beginEpoch?.({ ...ectx, epoch });
      for (const m of MODALITIES) expected[m] = 0;
      for (let s = 0; s < 3; s++) {
        const batch = batchOf(split, Array.from({ length: 8 }, (_, i) => s * 8 + i));
        const ctx = stepContext(model, opt, epoch, epoch * 3 + s);
        opt.zeroGrad();
        const out = model.forward(batch.inputs);
        method.loss(out, batch, ctx).loss.backward();
        method.beforeStep?.(out, batch, ctx);
        for (const m of MODALITIES) {
          for (const p of model.encoder(m).parameters()) {
            if (p.ndim < 2) continue;
            const g = (p.grad as Tensor).toFloat32Array();
            expected[m] = (expected[m] as number) + g.reduce((a, v) => a + v * v, 0) / g.length;
          }
        }
        opt.step();
      }
      const report = (await method.endEpoch?.({ ...ectx, epoch })) as Record<string, number>;
      for (const m of MODALITIES) {
        expect(report[`trace_${m}`]).toBeGreaterThan(0);
        expect(Math.abs((report[`trace_${m}`] as number) - (expected[m] as number))).toBeLessThanOrEqual(1e-5 * (expected[m] as number));
        // Epochs 0 and 1 see [] and [0, 0, T0]: both rates are 1.
        expect(report[`rate_${m}`]).toBe(1);
      }
      if (epoch === 1) {
        // The state carries the traces: a fresh instance resumed from it computes the same next rate.
        const resumed = inforeg.create({ window: 2 });
        resumed.loadState?.(method.state?.() as never);
        await resumed.beginEpoch?.({ ...ectx, epoch: 2 });
        const ctx = stepContext(model, opt, 2, 6);
        opt.zeroGrad();
        const batch = batchOf(split, [0, 1, 2, 3, 4, 5, 6, 7]);
        const out = model.forward(batch.inputs);
        resumed.loss(out, batch, ctx).loss.backward();
        resumed.beforeStep?.(out, batch, ctx);
        const next = (await resumed.endEpoch?.({ ...ectx, epoch: 2 })) as Record<string, number>;
        const state = method.state?.().json.traces as Record<string, number[]>;
        for (const m of MODALITIES) expect(next[`rate_${m}`]).toBeCloseTo(acquisitionRate(state[m] as number[], 2), 15);
      }
    }
  });

  it('rejects bad options and a bad state with a clear error', () => {
    expect(() => inforeg.create({ gamma: -1 })).toThrow(/inforeg: option gamma must be a number >= 0, got -1/);
    expect(() => inforeg.create({ window: 0 })).toThrow(/inforeg: option window must be an integer >= 1/);
    expect(() => inforeg.create().loadState?.({ json: { traces: { audio: ['x'] } }, tensors: {} })).toThrow(/inforeg: state has no valid "traces"/);
  });
});
