import { describe, expect, it } from 'vitest';
import { agm, agmCoefficients, cumulativeMean, monoModalResponses, monoModalScore } from '../../src/methods/agm.js';
import { nn, noGrad, ops, tensor, type Tensor } from '../../src/torch/index.js';
import type { MultimodalClassifier } from '../../src/models/classifier.js';
import type { Method, StepContext, TrainBatch } from '../../src/methods/method.js';
import { CLASSES, MODALITIES, batchOf, gradsOf, makeSplit, maxAbs, maxAbsDiff, sgd, stepContext, tinyModel, trainStep } from './fixtures.js';

/** Mean over rows of -log max(softmax(row)[y], 1e-8), in float64. */
function scoreByHand(logits: ArrayLike<number>, labels: number[], classes: number): number {
  let s = 0;
  labels.forEach((y, i) => {
    const row = Array.from({ length: classes }, (_, c) => logits[i * classes + c] as number);
    const top = Math.max(...row);
    const e = row.map((v) => Math.exp(v - top));
    const p = (e[y] as number) / e.reduce((a, b) => a + b, 0);
    s += -Math.log(Math.max(p, 1e-8));
  });
  return s / labels.length;
}

/** Forward + fused CE backward; every parameter's gradient before and after beforeStep. */
function modulateOnce(method: Method, model: MultimodalClassifier, batch: TrainBatch, ctx: StepContext) {
  ctx.optimizer.zeroGrad();
  const out = model.forward(batch.inputs);
  method.loss(out, batch, ctx).loss.backward();
  const params = model.parameters();
  const before = gradsOf(params);
  const logs = method.beforeStep?.(out, batch, ctx) as Record<string, number>;
  return { out, params, before, after: gradsOf(params), logs };
}

/** This batch's mono-modal scores, computed by hand from the model's unimodal logits (concat: phi_m = z^m). */
function handScores(model: MultimodalClassifier, batch: TrainBatch): Record<string, number> {
  return noGrad(() => {
    const out = model.forward(batch.inputs);
    const y = batch.labels.toArray();
    return Object.fromEntries(MODALITIES.map((m) => [m, scoreByHand((out.unimodal[m] as Tensor).toFloat32Array(), y, CLASSES)]));
  });
}

describe('agm coefficients', () => {
  it('hand-worked: scores (0.5, 1.5), averages (0.8, 1.0), alpha 1 -> k_a = exp(e^0.2 - e^1), k_v = exp(e^-0.2 - e^-1)', () => {
    const { ratio, target, coeff } = agmCoefficients({ audio: 0.5, visual: 1.5 }, { audio: 0.8, visual: 1.0 }, 1, 10);
    expect(ratio.audio).toBeCloseTo(Math.E, 12);
    expect(ratio.visual).toBeCloseTo(1 / Math.E, 12);
    expect(target.audio).toBeCloseTo(Math.exp(0.2), 12);
    expect(coeff.audio).toBeCloseTo(Math.exp(Math.exp(0.2) - Math.E), 12); // 0.2238: audio got ahead, slowed
    expect(coeff.visual).toBeCloseTo(Math.exp(Math.exp(-0.2) - 1 / Math.E), 12); // 1.5697: visual sped up
    expect(coeff.audio as number).toBeLessThan(1);
    expect(coeff.visual as number).toBeGreaterThan(1);
  });

  it('direction: benchmark flips both exponents (BalanceBenchmark): the modality ahead of its average is sped up', () => {
    const { ratio, target, coeff } = agmCoefficients({ audio: 0.5, visual: 1.5 }, { audio: 0.8, visual: 1.0 }, 1, 10, 'benchmark');
    expect(ratio.audio).toBeCloseTo(1 / Math.E, 12);
    expect(target.audio).toBeCloseTo(Math.exp(-0.2), 12);
    expect(coeff.audio).toBeCloseTo(Math.exp(Math.exp(-0.2) - 1 / Math.E), 12);
    expect(coeff.visual).toBeCloseTo(Math.exp(Math.exp(0.2) - Math.E), 12);
  });

  it('the exponent is capped: target - ratio = e^3 - e^-10 > 10 gives exp(alpha * 10); equal strength gives 1', () => {
    const { coeff } = agmCoefficients({ audio: 10, visual: 0 }, { audio: 0, visual: 3 }, 0.5, 10);
    expect(coeff.audio).toBeCloseTo(Math.exp(5), 9);
    expect(agmCoefficients({ audio: 1, visual: 1 }, { audio: 2, visual: 2 }, 3, 10).coeff).toEqual({ audio: 1, visual: 1 });
  });

  it('the running average is the cumulative mean of the scores', () => {
    const xs = [3, 1, 2, 6];
    let m = 0;
    xs.forEach((x, i) => { m = cumulativeMean(m, x, i + 1); });
    expect(m).toBeCloseTo(3, 12);
  });
});

