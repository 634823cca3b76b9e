// The adaptive loss in tensors equals the plain-arithmetic reference of src/core (1e-6 relative),
// and under gapGrad 'weak-only' its gap and align terms send gradient only to the weak modality.
import { describe, expect, it } from 'vitest';
import { tensor, nn, grad, type Tensor } from '../../src/torch/index.js';
import { adaptiveLoss } from '../../src/methods/gmm-adaptive.js';
import { adaptiveLossReference } from '../../src/core/adaptive-weights.js';
import { gmmAdaptive, type GmmAdaptiveOptions } from '../../src/methods/gmm-adaptive.js';
import type { ModelOutput } from '../../src/models/types.js';

const C = 3;
const fused = [[2, 0.5, -1], [0.1, 0.3, 0.2], [-1, 2, 0.5], [0.4, 0.4, 1.5]];
const audio = [[3, 0, -1], [0, 2, 0], [-2, 1, 0.5], [0.2, 0.1, 2.5]];
const visual = [[0.5, 0.2, 0.1], [0.3, 0.2, 0.1], [0, 0.1, 3], [1, 0, 0.2]];
const labels = [0, 1, 1, 2];
const gamma = [0.9, 0.1, 0.6, 0.0];

function softmaxRow(r: number[]): number[] { const m = Math.max(...r); const e = r.map((v) => Math.exp(v - m)); const s = e.reduce((a, b) => a + b); return e.map((v) => v / s); }

function outputs(): { out: ModelOutput; a: Tensor; v: Tensor } {
  const a = tensor(audio, { dtype: 'float64', requiresGrad: true });
  const v = tensor(visual, { dtype: 'float64', requiresGrad: true });
  return { out: { fused: tensor(fused, { dtype: 'float64', requiresGrad: true }), unimodal: { audio: a, visual: v }, features: {} }, a, v };
}

