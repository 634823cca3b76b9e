import { describe, expect, it } from 'vitest';
import { ogmCoefficients, ogmGe } from '../../src/methods/ogm-ge.js';
import { manualSeed, noGrad, randn, type Tensor } from '../../src/torch/index.js';
import type { MultimodalClassifier } from '../../src/models/classifier.js';
import type { Method, StepContext, TrainBatch } from '../../src/methods/method.js';
import {
  MODALITIES, batchOf, gradsOf, makeSplit, maxAbsDiff, maxAbs, sgd, snapshot, stepContext, tinyModel, trainStep,
} from './fixtures.js';

/** Forward + fused CE backward, then the hook; returns the gradients before and after beforeStep. */
function modulateOnce(method: Method, model: MultimodalClassifier, batch: TrainBatch, ctx: StepContext) {
  const out = model.forward(batch.inputs);
  method.loss(out, batch, ctx).loss.backward();
  const scores = noGrad(() => Object.fromEntries(MODALITIES.map((m) => {
    const p = (out.unimodal[m] as Tensor).softmax(1).toFloat32Array();
    const y = batch.labels.toArray();
    return [m, y.reduce((s, c, i) => s + (p[i * 4 + c] as number), 0)];
  })));
  const params = Object.fromEntries(MODALITIES.map((m) => [m, model.encoder(m).parameters()]));
  const before = Object.fromEntries(MODALITIES.map((m) => [m, gradsOf(params[m] as Tensor[])]));
  const logs = method.beforeStep?.(out, batch, ctx) as Record<string, number>;
  const after = Object.fromEntries(MODALITIES.map((m) => [m, gradsOf(params[m] as Tensor[])]));
  return { scores, params, before, after, logs };
}

describe('ogm-ge coefficients (Eq. 10)', () => {
  it('rho = 2, alpha = 0.1: k = 1 - tanh(0.2) for the dominant modality (paper), 1 - tanh(0.1) continuous; 1 for the other', () => {
    const paper = ogmCoefficients({ audio: 2, visual: 1 }, 0.1);
    expect(paper.ratio).toEqual({ audio: 2, visual: 0.5 });
    expect(paper.coeff.audio).toBe(1 - Math.tanh(0.2));
    expect(paper.coeff.visual).toBe(1);
    const cont = ogmCoefficients({ audio: 1, visual: 2 }, 0.1, 'continuous');
    expect(cont.coeff.visual).toBe(1 - Math.tanh(0.1));
    expect(cont.coeff.audio).toBe(1);
  });

  it('balanced scores leave both at 1; with three modalities only the strongest is slowed', () => {
    expect(ogmCoefficients({ audio: 1.5, visual: 1.5 }, 0.5).coeff).toEqual({ audio: 1, visual: 1 });
    const three = ogmCoefficients({ a: 3, b: 1.5, c: 1 }, 0.1);
    expect(three.ratio.a).toBe(2);
    expect(three.coeff).toEqual({ a: 1 - Math.tanh(0.2), b: 1, c: 1 });
  });
});

