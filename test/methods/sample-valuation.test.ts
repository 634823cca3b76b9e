import { describe, expect, it } from 'vitest';
import { resampleCopies, sampleShapley, sampleValuation, shapley2 } from '../../src/methods/sample-valuation.js';
import { nn, randn, tensor, type Tensor } from '../../src/torch/index.js';
import type { EpochPlan, SplitPredictions } from '../../src/methods/method.js';
import { batchOf, epochContext, makeSplit, maxAbsDiff, predictionsOf, sgd, snapshot, stepContext, tinyModel, trainStep } from './fixtures.js';

/** Hand-made predictions over 3 classes: one row per sample, probabilities by argmax class. */
function preds(rows: { y: number; fused: number; audio: number; visual: number }[]): SplitPredictions {
  const oneHotish = (c: number): number[] => [0, 1, 2].map((k) => (k === c ? 0.8 : 0.1));
  return {
    ids: rows.map((_, i) => `s${i}`), labels: Int32Array.from(rows.map((r) => r.y)), index: Int32Array.from(rows.map((_, i) => 3 - i)),
    fused: Float32Array.from(rows.flatMap((r) => oneHotish(r.fused))),
    unimodal: { audio: Float32Array.from(rows.flatMap((r) => oneHotish(r.audio))), visual: Float32Array.from(rows.flatMap((r) => oneHotish(r.visual))) },
    corrupted: new Uint8Array(rows.length), numClasses: 3,
  };
}

const HAND = preds([
  { y: 0, fused: 0, audio: 0, visual: 0 }, // all right:                phi = (1, 1)
  { y: 1, fused: 1, audio: 1, visual: 2 }, // fused and audio right:    phi = (1.5, 0.5)
  { y: 2, fused: 0, audio: 2, visual: 1 }, // only audio right:         phi = (0.5, -0.5)
  { y: 1, fused: 1, audio: 0, visual: 0 }, // only fused right:         phi = (1, 1)
]);

describe('sample valuation: Shapley values', () => {
  it('two players, v(S) = |S| if S predicts right: phi_a = 1/2 [v(a) + v(av) - v(v)]', () => {
    expect(shapley2(true, true, true)).toEqual([1, 1]);
    expect(shapley2(true, true, false)).toEqual([1.5, 0.5]);
    expect(shapley2(true, false, false)).toEqual([1, 1]);
    expect(shapley2(false, true, false)).toEqual([0.5, -0.5]);
    expect(shapley2(false, true, true)).toEqual([0, 0]);
    expect(shapley2(false, false, false)).toEqual([0, 0]);
  });

  it('per sample from the predictions (argmax against the label), summing to v({a, v})', () => {
    const phi = sampleShapley(HAND, ['audio', 'visual']);
    expect(Array.from(phi.audio as Float32Array)).toEqual([1, 1.5, 0.5, 1]);
    expect(Array.from(phi.visual as Float32Array)).toEqual([1, 0.5, -0.5, 1]);
    expect(() => sampleShapley(HAND, ['audio', 'visual', 'text'])).toThrow(/needs exactly 2 modalities/);
  });

  it('low contributions get extra single-modality copies: -0.5 -> 3, 0 -> 2, 0.5 -> 1, >= 1 -> 0', () => {
    expect([-0.5, 0, 0.5, 1, 1.5].map(resampleCopies)).toEqual([3, 2, 1, 0, 0]);
  });
});

