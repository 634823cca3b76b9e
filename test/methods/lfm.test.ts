import { describe, expect, it } from 'vitest';
import { lfm, lfmWeight, matchingLoss } from '../../src/methods/lfm.js';
import { nn, noGrad, tensor, type Tensor } from '../../src/torch/index.js';
import { runPython } from '../helpers/python.js';
import { batchOf, epochContext, makeSplit, predictionsOf, sgd, stepContext, tinyModel } from './fixtures.js';

// Fixed logits [N = 4, C = 5], the last row nearly one-hot in `a` (a softmax that underflows in float32).
const A = [[0.3, -1.2, 2.0, 0.5, 0.0], [1.5, 1.5, -0.5, 0.2, -2.0], [-0.7, 0.1, 0.4, 3.1, -1.1], [40, -40, 0, 1, -3]];
const B = [[1.1, 0.2, -0.3, 0.0, 0.9], [-1.0, 2.2, 0.5, 0.5, 0.1], [0.6, -0.4, 1.8, -2.5, 0.3], [0.2, 0.1, -0.2, 0.4, 0.0]];

// The re-implementations' Alignment(p, q) (BalanceBenchmark LFM_trainer.py, ModalBed), in float64, and its gradients.
const REFERENCE = `
import json, sys, torch
import torch.nn.functional as F
a = torch.tensor(json.loads(sys.argv[1]), dtype=torch.float64, requires_grad=True)
b = torch.tensor(json.loads(sys.argv[2]), dtype=torch.float64, requires_grad=True)
p = F.softmax(a, dim=-1); q = F.softmax(b, dim=-1); m = 0.5 * p + 0.5 * q
loss = 0.5 * (F.kl_div(p.log(), m, reduction='batchmean') + F.kl_div(q.log(), m, reduction='batchmean'))
loss.backward()
print(json.dumps({'loss': loss.item(), 'ga': a.grad.tolist(), 'gb': b.grad.tolist()}))
`;

describe('lfm matching term and schedule', () => {
  it('the matching term and its gradients equal the re-implementations\' Alignment() in PyTorch (float64)', () => {
    const ref = JSON.parse(runPython(REFERENCE, [JSON.stringify(A), JSON.stringify(B)])) as { loss: number; ga: number[][]; gb: number[][] };
    const a = tensor(A, { dtype: 'float64', requiresGrad: true });
    const b = tensor(B, { dtype: 'float64', requiresGrad: true });
    const loss = matchingLoss(a, b);
    loss.backward();
    expect(Math.abs(loss.item() - ref.loss)).toBeLessThan(1e-12);
    const ga = (a.grad as Tensor).toFloat64Array();
    const gb = (b.grad as Tensor).toFloat64Array();
    ref.ga.flat().forEach((v, i) => expect(Math.abs((ga[i] as number) - v)).toBeLessThan(1e-12));
    ref.gb.flat().forEach((v, i) => expect(Math.abs((gb[i] as number) - v)).toBeLessThan(1e-12));
    // Zero for identical predictions, finite for the float32 row whose softmax underflows.
    expect(Math.abs(noGrad(() => matchingLoss(tensor(B), tensor(B)).item()))).toBeLessThan(1e-6);
    expect(Number.isFinite(noGrad(() => matchingLoss(tensor(A), tensor(B)).item()))).toBe(true);
  });

  it('alpha_e = exp(-decay e) clipped to [lo, hi]: 0.95 at epoch 0, 0.05 from epoch 10 with the defaults', () => {
    expect(lfmWeight(0, 0.3, 0.05, 0.95)).toBe(0.95);
    expect(lfmWeight(1, 0.3, 0.05, 0.95)).toBe(Math.exp(-0.3));
    expect(lfmWeight(5, 0.3, 0.05, 0.95)).toBe(Math.exp(-1.5));
    expect(lfmWeight(10, 0.3, 0.05, 0.95)).toBe(0.05);
    expect(lfmWeight(3, 0, 0.2, 0.7)).toBe(0.7);
  });
});

describe('lfm training loss', () => {
  it('is alpha_e * matching + (1 - alpha_e) * fused CE, alpha stepping with the method\'s epochs (and across a resume)', async () => {
    const split = makeSplit(8);
    const batch = batchOf(split, [0, 1, 2, 3, 4, 5, 6, 7]);
    const model = tinyModel(2);
    const method = lfm.create({});
    const ectx = epochContext(model, 0, 8, () => predictionsOf(model, split));
    const check = (expectedAlpha: number, m = method): void => {
      const ctx = stepContext(model, sgd(model), 0, 0);
      const out = model.forward(batch.inputs);
      const r = m.loss(out, batch, ctx);
      const ce = nn.F.crossEntropy(out.fused, batch.labels).item();
      const match = matchingLoss(out.unimodal.audio as Tensor, out.unimodal.visual as Tensor).item();
      expect(r.logs?.alpha).toBe(expectedAlpha);
      expect(r.logs?.ce).toBeCloseTo(ce, 6);
      expect(r.logs?.match).toBeCloseTo(match, 6);
      expect(r.loss.item()).toBeCloseTo(expectedAlpha * match + (1 - expectedAlpha) * ce, 5);
    };
    await method.beginEpoch?.(ectx);
    check(0.95);
    await method.beginEpoch?.(ectx);
    check(Math.exp(-0.3));
    const resumed = lfm.create({});
    resumed.loadState?.(method.state?.() as never);
    await resumed.beginEpoch?.(ectx);
    check(Math.exp(-0.6), resumed);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => lfm.create({ lo: 0.9, hi: 0.1 })).toThrow(/lfm: option lo \(0.9\) must not exceed hi \(0.1\)/);
    expect(() => lfm.create({ decay: -1 })).toThrow(/lfm: option decay must be a number >= 0, got -1/);
    expect(() => lfm.create({ hi: 2 })).toThrow(/lfm: option hi must be a number in \[0, 1\], got 2/);
  });
});
