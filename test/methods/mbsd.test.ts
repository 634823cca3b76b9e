import { describe, expect, it } from 'vitest';
import { mbsd, pairTerms } from '../../src/methods/mbsd.js';
import { nn, noGrad, tensor, type Tensor } from '../../src/torch/index.js';
import type { ModelOutput } from '../../src/models/types.js';
import { runPython } from '../helpers/python.js';
import { MODALITIES, batchOf, makeSplit, sgd, stepContext, tinyModel, trainStep } from './fixtures.js';

// Fixed logits [N = 6, C = 4] of two heads and labels. Row 0: both right; row 1: only b right;
// row 2: neither right (weight 0); row 3: identical rows (a tie, weight 0); row 4: only a right;
// row 5: a far more confident (its softmax nearly one-hot).
const A = [[2.0, 0.1, -0.5, 0.3], [0.4, 0.2, 1.1, -0.3], [1.5, -0.2, 0.0, 0.1], [0.3, 0.9, -0.4, 0.2], [-0.1, 2.2, 0.3, 0.0], [0.0, 0.5, 30.0, -2.0]];
const B = [[1.1, 0.6, -0.2, 0.0], [-0.5, 0.3, 0.1, 1.9], [0.2, 0.1, 1.4, -0.6], [0.3, 0.9, -0.4, 0.2], [0.5, 0.1, 0.4, 0.6], [0.2, 0.1, 0.4, -0.3]];
const Y = [0, 3, 1, 1, 1, 2];

// The BalanceBenchmark 2-modality terms, sample by sample as its trainer writes them (Python's
// max/min, F.kl_div on the scalar probabilities, RS on logits), float64, with the gradients.
const REFERENCE = `
import json, sys, torch
import torch.nn.functional as F
a = torch.tensor(json.loads(sys.argv[1]), dtype=torch.float64, requires_grad=True)
b = torch.tensor(json.loads(sys.argv[2]), dtype=torch.float64, requires_grad=True)
y = json.loads(sys.argv[3])
n, c = a.shape
pa, pb = F.softmax(a, dim=1), F.softmax(b, dim=1)
kl = 0
rs = 0
for i in range(n):
    ua, ub = pa[i][y[i]], pb[i][y[i]]
    right = int(pa[i].argmax()) == y[i] or int(pb[i].argmax()) == y[i]
    w = (max(ua, ub) - min(ua, ub)) if right else 0.0
    kl = kl + w * F.kl_div(max(ua, ub), min(ua, ub), reduction='none')
    rs = rs + w * torch.sum((a[i] - b[i]) ** 2) / c
kl, rs = kl / n, rs / n
ga, gb = torch.autograd.grad(kl + 2 * rs, [a, b])
print(json.dumps({'kl': kl.item(), 'rs': rs.item(), 'ga': ga.tolist(), 'gb': gb.tolist()}))
`;

describe('mbsd distillation terms', () => {
  it('equal BalanceBenchmark\'s per-sample arithmetic in PyTorch (float64), values and gradients', () => {
    const ref = JSON.parse(runPython(REFERENCE, [JSON.stringify(A), JSON.stringify(B), JSON.stringify(Y)])) as { kl: number; rs: number; ga: number[][]; gb: number[][] };
    const a = tensor(A, { dtype: 'float64', requiresGrad: true });
    const b = tensor(B, { dtype: 'float64', requiresGrad: true });
    const { kl, rs } = pairTerms(a, b, tensor(Y, { dtype: 'int64' }));
    expect(Math.abs(kl.item() - ref.kl)).toBeLessThan(1e-12);
    expect(Math.abs(rs.item() - ref.rs)).toBeLessThan(1e-12);
    kl.add(rs.mul(2)).backward();
    const ga = (a.grad as Tensor).toFloat64Array(), gb = (b.grad as Tensor).toFloat64Array();
    ref.ga.flat().forEach((v, i) => expect(Math.abs((ga[i] as number) - v), `ga[${i}]`).toBeLessThan(1e-12));
    ref.gb.flat().forEach((v, i) => expect(Math.abs((gb[i] as number) - v), `gb[${i}]`).toBeLessThan(1e-12));
    // Rows 2 (neither right) and 3 (tie) carry no gradient; the terms are not trivially zero.
    for (const r of [2, 3]) for (let c = 0; c < 4; c++) expect(ga[r * 4 + c]).toBe(0);
    expect(ref.kl).not.toBe(0);
    expect(ref.rs).toBeGreaterThan(0);
  });

  it('stays finite where the weaker probability underflows in float32 (xlogy)', () => {
    const { kl, rs } = noGrad(() => pairTerms(tensor([[0, 200, 0, 0]]), tensor([[200, 0, 0, 0]]), tensor([0], { dtype: 'int64' })));
    expect(Number.isFinite(kl.item())).toBe(true);
    expect(Number.isFinite(rs.item())).toBe(true);
  });
});

