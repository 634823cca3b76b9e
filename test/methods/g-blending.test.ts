import { describe, expect, it } from 'vitest';
import { blendWeights, gBlending, headLosses, type HeadLosses } from '../../src/methods/g-blending.js';
import { heldOutMask } from '../../src/methods/balance-utils.js';
import type { EpochPlan, SplitPredictions } from '../../src/methods/method.js';
import { CLASSES, MODALITIES, batchOf, epochContext, makeSplit, predictionsOf, sgd, stepContext, tinyModel, trainStep } from './fixtures.js';

/** Hand-made predictions: row r has probability p_r on its label, spread evenly elsewhere. */
function predictions(pTrue: Record<string, number[]>, labels: number[]): SplitPredictions {
  const n = labels.length;
  const probs = (ps: number[]): Float32Array => {
    const out = new Float32Array(n * CLASSES);
    ps.forEach((p, r) => { for (let c = 0; c < CLASSES; c++) out[r * CLASSES + c] = c === labels[r] ? p : (1 - p) / (CLASSES - 1); });
    return out;
  };
  return {
    ids: labels.map((_, i) => `s${i}`), labels: Int32Array.from(labels), index: Int32Array.from({ length: n }, (_, i) => i),
    fused: probs(pTrue.fused as number[]), unimodal: Object.fromEntries(MODALITIES.map((m) => [m, probs(pTrue[m] as number[])])),
    corrupted: new Uint8Array(n), numClasses: CLASSES,
  };
}

describe('g-blending weights (w = |G| / O^2, normalised)', () => {
  it('a hand-computed super-epoch: G and O from the held-out and training losses at both ends', () => {
    const before: Record<string, HeadLosses> = { fused: { train: 1.2, heldOut: 1.3 }, audio: { train: 1.0, heldOut: 1.1 }, visual: { train: 1.35, heldOut: 1.4 } };
    const after: Record<string, HeadLosses> = { fused: { train: 0.6, heldOut: 0.9 }, audio: { train: 0.3, heldOut: 0.9 }, visual: { train: 1.2, heldOut: 1.3 } };
    // fused: G = 0.4, O = 0.3 - 0.1 = 0.2 -> 10; audio: G = 0.2, O = 0.6 - 0.1 = 0.5 -> 0.8; visual: G = 0.1, O = 0.1 - 0.05 = 0.05 -> 40.
    const raw = { fused: 0.4 / 0.2 ** 2, audio: 0.2 / 0.5 ** 2, visual: 0.1 / 0.05 ** 2 };
    const total = raw.fused + raw.audio + raw.visual;
    const w = blendWeights(before, after) as Record<string, number>;
    for (const k of ['fused', 'audio', 'visual'] as const) expect(w[k]).toBeCloseTo(raw[k] / total, 10);
    expect(w.visual! / w.fused!).toBeCloseTo(4, 8);
    // A held-out loss that rose counts by its size (|G|), as the reference's abs.
    const worse = blendWeights({ a: { train: 1, heldOut: 1 }, b: { train: 1, heldOut: 1 } }, { a: { train: 0.5, heldOut: 1.5 }, b: { train: 0.5, heldOut: 0.5 } }) as Record<string, number>;
    // a: G = -0.5, O = 1 -> 0.5; b: G = 0.5, O = 0 -> 0.5 / 1e-12 (floored): b takes (almost) all.
    expect(worse.b).toBeGreaterThan(1 - 1e-9);
    expect(blendWeights({ a: { train: 1, heldOut: 1 } }, { a: { train: 0.5, heldOut: 1 } })).toBeNull();
  });

  it('head losses: mean -log p[y] over the training part and over the held-out part, per head', () => {
    const labels = [0, 1, 2, 3, 0, 1];
    const held = Uint8Array.from([0, 0, 0, 0, 1, 1]);
    const p = { fused: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], audio: [0.25, 0.25, 0.25, 0.25, 0.3, 0.2], visual: [0.99, 0.98, 0.97, 0.96, 0.1, 0.2] };
    const l = headLosses(predictions(p, labels), held, MODALITIES);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a - Math.log(b), 0) / xs.length;
    for (const k of ['fused', 'audio', 'visual'] as const) {
      expect(l[k]!.train).toBeCloseTo(mean(p[k].slice(0, 4)), 6);
      expect(l[k]!.heldOut).toBeCloseTo(mean(p[k].slice(4)), 6);
    }
    expect(() => headLosses(predictions(p, labels), new Uint8Array(6), MODALITIES)).toThrow(/0 held-out samples/);
  });
});

