import { describe, expect, it } from 'vitest';
import { opm, opmDropProbabilities, opmTheta } from '../../src/methods/opm.js';
import { noGrad, ops, zeros, type Tensor } from '../../src/torch/index.js';
import type { ConcatFusion } from '../../src/models/fusion.js';
import { stepTools } from '../../src/train/session.js';
import { CLASSES, MODALITIES, batchOf, epochContext, makeSplit, predictionsOf, sgd, stepContext, tinyModel, trainStep } from './fixtures.js';

describe('opm drop probabilities', () => {
  it('q = clip(q_base (1 + lambda tanh(relu(s_m / s_other - 1))), 0, 1) for the leading modality, 0 for the other', () => {
    const { ratio, q } = opmDropProbabilities({ audio: 6, visual: 3 }, 0.5, 0.5);
    expect(ratio.audio).toBeCloseTo(Math.tanh(1), 14);
    expect(q.audio).toBeCloseTo(0.5 * (1 + 0.5 * Math.tanh(1)), 14);
    expect([ratio.visual, q.visual]).toEqual([0, 0]);
    // Clipped at 1; equal scores drop nothing.
    expect(opmDropProbabilities({ audio: 1, visual: 9 }, 0.9, 2).q.visual).toBe(1);
    expect(opmDropProbabilities({ audio: 2, visual: 2 }, 0.5, 0.5).q).toEqual({ audio: 0, visual: 0 });
    // Three modalities: the ratio is to the sum of the others (BalanceBenchmark).
    const three = opmDropProbabilities({ a: 5, b: 1, c: 1.5 }, 0.4, 1);
    expect(three.q.a).toBeCloseTo(0.4 * (1 + Math.tanh(5 / 2.5 - 1)), 14);
    expect([three.q.b, three.q.c]).toEqual([0, 0]);
  });

  it('theta is the width-weighted mean drop probability', () => {
    expect(opmTheta({ audio: 0.6, visual: 0 }, { audio: 64, visual: 192 })).toBeCloseTo(0.6 * 64 / 256, 14);
  });
});