describe('agm mono-modal responses', () => {
  it('hand-made logits: phi_a = (z - z^v + z^a) / 2, phi_v = (z - z^a + z^v) / 2, phi_a + phi_v = z; scores floor p at 1e-8', () => {
    const z = tensor([[1, 2, 0], [0, 0, 0]]);
    const za = tensor([[0.5, 1, 0], [0, 30, 0]]);
    const zv = tensor([[0.2, 0.4, 1], [1, 0, 0]]);
    const phi = monoModalResponses(z, { audio: za, visual: zv }, MODALITIES);
    expect(maxAbsDiff((phi.audio as Tensor).toFloat32Array(), [0.65, 1.3, -0.5, -0.5, 15, 0])).toBeLessThan(1e-6);
    expect(maxAbsDiff((phi.visual as Tensor).toFloat32Array(), [0.35, 0.7, 0.5, 0.5, -15, 0])).toBeLessThan(1e-6);
    const y = tensor([1, 0], { dtype: 'int64' });
    const s = monoModalScore(phi.audio as Tensor, y).item();
    // Row 2: p = e^-0.5 / (e^-0.5 + e^15 + 1) ~ 1.1e-7 is above the floor; with the label on class 0 of [0, 30, 0] it would not be.
    expect(s).toBeCloseTo(scoreByHand([0.65, 1.3, -0.5, -0.5, 15, 0], [1, 0], 3), 4);
    expect(monoModalScore(tensor([[0, 30, 0]]), tensor([0], { dtype: 'int64' })).item()).toBeCloseTo(-Math.log(1e-8), 4);
    expect(() => monoModalResponses(z, { audio: za, visual: zv, text: zv }, ['audio', 'visual', 'text'])).toThrow(/agm: needs exactly 2 modalities/);
  });

  it('on a concat model they are the reference\'s 1/2 [f(a, v) - f(0, v) + f(a, 0)] with features zeroed through the fusion, and equal z^m', () => {
    const model = tinyModel(2);
    const batch = batchOf(makeSplit(8), [0, 1, 2, 3, 4, 5, 6, 7]);
    noGrad(() => {
      const out = model.forward(batch.inputs);
      const [fa, fv] = MODALITIES.map((m) => out.features[m] as Tensor) as [Tensor, Tensor];
      const padV = model.fusion.forward({ audio: fa, visual: ops.zeros_like(fv) }).fused;
      const padA = model.fusion.forward({ audio: ops.zeros_like(fa), visual: fv }).fused;
      const phi = monoModalResponses(out.fused, out.unimodal, MODALITIES);
      const refA = out.fused.sub(padA).add(padV).div(2);
      const refV = out.fused.sub(padV).add(padA).div(2);
      expect(maxAbsDiff((phi.audio as Tensor).toFloat32Array(), refA.toFloat32Array())).toBeLessThan(1e-5);
      expect(maxAbsDiff((phi.visual as Tensor).toFloat32Array(), refV.toFloat32Array())).toBeLessThan(1e-5);
      expect(maxAbsDiff((phi.audio as Tensor).toFloat32Array(), (out.unimodal.audio as Tensor).toFloat32Array())).toBeLessThan(1e-5);
    });
  });
});