describe('sample valuation: re-sampling through the hooks', () => {
  const model = tinyModel(4);
  const opt = sgd(model);

  it('plain epochs during the warm-up, then every sample once plus its copies', async () => {
    const method = sampleValuation.create({ warmup: 2 });
    expect(await method.beginEpoch?.(epochContext(model, 1, 4, () => HAND))).toBeUndefined();
    const lines: string[] = [];
    const plan = (await method.beginEpoch?.(epochContext(model, 2, 4, () => HAND, lines))) as EpochPlan;
    // Row r is split sample 3 - r: sample 2 gets 1 visual copy (phi_v = 0.5), sample 1 gets 1 audio and 3 visual copies.
    expect(Array.from(plan.indices as Int32Array)).toEqual([0, 1, 1, 1, 1, 1, 2, 2, 3]);
    expect(lines[0]).toMatch(/sample-valuation: epoch 2: audio mean contribution 1\.000, \+1 audio-only copies; visual mean contribution 0\.500, \+4 visual-only copies/);
    expect(method.state?.().json.copies).toEqual({ audio: [0, 1, 0, 0], visual: [0, 3, 1, 0] });
  });

  it('re-values every `interval` epochs and keeps the copies in between', async () => {
    const method = sampleValuation.create({ warmup: 0, interval: 2 });
    let calls = 0;
    const counting = (): SplitPredictions => { calls++; return HAND; };
    for (const epoch of [0, 1, 2, 3]) await method.beginEpoch?.(epochContext(model, epoch, 4, counting));
    expect(calls).toBe(2);
  });

  it('the first visit of a sample trains the fused logits, later visits its copies\' modality alone', async () => {
    const method = sampleValuation.create({ warmup: 0 });
    await method.beginEpoch?.(epochContext(model, 0, 4, () => HAND));
    // Sample 1: 1 audio copy then 3 visual copies; sample 2: 1 visual copy; sample 0: none.
    const index = [1, 1, 2, 0, 1, 2];
    const labels = tensor([2, 2, 0, 1, 2, 0], { dtype: 'int64' });
    const z = { fused: randn([6, 4]), audio: randn([6, 4]), visual: randn([6, 4]) };
    const out = { fused: z.fused, unimodal: { audio: z.audio, visual: z.visual }, features: {} };
    const batch = { inputs: {}, lengths: {}, labels, index: Int32Array.from(index), ids: index.map(String), size: 6 };
    const r = method.loss(out, batch, stepContext(model, opt));
    const ce = (t: Tensor): number[] => nn.F.crossEntropy(t, labels, { reduction: 'none' }).toArray();
    const [f, a, v] = [ce(z.fused), ce(z.audio), ce(z.visual)];
    const roles = [f[0], a[1], f[2], f[3], v[4], v[5]] as number[];
    expect(r.loss.item()).toBeCloseTo(roles.reduce((s, x) => s + x, 0) / 6, 5);
    expect(r.logs?.unimodalShare).toBeCloseTo(0.5, 12);
    expect(method.state?.().json.visits).toEqual([1, 3, 2, 0]);
  });

  it('state round trip', async () => {
    const method = sampleValuation.create({ warmup: 0 });
    await method.beginEpoch?.(epochContext(model, 0, 4, () => HAND));
    const saved = method.state?.();
    const copy = sampleValuation.create({ warmup: 0 });
    copy.loadState?.(saved as never);
    expect(copy.state?.()).toEqual(saved);
    expect(() => copy.loadState?.({ json: { copies: null, visits: [-1] }, tensors: {} })).toThrow(/state has no valid "visits"/);
  });

  it('trains 3 steps after the warm-up: finite loss, parameters change', async () => {
    const split = makeSplit(16);
    const net = tinyModel(8);
    const optimizer = sgd(net);
    const method = sampleValuation.create({ warmup: 1 });
    const plan = (await method.beginEpoch?.(epochContext(net, 1, 16, () => predictionsOf(net, split)))) as EpochPlan;
    const indices = plan.indices as Int32Array;
    expect(indices.length).toBeGreaterThan(16);
    const start = snapshot(net.parameters());
    for (let s = 0; s < 3; s++) {
      const { loss } = trainStep(method, batchOf(split, indices.slice(s * 8, s * 8 + 8)), stepContext(net, optimizer, 1, s));
      expect(Number.isFinite(loss)).toBe(true);
    }
    expect(snapshot(net.parameters()).some((p, i) => maxAbsDiff(p, start[i] as Float32Array) > 0)).toBe(true);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => sampleValuation.create({ interval: 0 })).toThrow(/sample-valuation: option interval must be an integer >= 1, got 0/);
    expect(() => sampleValuation.create({ warmup: 1.5 })).toThrow(/option warmup must be an integer/);
    expect(() => sampleValuation.create({ threshold: 0.5 })).toThrow(/unknown option "threshold"/);
  });
});