describe('gmm-adaptive loss', () => {
  const y = tensor(labels, { dtype: 'int64' });
  const g = tensor(gamma, { dtype: 'float64' });
  const balanced = { muBal: 0.05, sigmaBal: 0.2 };
  const o = gmmAdaptive.resolve({ beta: 0.7, kappa: 2, lambdaGap: 0.5, lambdaAlign: 0.3, gapSpace: 'prob' }) as GmmAdaptiveOptions;

  it('equals the reference formula of src/core on hand-made logits', () => {
    const { out } = outputs();
    const r = adaptiveLoss(out, y, g, ['audio', 'visual'], o, balanced);
    const pa = audio.map(softmaxRow), pv = visual.map(softmaxRow), pf = fused.map(softmaxRow);
    const truthA = labels.map((l, i) => pa[i]![l]!), truthV = labels.map((l, i) => pv[i]![l]!);
    const ref = adaptiveLossReference({
      crossEntropy: labels.map((l, i) => -Math.log(pf[i]![l]!)),
      gapPenalty: truthA.map((a, i) => Math.abs(a - truthV[i]!)),
      gaps: truthA.map((a, i) => a - truthV[i]!),
      gamma,
    }, balanced, o);
    expect(r.total.item()).toBeCloseTo(ref.total, 10);
    expect(r.fusion.item()).toBeCloseTo(ref.fusion, 10);
    expect(r.gap.item()).toBeCloseTo(ref.gap, 10);
    expect(r.align.item()).toBeCloseTo(ref.align, 10);
  });

  it("gapGrad 'weak-only': the gap and align terms move only the weak modality of each sample", () => {
    const { out, a, v } = outputs();
    const r = adaptiveLoss(out, y, g, ['audio', 'visual'], o, balanced);
    const [ga, gv] = grad([r.gap.add(r.align)], [a, v], { allowUnused: true });
    const ra = ga!.toArray(), rv = gv!.toArray();
    const pa = audio.map(softmaxRow), pv = visual.map(softmaxRow);
    labels.forEach((l, i) => {
      const audioDominant = pa[i]![l]! > pv[i]![l]!;
      const strongRow = (audioDominant ? ra : rv).slice(i * C, (i + 1) * C);
      const weakRow = (audioDominant ? rv : ra).slice(i * C, (i + 1) * C);
      expect(strongRow.every((x) => x === 0), `sample ${i}: the dominant modality got gradient ${strongRow}`).toBe(true);
      if (gamma[i]! > 0 || o.lambdaGap > 0) expect(weakRow.some((x) => Math.abs(x) > 1e-9), `sample ${i}: the weak modality got none`).toBe(true);
    });
  });

  it("gapGrad 'both' lets the gradient reach the dominant modality too", () => {
    const { out, a, v } = outputs();
    const r = adaptiveLoss(out, y, g, ['audio', 'visual'], { ...o, gapGrad: 'both' }, balanced);
    const [ga, gv] = grad([r.gap], [a, v]);
    expect(ga!.abs().sum().item()).toBeGreaterThan(0);
    expect(gv!.abs().sum().item()).toBeGreaterThan(0);
  });

  it('gamma = 0 reduces it to (1 + beta) CE plus the plain gap term', () => {
    const { out } = outputs();
    const zero = tensor([0, 0, 0, 0], { dtype: 'float64' });
    const r = adaptiveLoss(out, y, zero, ['audio', 'visual'], o, balanced);
    const ce = nn.F.crossEntropy(out.fused, y).item();
    expect(r.fusion.item()).toBeCloseTo((1 + o.beta) * ce, 10);
    expect(r.align.item()).toBe(0);
  });

  it('rejects bad options by name', () => {
    expect(() => gmmAdaptive.create({ beta: -1 })).toThrow(/gmm-adaptive: .*beta/);
    expect(() => gmmAdaptive.create({ gapGrad: 'strong' })).toThrow(/gapGrad/);
    expect(() => gmmAdaptive.create({ lamdaGap: 1 })).toThrow(/gmm-adaptive: unknown option "lamdaGap"/);
    expect(() => gmmAdaptive.create({ gapSpace: 'logit' })).toThrow(/gmm-adaptive: option gapSpace must be one of prob, log, got "logit"/);
  });

  it("gapSpace 'log': the gap term's gradient on the weak logits is the weak modality's weighted cross-entropy gradient", () => {
    const { out, a, v } = outputs();
    const lg = { ...o, gapSpace: 'log' as const };
    const r = adaptiveLoss(out, y, g, ['audio', 'visual'], lg, balanced);
    const [ga, gv] = grad([r.gap], [a, v], { allowUnused: true });
    const pa = audio.map(softmaxRow), pv = visual.map(softmaxRow);
    labels.forEach((l, i) => {
      const audioWeak = pa[i]![l]! < pv[i]![l]!;
      const weakProbs = audioWeak ? pa[i]! : pv[i]!;
      const got = (audioWeak ? ga! : gv!).toArray().slice(i * C, (i + 1) * C);
      // d CE / dz = p - onehot(y), times lambdaGap (1 + kappa gamma) / N.
      const w = (lg.lambdaGap * (1 + lg.kappa * gamma[i]!)) / labels.length;
      weakProbs.forEach((p, c) => expect(got[c]!).toBeCloseTo(w * (p - (c === l ? 1 : 0)), 10));
    });
  });

  it("where the weak modality is confidently wrong, the prob-space gradient vanishes and the log-space one does not", () => {
    const z = (t: number[][]): Tensor => tensor(t, { dtype: 'float64', requiresGrad: true });
    const strong = [[8, 0, 0]], weak = [[0, 12, 0]];
    const gradOnWeak = (space: 'prob' | 'log'): number => {
      const w = z(weak);
      const out: ModelOutput = { fused: z(strong), unimodal: { audio: z(strong), visual: w }, features: {} };
      const r = adaptiveLoss(out, tensor([0], { dtype: 'int64' }), tensor([1], { dtype: 'float64' }), ['audio', 'visual'], { ...o, gapSpace: space }, balanced);
      return grad([r.gap], [w])[0]!.abs().sum().item();
    };
    expect(gradOnWeak('prob')).toBeLessThan(1e-4);
    expect(gradOnWeak('log')).toBeGreaterThan(1);
  });
});