describe('opm loss', () => {
  const n = 16;
  const split = makeSplit(n);

  /** The float64 reference: the sample rows of the (seed, step) draws, the masked concat fusion and the mean CE over kept samples. */
  function reference(model: ReturnType<typeof tinyModel>, idx: number[], step: number, pExe: number, qBase: number, lambda: number) {
    const b = batchOf(split, idx);
    return noGrad(() => {
      model.train();
      const out = model.forward(b.inputs);
      const y = b.labels.toArray();
      const score = (m: string): number => {
        const p = (out.unimodal[m] as Tensor).softmax(1).toFloat64Array();
        return y.reduce((s, c, i) => s + (p[i * CLASSES + c] as number), 0);
      };
      const { q } = opmDropProbabilities({ audio: score('audio'), visual: score('visual') }, qBase, lambda);
      const tools = stepTools(0, step, null);
      const exe = (ops.special_ndtr(tools.randnLike(zeros([1]))).toFloat64Array()[0] as number) < pExe;
      const u = ops.special_ndtr(tools.randnLike(zeros([n, 2]))).toFloat64Array();
      const f = MODALITIES.map((m) => (out.features[m] as Tensor).toFloat64Array());
      const d = (out.features.audio as Tensor).size(1);
      const head = (model.fusion as ConcatFusion).head;
      const w = head.weight.toFloat64Array(), bias = (head.bias as Tensor).toFloat64Array();
      const scale = 1 / (1 - opmTheta(q, { audio: d, visual: d }) + 1e-5);
      let sum = 0, kept = 0;
      idx.forEach((s, i) => {
        const keep = MODALITIES.map((m, j) => (exe ? ((u[s * 2 + j] as number) >= (q[m] as number) ? 1 : 0) : 1));
        if (keep[0] === 0 && keep[1] === 0) return;
        const z = Array.from({ length: CLASSES }, (_, c) => {
          let v = bias[c] as number;
          for (let j = 0; j < 2; j++) for (let k = 0; k < d; k++) v += (w[c * 2 * d + j * d + k] as number) * (f[j]![i * d + k] as number) * (keep[j] as number) * (exe ? scale : 1);
          return v;
        });
        const mx = Math.max(...z);
        sum += Math.log(z.reduce((a, v) => a + Math.exp(v - mx), 0)) + mx - (z[y[i] as number] as number);
        kept++;
      });
      return { loss: sum / kept, exe, q };
    });
  }

  it('equals the float64 reference: per-sample masks from the sample\'s row of draws, the 1 / (1 - theta) scale, the mean over kept samples', async () => {
    let exercised = 0;
    for (const step of [0, 1, 2, 3, 4, 5]) {
      const model = tinyModel(2);
      const method = opm.create({ qBase: 0.6, lambda: 1, pExe: 0.7 });
      await method.beginEpoch?.(epochContext(model, 0, n, () => predictionsOf(model, split)));
      const idx = [3, 9, 0, 14, 7, 1, 12, 5];
      const ref = reference(model, idx, step, 0.7, 0.6, 1);
      model.train();
      const b = batchOf(split, idx);
      const r = method.loss(model.forward(b.inputs), b, stepContext(model, sgd(model), 0, step));
      expect(r.loss.item()).toBeCloseTo(ref.loss, 5);
      expect(r.logs?.dropped).toBe(ref.exe && Math.max(ref.q.audio!, ref.q.visual!) > 0 ? 1 : 0);
      if (r.logs?.dropped) exercised++;
    }
    expect(exercised).toBeGreaterThan(0);
  });

  it('2 ranks on the halves of a batch (sums exchanged) average to the 1-process loss: masks follow the samples, not the batch', async () => {
    const idx = [3, 9, 0, 14, 7, 1, 12, 5];
    const halves = [idx.slice(0, 4), idx.slice(4)];
    for (const step of [0, 1, 2, 3]) {
      const model = tinyModel(2);
      const method = opm.create({ qBase: 0.6, lambda: 1, pExe: 0.9 });
      await method.beginEpoch?.(epochContext(model, 0, n, () => predictionsOf(model, split)));
      const lossOn = (part: number[], allReduceSum: (v: number[]) => number[]): number => {
        const b = batchOf(split, part);
        // Eval mode: BatchNorm's batch statistics would differ between a half and the whole.
        model.eval();
        return method.loss(model.forward(b.inputs), b, { ...stepContext(model, sgd(model), 0, step), allReduceSum }).loss.item();
      };
      const whole = lossOn(idx, (v) => [...v]);
      // Each rank's local values of each call; a call's sum needs the earlier calls' sums, so
      // the ranks are replayed until every call has seen the other rank's values (one pass per call).
      let seen: number[][][] = [[], []];
      let ranks: number[] = [];
      for (let pass = 0; pass < 3; pass++) {
        const next: number[][][] = [[], []];
        ranks = halves.map((h, r) => { let c = 0; return lossOn(h, (v) => { const other = seen[1 - r]![c++]; next[r]!.push(v); return other ? v.map((x, i) => x + (other[i] as number)) : [...v]; }); });
        seen = next;
      }
      expect((ranks[0]! + ranks[1]!) / 2).toBeCloseTo(whole, 5);
    }
  });

  it('trains: outside the window plain fused CE; inside it logs q and the share kept', async () => {
    const model = tinyModel(4);
    const opt = sgd(model);
    const method = opm.create({ modulationStarts: 1, pExe: 1, qBase: 0.9 });
    await method.beginEpoch?.(epochContext(model, 0, n, () => predictionsOf(model, split)));
    const outside = trainStep(method, batchOf(split, [0, 1, 2, 3, 4, 5, 6, 7]), stepContext(model, opt, 0, 0));
    expect(outside.lossLogs).toBeUndefined();
    const inside = trainStep(method, batchOf(split, [8, 9, 10, 11, 12, 13, 14, 15]), stepContext(model, opt, 1, 1));
    expect(Number.isFinite(inside.loss)).toBe(true);
    expect(inside.lossLogs).toHaveProperty('q_audio');
    const means = (await method.endEpoch?.({} as never)) as Record<string, number>;
    expect(means.dropped).toBe(1);
    expect(means.keptShare).toBeGreaterThan(0);
    expect(() => opm.create({ pExe: 1.5 })).toThrow(/opm: option pExe must be a number in \[0, 1\], got 1.5/);
  });
});