describe('mbsd loss', () => {
  const split = makeSplit(16);
  const idx = [0, 3, 5, 6, 9, 10, 12, 15];

  it('is CE(fused) + sum_m CE(z^m) + the pair terms; with 3 modalities the mean over the 3 pairs', () => {
    const model = tinyModel(3);
    const b = batchOf(split, idx);
    const out = model.forward(b.inputs);
    const r = mbsd.create().loss(out, b, stepContext(model, sgd(model), 0, 0));
    const ref = noGrad(() => {
      const z = MODALITIES.map((m) => out.unimodal[m] as Tensor);
      const t = pairTerms(z[0] as Tensor, z[1] as Tensor, b.labels);
      return [out.fused, ...z].reduce((s, zz) => s + nn.F.crossEntropy(zz, b.labels).item(), 0) + t.kl.item() + t.rs.item();
    });
    expect(r.loss.item()).toBeCloseTo(ref, 5);
    expect(Object.keys(r.logs ?? {}).sort()).toEqual(['ce', 'ce_audio', 'ce_visual', 'kl', 'rs']);

    const y = tensor([0, 1, 2, 3, 1, 2], { dtype: 'int64' });
    const zs = [tensor(A), tensor(B), tensor(A.map((row) => row.map((v, c) => v * 0.5 - c * 0.2)))];
    const fused = tensor(B.map((row) => row.map((v) => -v)));
    const three: ModelOutput = { fused, unimodal: { a: zs[0] as Tensor, b: zs[1] as Tensor, c: zs[2] as Tensor }, features: {} };
    const ctx = { ...stepContext(model, sgd(model), 0, 0), modalities: ['a', 'b', 'c'] };
    const got = noGrad(() => mbsd.create().loss(three, { ...b, labels: y, size: 6 }, ctx).loss.item());
    const want = noGrad(() => {
      const pairs = [[0, 1], [0, 2], [1, 2]].map(([i, j]) => pairTerms(zs[i!] as Tensor, zs[j!] as Tensor, y));
      const ce = [fused, ...zs].reduce((s, z) => s + nn.F.crossEntropy(z, y).item(), 0);
      return ce + pairs.reduce((s, t) => s + t.kl.item() + t.rs.item(), 0) / 3;
    });
    expect(got).toBeCloseTo(want, 5);
  });

  it('2 ranks on the halves of a batch average to the 1-process loss (every term a batch mean)', () => {
    const model = tinyModel(5);
    // Eval mode: BatchNorm's batch statistics would differ between a half and the whole.
    model.eval();
    const lossOn = (part: number[]): number => {
      const b = batchOf(split, part);
      return noGrad(() => mbsd.create().loss(model.forward(b.inputs), b, stepContext(model, sgd(model), 0, 0)).loss.item());
    };
    expect((lossOn(idx.slice(0, 4)) + lossOn(idx.slice(4))) / 2).toBeCloseTo(lossOn(idx), 5);
  });

  it('trains inside its window, plain fused CE outside; rejects a reversed window', () => {
    const model = tinyModel(7);
    const opt = sgd(model);
    const method = mbsd.create({ modulationStarts: 1 });
    const outside = trainStep(method, batchOf(split, idx), stepContext(model, opt, 0, 0));
    expect(outside.lossLogs).toBeUndefined();
    const inside = trainStep(method, batchOf(split, idx), stepContext(model, opt, 1, 1));
    expect(Number.isFinite(inside.loss)).toBe(true);
    expect(inside.lossLogs?.rs).toBeGreaterThanOrEqual(0);
    expect(() => mbsd.create({ modulationStarts: 5, modulationEnds: 2 })).toThrow(/mbsd: option modulationEnds \(2\) must not be before modulationStarts \(5\)/);
  });
});
