import { describe, expect, it } from 'vitest';
import { minNormWeight, mmpareto, paretoWeights } from '../../src/methods/mmpareto.js';
import { grad, nn, stack, tensor, zeros, type Tensor } from '../../src/torch/index.js';
import { MODALITIES, batchOf, gradsOf, makeSplit, maxAbs, maxAbsDiff, sgd, snapshot, stepContext, tinyModel, trainStep } from './fixtures.js';

const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
const weightsOf = (g1: number[], g2: number[]) => paretoWeights(dot(g1, g1), dot(g1, g2), dot(g2, g2));

describe('mmpareto weights', () => {
  it('conflicting gradients get the min-norm weights: g_mm = (1, 0), g_u = (-1, 1) -> 3/5, 2/5', () => {
    const { cos, weights } = weightsOf([1, 0], [-1, 1]);
    expect(cos).toBeCloseTo(-1 / Math.sqrt(2), 12);
    expect(weights[0]).toBeCloseTo(0.6, 12);
    expect(weights[1]).toBeCloseTo(0.4, 12);
    // The min-norm point (0.2, 0.4) is orthogonal to g_mm - g_u = (2, -1).
    expect(dot([0.6 * 1 + 0.4 * -1, 0.4 * 1], [2, -1])).toBeCloseTo(0, 12);
  });

  it('orthogonal gradients count as conflicting (cos > 0 is required): (1, 0), (0, 2) -> 4/5, 1/5', () => {
    const { cos, weights } = weightsOf([1, 0], [0, 2]);
    expect(cos).toBe(0);
    expect(weights[0]).toBeCloseTo(0.8, 12);
    expect(weights[1]).toBeCloseTo(0.2, 12);
  });

  it('agreeing gradients get equal weights: (1, 0), (1, 1) -> 1/2, 1/2', () => {
    const { cos, weights } = weightsOf([1, 0], [1, 1]);
    expect(cos).toBeCloseTo(1 / Math.sqrt(2), 12);
    expect(weights).toEqual([0.5, 0.5]);
  });

  it('degenerate cases: the closed form clips to [0, 1]; equal gradients split evenly', () => {
    expect(minNormWeight(0, 0, 1)).toBe(1); // g_mm = 0 is the min-norm point
    expect(minNormWeight(4, 0, 0)).toBe(0);
    expect(minNormWeight(1, -2, 9)).toBeCloseTo(11 / 14, 12);
    expect(minNormWeight(2, 2, 2)).toBe(0.5);
  });
});