describe('g-blending training', () => {
  const n = 40;
  const split = makeSplit(n);

  it('holds the same seeded part out of every epoch, blends with equal weights first, then with the measured ones', async () => {
    const model = tinyModel(3);
    const opt = sgd(model);
    const method = gBlending.create({ superEpoch: 2, heldOut: 0.2, seed: 5 });
    const held = heldOutMask(n, 0.2, 5);
    const measures: SplitPredictions[] = [];
    const lines: string[] = [];
    const ctxOf = (epoch: number) => epochContext(model, epoch, n, () => { const p = predictionsOf(model, split); measures.push(p); return p; }, lines);
    let step = 0;
    const train = async (epoch: number): Promise<{ loss: number; logs: Record<string, number> }> => {
      const plan = (await method.beginEpoch?.(ctxOf(epoch))) as EpochPlan;
      const idx = Array.from(plan.indices as Int32Array);
      expect(idx.length).toBe(n - 8);
      expect(idx.every((i) => !held[i])).toBe(true);
      let last = { loss: 0, logs: {} as Record<string, number> };
      for (let b = 0; b < idx.length; b += 8) {
        const r = trainStep(method, batchOf(split, idx.slice(b, b + 8)), stepContext(model, opt, epoch, step++));
        last = { loss: r.loss, logs: r.lossLogs as Record<string, number> };
      }
      return last;
    };
    // Epochs 0 and 1: equal weights; the loss is the mean of the three heads' cross-entropies.
    const e0 = await train(0);
    expect([e0.logs.w_fused, e0.logs.w_audio, e0.logs.w_visual]).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(e0.loss).toBeCloseTo((e0.logs.ce_fused! + e0.logs.ce_audio! + e0.logs.ce_visual!) / 3, 5);
    await train(1);
    expect(measures.length).toBe(1);
    // Epoch 2 starts a super-epoch: the weights of the losses measured at epochs 0 and 2.
    const e2 = await train(2);
    expect(measures.length).toBe(2);
    const w = blendWeights(headLosses(measures[0]!, held, MODALITIES), headLosses(measures[1]!, held, MODALITIES)) as Record<string, number>;
    expect(e2.logs.w_fused).toBeCloseTo(w.fused!, 12);
    expect(e2.logs.w_audio).toBeCloseTo(w.audio!, 12);
    expect(e2.loss).toBeCloseTo(w.fused! * e2.logs.ce_fused! + w.audio! * e2.logs.ce_audio! + w.visual! * e2.logs.ce_visual!, 5);
    expect(lines.length).toBe(2);
    // The state carries the weights and the last measurement across a resume.
    const resumed = gBlending.create({ superEpoch: 2, heldOut: 0.2, seed: 5 });
    resumed.loadState?.(JSON.parse(JSON.stringify(method.state!())));
    await resumed.beginEpoch?.(epochContext(model, 3, n, () => { throw new Error('no measurement inside a super-epoch'); }));
    const b = batchOf(split, [0, 1, 2, 3]);
    expect(resumed.loss(model.forward(b.inputs), b, stepContext(model, opt, 3)).logs?.w_visual).toBeCloseTo(w.visual!, 12);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => gBlending.create({ superEpoch: 0 })).toThrow(/g-blending: option superEpoch must be an integer >= 1, got 0/);
    expect(() => gBlending.create({ heldOut: 0 })).toThrow(/option heldOut must be a number in \(0, 0\.5\]/);
  });
});
