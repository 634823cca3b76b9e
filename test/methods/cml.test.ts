import { describe, expect, it } from 'vitest';
import { cml, removalOrder } from '../../src/methods/cml.js';
import { noGrad, zeros, type Tensor } from '../../src/torch/index.js';
import type { ConcatFusion } from '../../src/models/fusion.js';
import { stepTools } from '../../src/train/session.js';
import { CLASSES, MODALITIES, batchOf, makeSplit, sgd, stepContext, tinyModel, trainStep } from './fixtures.js';

/** Row-wise softmax of a row-major [n x C] float64 array. */
function softmaxRows(z: Float64Array, n: number): Float64Array {
  const p = new Float64Array(z.length);
  for (let i = 0; i < n; i++) {
    const row = z.subarray(i * CLASSES, (i + 1) * CLASSES);
    const mx = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - mx));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, c) => { p[i * CLASSES + c] = v / s; });
  }
  return p;
}

describe('cml', () => {
  const split = makeSplit(16);
  const idx = [0, 3, 5, 6, 9, 10, 12, 15];

  it('removal order: the ascending order of the draws', () => {
    expect(removalOrder([0.3, -1.2, 2])).toEqual([1, 0, 2]);
  });

  it("equals BalanceBenchmark's arithmetic (float64): z_p = z - z^m + b/2 for the removed modality, CE mean over both inputs, the confidence hinge", () => {
    for (const hinge of ['sample', 'batch'] as const) {
      for (const step of [0, 1, 2, 3]) {
        const model = tinyModel(6);
        const b = batchOf(split, idx);
        const out = model.forward(b.inputs);
        const r = cml.create({ lam: 0.7, hinge }).loss(out, b, stepContext(model, sgd(model), 0, step));
        const removed = MODALITIES[removalOrder(stepTools(0, step, null).randnLike(zeros([2])).toFloat64Array())[0] as number] as string;
        const ref = noGrad(() => {
          const z = out.fused.toFloat64Array();
          const zm = (out.unimodal[removed] as Tensor).toFloat64Array();
          const bias = ((model.fusion as ConcatFusion).head.bias as Tensor).toFloat64Array();
          const zp = z.map((v, k) => v - (zm[k] as number) + (bias[k % CLASSES] as number) / 2);
          const y = b.labels.toArray();
          const ps = softmaxRows(z, 8), pp = softmaxRows(zp, 8);
          const ce = (p: Float64Array): number => y.reduce((s, c, i) => s - Math.log(p[i * CLASSES + c] as number), 0) / 8;
          const conf = (p: Float64Array, i: number): number => Math.max(...p.subarray(i * CLASSES, (i + 1) * CLASSES));
          const d = y.map((_, i) => conf(pp, i) - conf(ps, i));
          const reg = hinge === 'sample' ? d.reduce((s, v) => s + Math.max(0, v), 0) : Math.max(0, d.reduce((s, v) => s + v, 0));
          return (ce(ps) + ce(pp)) / 2 + 0.7 * reg;
        });
        expect(r.loss.item(), `${hinge} step ${step}`).toBeCloseTo(ref, 5);
      }
    }
  });

  it('trains inside its window (logs ce and the hinge), plain fused CE outside', () => {
    const model = tinyModel(7);
    const opt = sgd(model);
    const method = cml.create({ modulationStarts: 1 });
    expect(trainStep(method, batchOf(split, idx), stepContext(model, opt, 0, 0)).lossLogs).toBeUndefined();
    const inside = trainStep(method, batchOf(split, idx), stepContext(model, opt, 1, 1));
    expect(Number.isFinite(inside.loss)).toBe(true);
    expect(Object.keys(inside.lossLogs ?? {}).sort()).toEqual(['ce', 'reg']);
    expect(inside.lossLogs?.reg).toBeGreaterThanOrEqual(0);
    expect(() => cml.create({ hinge: 'mean' })).toThrow(/cml: option hinge must be one of sample, batch/);
  });
});
