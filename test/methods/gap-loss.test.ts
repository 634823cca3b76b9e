// gap-loss, gmm-adaptive's control: (1 + beta) CE + lambdaGap mean relu(CE_weak - CE_dom), checked
// against plain arithmetic on hand-made logits, and equal to gmm-adaptive's loss with gamma = 0.
import { describe, expect, it } from 'vitest';
import { grad, tensor, type Tensor } from '../../src/torch/index.js';
import { gapLoss } from '../../src/methods/gap-loss.js';
import { adaptiveLoss, gmmAdaptive, type GmmAdaptiveOptions } from '../../src/methods/gmm-adaptive.js';
import type { StepContext, TrainBatch } from '../../src/methods/method.js';
import type { ModelOutput } from '../../src/models/types.js';

const fused = [[2, 0.5, -1], [0.1, 0.3, 0.2], [-1, 2, 0.5], [0.4, 0.4, 1.5]];
const audio = [[3, 0, -1], [0, 2, 0], [-2, 1, 0.5], [0.2, 0.1, 2.5]];
const visual = [[0.5, 0.2, 0.1], [0.3, 0.2, 0.1], [0, 0.1, 3], [1, 0, 0.2]];
const labels = [0, 1, 1, 2];

const logSoftmaxRow = (r: number[]): number[] => { const m = Math.max(...r); const s = Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0)); return r.map((v) => v - m - s); };

function outputs(): { out: ModelOutput; a: Tensor; v: Tensor } {
  const a = tensor(audio, { dtype: 'float64', requiresGrad: true });
  const v = tensor(visual, { dtype: 'float64', requiresGrad: true });
  return { out: { fused: tensor(fused, { dtype: 'float64', requiresGrad: true }), unimodal: { audio: a, visual: v }, features: {} }, a, v };
}
const batch = { labels: tensor(labels, { dtype: 'int64' }), size: labels.length, index: Int32Array.from([0, 1, 2, 3]) } as unknown as TrainBatch;
const ctx = { modalities: ['audio', 'visual'] } as unknown as StepContext;

describe('gap-loss', () => {
  it('equals (1 + beta) CE + lambdaGap mean relu(CE_weak - CE_dom) computed by hand', () => {
    const o = { beta: 0.5, lambdaGap: 3 };
    const { out } = outputs();
    const got = gapLoss.create(o).loss(out, batch, ctx).loss.item();
    const lf = fused.map(logSoftmaxRow), la = audio.map(logSoftmaxRow), lv = visual.map(logSoftmaxRow);
    const ce = labels.reduce((s, y, i) => s - lf[i]![y]!, 0) / labels.length;
    const gap = labels.reduce((s, y, i) => s + Math.abs(la[i]![y]! - lv[i]![y]!), 0) / labels.length;
    expect(got).toBeCloseTo((1 + o.beta) * ce + o.lambdaGap * gap, 10);
  });

  it('lambdaUni adds each modality\'s own cross-entropy, in gap-loss and gmm-adaptive alike', () => {
    const la = audio.map(logSoftmaxRow), lv = visual.map(logSoftmaxRow);
    const uni = labels.reduce((s, y, i) => s - la[i]![y]! - lv[i]![y]!, 0) / labels.length;
    const without = gapLoss.create().loss(outputs().out, batch, ctx).loss.item();
    expect(gapLoss.create({ lambdaUni: 0.7 }).loss(outputs().out, batch, ctx).loss.item()).toBeCloseTo(without + 0.7 * uni, 10);
    const o = gmmAdaptive.resolve({}) as GmmAdaptiveOptions;
    const g = tensor([0.2, 0.9, 0, 0.5], { dtype: 'float64' });
    const base = adaptiveLoss(outputs().out, batch.labels, g, ['audio', 'visual'], o, { muBal: 0, sigmaBal: 0.2 }).total.item();
    expect(adaptiveLoss(outputs().out, batch.labels, g, ['audio', 'visual'], { ...o, lambdaUni: 0.7 }, { muBal: 0, sigmaBal: 0.2 }).total.item()).toBeCloseTo(base + 0.7 * uni, 10);
  });

  it("is gmm-adaptive's loss with gamma = 0 for every sample (the defaults of both)", () => {
    const { out } = outputs();
    const got = gapLoss.create().loss(out, batch, ctx).loss.item();
    const o = gmmAdaptive.resolve({}) as GmmAdaptiveOptions;
    const zero = tensor([0, 0, 0, 0], { dtype: 'float64' });
    expect(got).toBeCloseTo(adaptiveLoss(outputs().out, batch.labels, zero, ['audio', 'visual'], o, { muBal: 0.3, sigmaBal: 0.1 }).total.item(), 10);
  });

  it('moves only the weak modality of each sample through the gap term (the default gapGrad)', () => {
    const { out, a, v } = outputs();
    const r = gapLoss.create({ beta: 0 }).loss(out, batch, ctx);
    const [ga, gv] = grad([r.loss], [a, v], { allowUnused: true });
    const la = audio.map(logSoftmaxRow), lv = visual.map(logSoftmaxRow);
    labels.forEach((y, i) => {
      const audioDominant = la[i]![y]! > lv[i]![y]!;
      const strong = (audioDominant ? ga! : gv!).toArray().slice(i * 3, i * 3 + 3);
      const weak = (audioDominant ? gv! : ga!).toArray().slice(i * 3, i * 3 + 3);
      expect(strong.every((x) => x === 0), `sample ${i}: the dominant modality got gradient ${strong}`).toBe(true);
      expect(weak.some((x) => Math.abs(x) > 1e-9), `sample ${i}: the weak modality got none`).toBe(true);
    });
  });

  it('rejects options it does not have (the GMM ones) by name', () => {
    expect(() => gapLoss.create({ kappa: 1 })).toThrow(/gap-loss: unknown option "kappa"/);
  });
});