describe('mmpareto backward', () => {
  it('hand-worked: conflicting audio gradients (1, 0) / (-1, 1) and agreeing visual gradients (1, 0) / (1, 1)', () => {
    // Two-class logits [0, s] at s = 0 with label 0: dCE/ds = 1/2, so a logit s = theta . (2 g)
    // gives the gradient g at theta = 0.
    const [ta, tv, h] = [zeros([2]), zeros([2]), zeros([1])].map((t) => t.requiresGrad_(true)) as [Tensor, Tensor, Tensor];
    const lin = (t: Tensor, v: number[]): Tensor => t.mul(tensor(v)).sum();
    const logits = (s: Tensor): Tensor => stack([s.mul(0), s]).reshape([1, 2]);
    const out = {
      fused: logits(lin(ta, [2, 0]).add(lin(tv, [2, 0])).add(h.sum())),
      unimodal: { audio: logits(lin(ta, [-2, 2]).add(h.sum())), visual: logits(lin(tv, [2, 2])) },
      features: {},
    };
    const toy = { encoder: (m: string) => ({ parameters: () => [m === 'audio' ? ta : tv] }), parameters: () => [ta, tv, h] };
    const batch = { inputs: {}, lengths: {}, labels: tensor([0], { dtype: 'int64' }), index: Int32Array.of(0), ids: ['x'], size: 1 };
    const method = mmpareto.create({});
    method.backward?.({ loss: zeros([]) }, out, batch, { ...stepContext(tinyModel(), sgd(tinyModel())), model: toy as never });
    // Audio: weights (3/5, 2/5), g = 2 (0.6 (1, 0) + 0.4 (-1, 1)) = (0.4, 0.8), ||g_mm + g_u|| = 1 > ||g||,
    // so p.grad = 1.5 * g / ||g||.
    const n = Math.sqrt(0.8);
    expect(maxAbsDiff((ta.grad as Tensor).toArray(), [1.5 * 0.4 / n, 1.5 * 0.8 / n])).toBeLessThan(1e-6);
    // Visual: equal weights, g = g_mm + g_u = (2, 1), no rescale: 1.5 * (2, 1).
    expect(maxAbsDiff((tv.grad as Tensor).toArray(), [3, 1.5])).toBeLessThan(1e-6);
    // The head gets the plain gradient of the total loss: 1/2 (fused) + 1/2 (audio).
    expect((h.grad as Tensor).toArray()).toEqual([1]);
  });

  it('writes gamma * max(1, ||g_mm + g_u|| / ||g||) * g, g = 2 (w_mm g_mm + w_u g_u), into each encoder parameter, and the total-loss gradient into the head', () => {
    const model = tinyModel(2);
    const opt = sgd(model);
    const batch = batchOf(makeSplit(8), [0, 1, 2, 3, 4, 5, 6, 7]);
    const ctx = stepContext(model, opt);
    const method = mmpareto.create({ gamma: 1.5 });
    const out = model.forward(batch.inputs);
    const y = batch.labels;

    // The expected gradients, from the formula.
    const lossMM = nn.F.crossEntropy(out.fused, y);
    const lossU = MODALITIES.map((m) => nn.F.crossEntropy(out.unimodal[m] as Tensor, y));
    const head = model.headParameters();
    const expected = new Map<Tensor, Float32Array>();
    const total = lossU.reduce((a, b) => a.add(b), lossMM);
    grad([total], head, { retainGraph: true }).forEach((g, j) => expected.set(head[j] as Tensor, (g as Tensor).toFloat32Array()));
    MODALITIES.forEach((m, i) => {
      const ps = model.encoder(m).parameters();
      const g1 = grad([lossMM], ps, { retainGraph: true }).map((g) => (g as Tensor).toFloat32Array());
      const g2 = grad([lossU[i] as Tensor], ps, { retainGraph: true }).map((g) => (g as Tensor).toFloat32Array());
      const flat = (gs: Float32Array[]): number[] => gs.flatMap((g) => Array.from(g));
      const [a, b] = [flat(g1), flat(g2)];
      const { weights: [w1, w2] } = paretoWeights(dot(a, a), dot(a, b), dot(b, b));
      ps.forEach((p, j) => {
        const x = g1[j] as Float32Array;
        const u = g2[j] as Float32Array;
        const c = x.map((v, k) => 2 * w1 * v + 2 * w2 * (u[k] as number));
        const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, e) => s + e * e, 0));
        const scale = 1.5 * Math.max(1, norm(x.map((v, k) => v + (u[k] as number))) / norm(c));
        expected.set(p, c.map((v) => v * scale));
      });
    });

    opt.zeroGrad();
    method.backward?.(method.loss(out, batch, ctx), out, batch, ctx);
    const params = model.parameters();
    const actual = gradsOf(params);
    params.forEach((p, j) => {
      const e = expected.get(p) as Float32Array;
      expect(maxAbsDiff(actual[j] as Float32Array, e)).toBeLessThanOrEqual(1e-5 * Math.max(maxAbs(e), 1e-8));
    });
    expect(expected.size).toBe(params.length);
  });
});

describe('mmpareto training', () => {
  it('runs 3 steps through the hooks: finite loss, parameters change, epoch means of cos and weights', async () => {
    const split = makeSplit(24);
    const model = tinyModel(9);
    const opt = sgd(model);
    const method = mmpareto.create({});
    const start = snapshot(model.parameters());
    for (let s = 0; s < 3; s++) {
      const { loss, lossLogs } = trainStep(method, batchOf(split, Array.from({ length: 8 }, (_, i) => s * 8 + i)), stepContext(model, opt, 0, s));
      expect(Number.isFinite(loss)).toBe(true);
      expect(Object.keys(lossLogs ?? {}).sort()).toEqual(['ce', 'ce_audio', 'ce_visual']);
    }
    expect(snapshot(model.parameters()).some((p, i) => maxAbsDiff(p, start[i] as Float32Array) > 0)).toBe(true);
    const means = (await method.endEpoch?.({} as never)) as Record<string, number>;
    expect(Object.keys(means).sort()).toEqual(['conflict_audio', 'conflict_visual', 'cos_audio', 'cos_visual', 'wmm_audio', 'wmm_visual']);
    expect(Object.values(means).every(Number.isFinite)).toBe(true);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => mmpareto.create({ gamma: -1 })).toThrow(/mmpareto: option gamma must be a number >= 0, got -1/);
    expect(() => mmpareto.create({ gama: 1 })).toThrow(/unknown option "gama"/);
  });
});