describe('agm gradient modulation', () => {
  const split = makeSplit(24);
  const batch = batchOf(split, [0, 1, 2, 3, 4, 5, 6, 7]);

  it('first step: k_m = exp(alpha min(1 - ratio_m, cap)) from the hand-computed scores; each encoder\'s gradients times exactly k_m, the head\'s untouched', () => {
    const model = tinyModel(3);
    const method = agm.create({ alpha: 0.7, gradClip: 0 });
    const scores = handScores(model, batch);
    const { params, before, after, logs } = modulateOnce(method, model, batch, stepContext(model, sgd(model), 0));
    const kA = Math.exp(0.7 * Math.min(1 - Math.exp((scores.visual as number) - (scores.audio as number)), 10));
    const kV = Math.exp(0.7 * Math.min(1 - Math.exp((scores.audio as number) - (scores.visual as number)), 10));
    expect(logs.score_audio).toBeCloseTo(scores.audio as number, 4);
    expect(logs.k_audio).toBeCloseTo(kA, 4);
    expect(logs.k_visual).toBeCloseTo(kV, 4);
    expect(Math.abs(kA - 1)).toBeGreaterThan(1e-3);
    const owner = new Map<Tensor, string>();
    for (const m of MODALITIES) for (const p of model.encoder(m).parameters()) owner.set(p, m);
    params.forEach((p, j) => {
      const m = owner.get(p);
      const k = m ? (logs[`k_${m}`] as number) : 1;
      const b = before[j] as Float32Array;
      expect(maxAbsDiff(after[j] as Float32Array, b.map((v) => v * k))).toBeLessThanOrEqual(1e-6 * Math.max(maxAbs(b), 1e-12));
    });
    expect(method.state?.().json).toEqual({ steps: 1, averages: { audio: logs.score_audio, visual: logs.score_visual } });
  });

  it('outside the window (0-based, inclusive) nothing is scaled, but the running averages still move', () => {
    for (const [epoch, inside] of [[0, false], [1, true], [2, true], [3, false]] as const) {
      const model = tinyModel(3);
      const method = agm.create({ modulationStarts: 1, modulationEnds: 2, gradClip: 0 });
      const { before, after, logs } = modulateOnce(method, model, batch, stepContext(model, sgd(model), epoch));
      expect(before.some((b, j) => maxAbsDiff(after[j] as Float32Array, b) > 0)).toBe(inside);
      if (!inside) expect([logs.k_audio, logs.k_visual]).toEqual([1, 1]);
      expect((method.state?.().json as { steps: number }).steps).toBe(1);
    }
  });

  it('clips all gradients to a 2-norm of gradClip when a head weight gradient entry exceeds it', () => {
    const model = tinyModel(3);
    const { after, logs } = modulateOnce(agm.create({ gradClip: 1e-3 }), model, batch, stepContext(model, sgd(model), 0));
    expect(logs.clipped).toBe(1);
    const total = Math.sqrt(after.reduce((s, g) => s + g.reduce((a, v) => a + v * v, 0), 0));
    expect(total).toBeCloseTo(1e-3, 6);
    const loose = tinyModel(3);
    const r = modulateOnce(agm.create({ gradClip: 1e6, alpha: 0 }), loose, batch, stepContext(loose, sgd(loose), 0));
    expect(r.logs.clipped).toBe(0);
    r.before.forEach((b, j) => expect(maxAbsDiff(r.after[j] as Float32Array, b)).toBe(0));
  });

  it('needs two modalities, and says so', () => {
    const z = tensor([[0, 1]]);
    const out = { fused: z, unimodal: { a: z, b: z, c: z }, features: {} };
    const ctx = { ...stepContext(tinyModel(), sgd(tinyModel())), modalities: ['a', 'b', 'c'] };
    const b = { inputs: {}, lengths: {}, labels: tensor([1], { dtype: 'int64' }), index: Int32Array.of(0), ids: ['x'], size: 1 };
    expect(() => agm.create({}).beforeStep?.(out, b, ctx)).toThrow(/agm: needs exactly 2 modalities .* got a, b, c/);
  });
});