describe('ogm-ge gradient modulation', () => {
  const split = makeSplit(8);
  const batch = batchOf(split, [0, 1, 2, 3, 4, 5, 6, 7]);

  it('scales the dominant encoder\'s conv gradients by k and leaves the weak encoder and the BatchNorm gradients alone (GE off)', () => {
    const model = tinyModel(3);
    const method = ogmGe.create({ ge: 'off', alpha: 0.5 });
    const { scores, params, before, after, logs } = modulateOnce(method, model, batch, stepContext(model, sgd(model), 0));
    const { coeff } = ogmCoefficients(scores, 0.5);
    const dominant = (scores.audio as number) > (scores.visual as number) ? 'audio' : 'visual';
    const weak = dominant === 'audio' ? 'visual' : 'audio';
    const k = coeff[dominant] as number;
    expect(k).toBeLessThan(1);
    expect(logs[`k_${dominant}`]).toBeCloseTo(k, 5);
    expect(logs[`k_${weak}`]).toBe(1);
    (params[dominant] as Tensor[]).forEach((p, j) => {
      const b = (before[dominant] as Float32Array[])[j] as Float32Array;
      const a = (after[dominant] as Float32Array[])[j] as Float32Array;
      const expected = p.ndim === 4 ? b.map((v) => v * k) : b;
      expect(maxAbsDiff(a, expected)).toBeLessThanOrEqual(1e-6 * Math.max(maxAbs(b), 1e-12));
    });
    (before[weak] as Float32Array[]).forEach((b, j) => expect(maxAbsDiff((after[weak] as Float32Array[])[j] as Float32Array, b)).toBe(0));
  });

  it('params: all scales every parameter of the dominant encoder', () => {
    const model = tinyModel(3);
    const { scores, before, after } = modulateOnce(ogmGe.create({ ge: 'off', alpha: 0.5, params: 'all' }), model, batch, stepContext(model, sgd(model), 0));
    const dominant = (scores.audio as number) > (scores.visual as number) ? 'audio' : 'visual';
    const k = ogmCoefficients(scores, 0.5).coeff[dominant] as number;
    (before[dominant] as Float32Array[]).forEach((b, j) => {
      expect(maxAbsDiff((after[dominant] as Float32Array[])[j] as Float32Array, b.map((v) => v * k))).toBeLessThanOrEqual(1e-6 * Math.max(maxAbs(b), 1e-12));
    });
  });

  it('modulates only inside the window, both ends inclusive (k = 1 and no noise outside)', () => {
    for (const [epoch, inside] of [[0, false], [1, true], [2, true], [3, false]] as const) {
      const model = tinyModel(3);
      const method = ogmGe.create({ modulationStarts: 1, modulationEnds: 2 });
      const { before, after, logs } = modulateOnce(method, model, batch, stepContext(model, sgd(model), epoch));
      const changed = MODALITIES.some((m) => (before[m] as Float32Array[]).some((b, j) => maxAbsDiff((after[m] as Float32Array[])[j] as Float32Array, b) > 0));
      expect(changed).toBe(inside);
      if (!inside) expect([logs.k_audio, logs.k_visual]).toEqual([1, 1]);
    }
  });

  it('GE adds noise whose standard deviation is that of the unscaled gradient, on both encoders', () => {
    const model = tinyModel(5, 16);
    const { scores, params, before, after } = modulateOnce(ogmGe.create({ alpha: 0.5 }), model, batch, stepContext(model, sgd(model), 0));
    const { coeff } = ogmCoefficients(scores, 0.5);
    for (const m of MODALITIES) {
      // The largest kernel (64 x 32 x 3 x 3 = 18,432 entries) gives a tight estimate.
      const j = (params[m] as Tensor[]).reduce((best, p, i, ps) => (p.numel > (ps[best] as Tensor).numel ? i : best), 0);
      const g0 = (before[m] as Float32Array[])[j] as Float32Array;
      const g1 = (after[m] as Float32Array[])[j] as Float32Array;
      const noise = g1.map((v, i) => v - (coeff[m] as number) * (g0[i] as number));
      const sd = (a: Float32Array): number => {
        const mean = a.reduce((s, v) => s + v, 0) / a.length;
        return Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / (a.length - 1));
      };
      expect(sd(noise) / sd(g0)).toBeGreaterThan(0.95);
      expect(sd(noise) / sd(g0)).toBeLessThan(1.05);
      expect(Math.abs(noise.reduce((s, v) => s + v, 0) / noise.length)).toBeLessThan(0.05 * sd(g0));
    }
  });

  it("GE noise is a function of (run seed, step) alone: the same again for the same step, another for the next, libtorch's global generator untouched", () => {
    const noiseOf = (step: number): Float32Array[] => {
      const model = tinyModel(5);
      const { after } = modulateOnce(ogmGe.create({ alpha: 0.5 }), model, batch, stepContext(model, sgd(model), 0, step));
      return MODALITIES.flatMap((m) => after[m] as Float32Array[]);
    };
    const [a, b, c] = [noiseOf(3), noiseOf(3), noiseOf(4)];
    a.forEach((g, j) => expect(maxAbsDiff(g, b[j] as Float32Array)).toBe(0));
    expect(a.some((g, j) => maxAbsDiff(g, c[j] as Float32Array) > 0)).toBe(true);
    // The draws come from generators of their own: the global stream goes on as if none were made.
    manualSeed(11);
    const plain = randn([4]).toFloat32Array();
    manualSeed(11);
    const model = tinyModel(5);
    manualSeed(11);
    modulateOnce(ogmGe.create({ alpha: 0.5 }), model, batch, stepContext(model, sgd(model), 0, 3));
    expect(Array.from(randn([4]).toFloat32Array())).toEqual(Array.from(plain));
  });
});

describe('ogm-ge training', () => {
  it('runs 3 steps through the hooks: finite loss, parameters change, epoch means of k and rho', async () => {
    const split = makeSplit(24);
    const model = tinyModel(7);
    const opt = sgd(model);
    const method = ogmGe.create({});
    const start = snapshot(model.parameters());
    for (let s = 0; s < 3; s++) {
      const { loss, logs } = trainStep(method, batchOf(split, Array.from({ length: 8 }, (_, i) => s * 8 + i)), stepContext(model, opt, 0, s));
      expect(Number.isFinite(loss)).toBe(true);
      expect(logs).toHaveProperty('k_audio');
    }
    expect(snapshot(model.parameters()).some((p, i) => maxAbsDiff(p, start[i] as Float32Array) > 0)).toBe(true);
    const means = (await method.endEpoch?.({} as never)) as Record<string, number>;
    expect(Object.keys(means).sort()).toEqual(['k_audio', 'k_visual', 'ratio_audio', 'ratio_visual']);
    expect(Math.min(means.k_audio as number, means.k_visual as number)).toBeLessThan(1);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => ogmGe.create({ alpha: -1 })).toThrow(/ogm-ge: option alpha must be a number >= 0, got -1/);
    expect(() => ogmGe.create({ modulationStarts: 10, modulationEnds: 5 })).toThrow(/modulationEnds \(5\) must not be before modulationStarts \(10\)/);
    expect(() => ogmGe.create({ modulationEnds: 2.5 })).toThrow(/modulationEnds must be an integer/);
    expect(() => ogmGe.create({ ge: 'yes' })).toThrow(/option ge must be one of on, off/);
    expect(() => ogmGe.create({ alhpa: 0.1 })).toThrow(/unknown option "alhpa"/);
  });
});
