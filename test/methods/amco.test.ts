import { describe, expect, it } from 'vitest';
import { amco, dependenceMass, maskFromDraws, maskRatio, maskScale } from '../../src/methods/amco.js';
import { noGrad, tensor, zeros, type Tensor } from '../../src/torch/index.js';
import type { ConcatFusion } from '../../src/models/fusion.js';
import { stepTools } from '../../src/train/session.js';
import { CLASSES, MODALITIES, batchOf, makeSplit, sgd, stepContext, tinyModel, trainStep } from './fixtures.js';

describe('amco schedule, mask and dependence', () => {
  it('mask ratio p = sin(pi/2 min(eps, k e ramp) / eps): 0 all through epoch 0, 1 after 3 batches of epoch 1 (defaults)', () => {
    for (let k = 0; k < 50; k++) expect(maskRatio(k, 0, 0.3, 0.1)).toBe(0);
    expect(maskRatio(0, 1, 0.3, 0.1)).toBe(0);
    expect(maskRatio(1, 1, 0.3, 0.1)).toBeCloseTo(0.5, 14); // sin(pi/6)
    expect(maskRatio(2, 1, 0.3, 0.1)).toBeCloseTo(Math.sqrt(3) / 2, 14); // sin(pi/3)
    expect(maskRatio(3, 1, 0.3, 0.1)).toBeCloseTo(1, 14);
    expect(maskRatio(1, 3, 0.3, 0.1)).toBeCloseTo(1, 14);
    expect(maskRatio(4, 2, 1, 0.05)).toBeCloseTo(Math.sin(Math.PI / 2 * 0.4), 14);
  });

  it('scale 1 / (1 - p), capped at 10 within 0.1 of p = 1', () => {
    expect(maskScale(0)).toBe(1);
    expect(maskScale(0.5)).toBe(2);
    expect(maskScale(0.85)).toBeCloseTo(1 / 0.15, 12);
    expect(maskScale(0.95)).toBe(10);
    expect(maskScale(1)).toBe(10);
  });

  it('the mask zeroes the given number of entries, at the largest draws', () => {
    const draws = tensor([0.3, -1.0, 2.5, 0.1, 1.7, -0.2]);
    expect(Array.from(maskFromDraws(draws, 2).toFloat32Array())).toEqual([1, 1, 0, 1, 0, 1]);
    expect(Array.from(maskFromDraws(draws, 0).toFloat32Array())).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(maskFromDraws(draws, 6).toFloat32Array())).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('dependence mass: per modality, the softmax over the concatenated logits summed on its entries and over the batch', () => {
    const za = [[2.0, 0.1, -0.5], [0.4, 0.2, 1.1]];
    const zb = [[1.1, 0.6, -0.2], [-0.5, 0.3, 3.0]];
    const want = [0, 0];
    for (let i = 0; i < 2; i++) {
      const row = [...(za[i] as number[]), ...(zb[i] as number[])].map(Math.exp);
      const s = row.reduce((x, v) => x + v, 0);
      want[0]! += row.slice(0, 3).reduce((x, v) => x + v, 0) / s;
      want[1]! += row.slice(3).reduce((x, v) => x + v, 0) / s;
    }
    const got = dependenceMass([tensor(za), tensor(zb)]).toFloat64Array();
    expect(Math.abs((got[0] as number) - want[0]!)).toBeLessThan(1e-6);
    expect(Math.abs((got[1] as number) - want[1]!)).toBeLessThan(1e-6);
    expect((got[0] as number) + (got[1] as number)).toBeCloseTo(2, 12);
  });
});

describe('amco loss', () => {
  const n = 16;
  const split = makeSplit(n);
  const idx = [3, 9, 0, 14, 7, 1, 12, 5];

  /**
   * The float64 reference for one step of batch `k` in `epoch`: shares from the unmasked unimodal
   * logits, the (seed, step) draws per dependent modality in modality order, the masked and scaled
   * features through the concat head, CE(fused) + sum_m CE(z^m).
   */
  function reference(model: ReturnType<typeof tinyModel>, step: number, k: number, epoch: number, sigma: number) {
    const b = batchOf(split, idx);
    return noGrad(() => {
      const out = model.forward(b.inputs);
      const y = b.labels.toArray();
      const N = idx.length;
      const z = MODALITIES.map((m) => (out.unimodal[m] as Tensor).toFloat64Array());
      const share = [0, 0];
      for (let i = 0; i < N; i++) {
        const e = MODALITIES.map((_, j) => Array.from(z[j]!.subarray(i * CLASSES, (i + 1) * CLASSES), Math.exp));
        const tot = e.flat().reduce((s, v) => s + v, 0);
        e.forEach((row, j) => { share[j]! += row.reduce((s, v) => s + v, 0) / tot / N; });
      }
      const p = Math.sin(Math.PI / 2 * Math.min(0.3, k * epoch * 0.1) / 0.3);
      const scale = Math.abs(p - 1) > 0.1 ? 1 / (1 - p) : 10;
      const d = (out.features.audio as Tensor).size(1);
      const tools = stepTools(0, step, null);
      const masks = MODALITIES.map((_, j) => {
        if (!((share[j] as number) > sigma && p > 0)) return { keep: new Array<number>(d).fill(1), scale: 1 };
        const draws = Array.from(tools.randnLike(zeros([d])).toFloat64Array());
        const order = draws.map((v, i) => [v, i] as const).sort((x, yy) => yy[0] - x[0]);
        const keep = new Array<number>(d).fill(1);
        order.slice(0, Math.floor(p * d)).forEach(([, i]) => { keep[i] = 0; });
        return { keep, scale };
      });
      const f = MODALITIES.map((m) => (out.features[m] as Tensor).toFloat64Array());
      const head = (model.fusion as ConcatFusion).head;
      const w = head.weight.toFloat64Array(), bias = (head.bias as Tensor).toFloat64Array();
      const ce = (logits: number[], c: number): number => {
        const mx = Math.max(...logits);
        return Math.log(logits.reduce((s, v) => s + Math.exp(v - mx), 0)) + mx - (logits[c] as number);
      };
      let loss = 0;
      for (let i = 0; i < N; i++) {
        // Each modality's slice of the concat head: plus bias / 2 its unimodal logits; both plus the bias, the fused ones.
        const part = MODALITIES.map((_, j) => Array.from({ length: CLASSES }, (_, c) => {
          let v = 0;
          for (let t = 0; t < d; t++) v += (w[c * 2 * d + j * d + t] as number) * (f[j]![i * d + t] as number) * (masks[j]!.keep[t] as number) * masks[j]!.scale;
          return v;
        }));
        const fused = Array.from({ length: CLASSES }, (_, c) => (bias[c] as number) + part[0]![c]! + part[1]![c]!);
        loss += ce(fused, y[i] as number) + part.reduce((s, row) => s + ce(row.map((v, c) => v + (bias[c] as number) / 2), y[i] as number), 0);
      }
      return { loss: loss / N, share, p };
    });
  }

  it('equals the float64 reference: dependence from the unmasked logits, the seeded mask, the 1 / (1 - p) scale, CE of every head', async () => {
    let masked = 0;
    for (const [step, k, epoch, sigma] of [[0, 0, 0, 0.5], [1, 1, 1, 0.4], [2, 2, 1, 0.4], [3, 1, 2, 0.0], [4, 5, 3, 0.4], [5, 1, 1, 0.6]] as const) {
      const model = tinyModel(2);
      model.train();
      const ref = reference(model, step, k, epoch, sigma);
      const method = amco.create({ sigma });
      await method.beginEpoch?.({} as never);
      const b = batchOf(split, idx);
      // Batches 0..k-1 of the epoch advance the method's batch count (each call with fresh draws).
      const ctx = () => stepContext(model, sgd(model), epoch, step);
      for (let j = 0; j < k; j++) noGrad(() => method.loss(model.forward(b.inputs), b, ctx()));
      const r = method.loss(model.forward(b.inputs), b, ctx());
      expect(r.loss.item(), `step ${step}`).toBeCloseTo(ref.loss, 5);
      expect(r.logs?.p).toBeCloseTo(ref.p, 12);
      expect(r.logs?.share_audio).toBeCloseTo(ref.share[0]!, 6);
      masked += (r.logs?.masked_audio ?? 0) + (r.logs?.masked_visual ?? 0);
    }
    expect(masked).toBeGreaterThan(1);
  });

  it('2 ranks on the halves of a batch (shares exchanged) average to the 1-process loss, where the halves alone would decide otherwise', async () => {
    const halves = [idx.slice(0, 4), idx.slice(4)];
    for (const [step, epoch] of [[0, 1], [1, 2], [2, 3]] as const) {
      const model = tinyModel(2 + step);
      // Eval mode: BatchNorm's batch statistics would differ between a half and the whole.
      model.eval();
      // sigma between the whole batch's audio share and the first half's: that half alone would decide otherwise.
      const audioShare = (part: number[]): number => noGrad(() => {
        const out = model.forward(batchOf(split, part).inputs);
        return (dependenceMass(MODALITIES.map((m) => out.unimodal[m] as Tensor)).toFloat64Array()[0] as number) / part.length;
      });
      const sigma = (audioShare(idx) + audioShare(halves[0]!)) / 2;
      expect(audioShare(idx) > sigma).not.toBe(audioShare(halves[0]!) > sigma);
      const lossOn = async (part: number[], allReduceSum: (v: number[]) => number[]): Promise<number> => {
        const method = amco.create({ sigma });
        await method.beginEpoch?.({} as never);
        const b = batchOf(split, part);
        const ctx = { ...stepContext(model, sgd(model), epoch, step), allReduceSum };
        noGrad(() => method.loss(model.forward(b.inputs), b, ctx)); // batch 0: p = 0
        return noGrad(() => method.loss(model.forward(b.inputs), b, ctx).loss.item());
      };
      const whole = await lossOn(idx, (v) => [...v]);
      // Each rank's local values of each call; a call's sum needs the other rank's values, so the
      // ranks are replayed until every call has seen them (one pass per call).
      let seen: number[][][] = [[], []];
      let ranks: number[] = [];
      for (let pass = 0; pass < 3; pass++) {
        const next: number[][][] = [[], []];
        ranks = await Promise.all(halves.map((h, r) => { let c = 0; return lossOn(h, (v) => { const other = seen[1 - r]![c++]; next[r]!.push(v); return other ? v.map((x, i) => x + (other[i] as number)) : [...v]; }); }));
        seen = next;
      }
      expect((ranks[0]! + ranks[1]!) / 2, `step ${step}`).toBeCloseTo(whole, 5);
    }
  });

  it('trains: plain fused CE outside the window; inside it logs p, the shares and the CE terms; rejects bad options', async () => {
    const model = tinyModel(4);
    const opt = sgd(model);
    const method = amco.create({ modulationStarts: 1, sigma: 0.3 });
    await method.beginEpoch?.({} as never);
    expect(trainStep(method, batchOf(split, idx), stepContext(model, opt, 0, 0)).lossLogs).toBeUndefined();
    const inside = trainStep(method, batchOf(split, idx), stepContext(model, opt, 1, 1));
    expect(Number.isFinite(inside.loss)).toBe(true);
    expect(Object.keys(inside.lossLogs ?? {}).sort()).toEqual(['ce', 'ce_audio', 'ce_visual', 'masked_audio', 'masked_visual', 'p', 'share_audio', 'share_visual']);
    expect(inside.lossLogs?.p).toBeCloseTo(0.5, 12); // epoch 1, its second batch
    expect(() => amco.create({ eps: 0 })).toThrow(/amco: option eps must be a number > 0, got 0/);
    expect(() => amco.create({ sigma: 2 })).toThrow(/amco: option sigma must be a number in \[0, 1\], got 2/);
  });
});