describe('agm state and training', () => {
  it('the running averages are the cumulative means of the step scores; a fresh method after loadState modulates identically', () => {
    const split = makeSplit(32);
    const model = tinyModel(5);
    const opt = sgd(model);
    const method = agm.create({ gradClip: 0 });
    const seen: Record<string, number[]> = { audio: [], visual: [] };
    for (let s = 0; s < 3; s++) {
      const { logs } = trainStep(method, batchOf(split, Array.from({ length: 8 }, (_, i) => s * 8 + i)), stepContext(model, opt, 0, s));
      for (const m of MODALITIES) (seen[m] as number[]).push((logs as Record<string, number>)[`score_${m}`] as number);
    }
    const saved = method.state?.() as NonNullable<ReturnType<NonNullable<Method['state']>>>;
    const json = saved.json as { steps: number; averages: Record<string, number> };
    expect(json.steps).toBe(3);
    for (const m of MODALITIES) expect(json.averages[m]).toBeCloseTo((seen[m] as number[]).reduce((a, b) => a + b, 0) / 3, 5);

    const resumed = agm.create({ gradClip: 0 });
    resumed.loadState?.({ json: JSON.parse(JSON.stringify(saved.json)) as Record<string, unknown>, tensors: {} });
    const fresh = agm.create({ gradClip: 0 });
    const batch = batchOf(split, [24, 25, 26, 27, 28, 29, 30, 31]);
    const run = (m: Method) => modulateOnce(m, model, batch, stepContext(model, opt, 0, 3));
    const [a, b, c] = [run(method), run(resumed), run(fresh)];
    expect(b.logs).toEqual(a.logs);
    a.after.forEach((g, j) => expect(maxAbsDiff(b.after[j] as Float32Array, g)).toBe(0));
    expect(Math.abs((c.logs.k_audio as number) - (a.logs.k_audio as number))).toBeGreaterThan(1e-4);
    expect(resumed.state?.().json).toEqual(method.state?.().json);
    expect(() => resumed.loadState?.({ json: { steps: 2, averages: { audio: 'x' } }, tensors: {} })).toThrow(/agm: state has no valid "averages"/);
  });

  it('30 steps through the hooks lower the fused training loss; epoch means of k, ratio and score, and the averages', async () => {
    const split = makeSplit(48);
    const model = tinyModel(8);
    const opt = sgd(model, 0.05);
    const method = agm.create({});
    const fusedLoss = (): number => noGrad(() => nn.F.crossEntropy(model.forward(split.inputs).fused, tensor(split.labels, { dtype: 'int64' })).item());
    const start = fusedLoss();
    for (let s = 0; s < 30; s++) {
      const first = (s % 6) * 8;
      const { loss, lossLogs } = trainStep(method, batchOf(split, Array.from({ length: 8 }, (_, i) => first + i)), stepContext(model, opt, Math.floor(s / 6), s));
      expect(Number.isFinite(loss)).toBe(true);
      expect(Object.keys(lossLogs ?? {})).toEqual(['ce']);
    }
    expect(fusedLoss()).toBeLessThan(0.8 * start);
    const means = (await method.endEpoch?.({} as never)) as Record<string, number>;
    expect(Object.keys(means).sort()).toEqual(['average_audio', 'average_visual', 'clipped', 'k_audio', 'k_visual', 'ratio_audio', 'ratio_visual', 'score_audio', 'score_visual']);
    expect(Object.values(means).every(Number.isFinite)).toBe(true);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => agm.create({ alpha: -1 })).toThrow(/agm: option alpha must be a number >= 0, got -1/);
    expect(() => agm.create({ gradClip: -0.5 })).toThrow(/agm: option gradClip must be a number >= 0/);
    expect(() => agm.create({ modulationStarts: 10, modulationEnds: 5 })).toThrow(/agm: option modulationEnds \(5\) must not be before modulationStarts \(10\)/);
    expect(() => agm.create({ modulationEnds: 2.5 })).toThrow(/modulationEnds must be an integer/);
    expect(() => agm.create({ direction: 'up' })).toThrow(/agm: option direction must be one of reference, benchmark, got "up"/);
    expect(() => agm.create({ momentum: 0.9 })).toThrow(/agm: unknown option "momentum"/);
    expect(agm.sharedWarmup).toBe(false);
  });
});
