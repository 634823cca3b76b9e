import { describe, expect, it } from 'vitest';
import { pmr, pmrBalance, prototypeLogits } from '../../src/methods/pmr.js';
import { nn, randn, tensor, type Tensor } from '../../src/torch/index.js';
import type { ModelOutput } from '../../src/models/types.js';
import type { Method, TrainBatch } from '../../src/methods/method.js';
import { MODALITIES, batchOf, epochContext, makeSplit, maxAbsDiff, sgd, snapshot, stepContext, tinyModel, trainStep } from './fixtures.js';

const model = tinyModel(0);
const opt = sgd(model);

/** A model output with hand-made 2-D features (2 classes); the logits are random leaves. */
function handOutput(audio: number[][], visual: number[][]): ModelOutput {
  const logits = (): Tensor => randn([audio.length, 2]).requiresGrad_(true);
  return { fused: logits(), unimodal: { audio: logits(), visual: logits() }, features: { audio: tensor(audio), visual: tensor(visual) } };
}

function handBatch(labels: number[]): TrainBatch {
  return { inputs: {}, lengths: {}, labels: tensor(labels, { dtype: 'int64' }), index: Int32Array.from(labels.keys()), ids: labels.map(String), size: labels.length };
}

const ctxAt = (epoch: number) => ({ ...stepContext(model, opt, epoch), numClasses: 2 });
const protoOf = (m: Method, modality: string): number[] => (m.state?.().tensors[`prototype.${modality}`] as Tensor).toArray();

describe('pmr prototypes and logits', () => {
  it('prototype logits are minus the Euclidean distance (or its square)', () => {
    const f = tensor([[0, 0], [3, 4]]);
    const c = tensor([[0, 0], [3, 0]]);
    expect(prototypeLogits(f, c).toArray()).toEqual([-0, -3, -5, -4]);
    expect(prototypeLogits(f, c, 'squared').toArray().map((v) => Math.round(v * 1e4) / 1e4)).toEqual([-0, -9, -25, -16]);
  });

  it('prototypes are the epoch\'s class centroids, then carried with momentum', async () => {
    const method = pmr.create({ momentum: 0.2 });
    // Epoch 0: class 0 at (1, 0) and (3, 0), class 1 at (0, 2).
    method.loss(handOutput([[1, 0], [3, 0], [0, 2]], [[0, 1], [0, 3], [4, 0]]), handBatch([0, 0, 1]), ctxAt(0));
    expect(method.state?.().json.counts).toEqual([2, 1]);
    await method.endEpoch?.({} as never);
    expect(protoOf(method, 'audio')).toEqual([2, 0, 0, 2]);
    expect(protoOf(method, 'visual')).toEqual([0, 2, 4, 0]);
    // Epoch 1: centroids (4, 0) and (0, 4): c = 0.8 * centroid + 0.2 * old.
    method.loss(handOutput([[4, 0], [0, 4]], [[0, 4], [4, 0]]), handBatch([0, 1]), ctxAt(1));
    await method.endEpoch?.({} as never);
    expect(maxAbsDiff(protoOf(method, 'audio'), [3.6, 0, 0, 3.6])).toBeLessThan(1e-6);
    expect(maxAbsDiff(protoOf(method, 'visual'), [0, 3.6, 4, 0])).toBeLessThan(1e-6);
  });

  it('a class never seen in an epoch keeps its prototype', async () => {
    const method = pmr.create({});
    method.loss(handOutput([[1, 0], [0, 1]], [[1, 0], [0, 1]]), handBatch([0, 1]), ctxAt(0));
    await method.endEpoch?.({} as never);
    method.loss(handOutput([[5, 0]], [[5, 0]]), handBatch([0]), ctxAt(1));
    await method.endEpoch?.({} as never);
    expect(maxAbsDiff(protoOf(method, 'audio'), [4.2, 0, 0, 1])).toBeLessThan(1e-6);
  });
});

describe('pmr rebalancing', () => {
  it('beta = clip(s_dominant / s_weak - 1, 0, 1) for the weak modality, 0 for the dominant one', () => {
    expect(pmrBalance({ audio: 3, visual: 2 })).toEqual({ dominant: 'audio', beta: { audio: 0, visual: 0.5 } });
    expect(pmrBalance({ audio: 1, visual: 4 })).toEqual({ dominant: 'visual', beta: { audio: 1, visual: 0 } });
    expect(pmrBalance({ audio: 2, visual: 2 }).beta).toEqual({ audio: 0, visual: 0 });
  });

  it('loss = CE + alpha * beta * PCE_weak - mu * beta * PER_dominant (PER summed over the batch)', async () => {
    const method = pmr.create({ alpha: 0.7, mu: 0.3 });
    method.loss(handOutput([[1, 0], [0, 1]], [[1, 1], [0, 0]]), handBatch([0, 1]), ctxAt(0));
    await method.endEpoch?.({} as never);
    const out = handOutput([[2, 0], [0.5, 0.5], [0, 1]], [[1, 0.2], [0.3, 0.4], [0.1, 0.9]]);
    const batch = handBatch([0, 1, 1]);
    const r = method.loss(out, batch, ctxAt(1));

    const y = batch.labels;
    const z = Object.fromEntries(MODALITIES.map((m) => [m, prototypeLogits(out.features[m] as Tensor, tensor(m === 'audio' ? [[1, 0], [0, 1]] : [[1, 1], [0, 0]]))]));
    const score = (m: string): number => (z[m] as Tensor).softmax(1).gather(1, y.unsqueeze(1)).sum().item();
    const { dominant, beta } = pmrBalance({ audio: score('audio'), visual: score('visual') });
    const weak = dominant === 'audio' ? 'visual' : 'audio';
    const b = beta[weak] as number;
    expect(b).toBeGreaterThan(0);
    const p = (z[dominant] as Tensor).softmax(1);
    const per = p.mul(p.log()).sum().neg().item();
    const expected = nn.F.crossEntropy(out.fused, y).item() + 0.7 * b * nn.F.crossEntropy(z[weak] as Tensor, y).item() - 0.3 * b * per;
    expect(r.loss.item()).toBeCloseTo(expected, 5);
    expect(r.logs?.[`beta_${weak}`]).toBeCloseTo(b, 6);

    // After the entropy window (perEpochs) only the PCE term remains.
    const late = pmr.create({ alpha: 0.7, mu: 0.3, perEpochs: 1 });
    late.loadState?.(method.state?.() as never);
    const r2 = late.loss(out, batch, ctxAt(1));
    expect(r2.loss.item()).toBeCloseTo(expected + 0.3 * b * per, 5);
  });

  it('state round trip: prototypes, sums and counts', async () => {
    const method = pmr.create({});
    method.loss(handOutput([[1, 0], [0, 1]], [[1, 0], [0, 1]]), handBatch([0, 1]), ctxAt(0));
    await method.endEpoch?.({} as never);
    method.loss(handOutput([[3, 0]], [[2, 2]]), handBatch([0]), ctxAt(1));
    const saved = method.state?.();
    const copy = pmr.create({});
    copy.loadState?.(saved as never);
    const again = copy.state?.();
    expect(again?.json).toEqual(saved?.json);
    expect(Object.keys(again?.tensors ?? {}).sort()).toEqual(['prototype.audio', 'prototype.visual', 'sum.audio', 'sum.visual']);
    for (const [k, t] of Object.entries(saved?.tensors ?? {})) expect((again?.tensors[k] as Tensor).toArray()).toEqual(t.toArray());
    expect(() => copy.loadState?.({ json: {}, tensors: {} })).toThrow(/pmr: state has no valid "counts"/);
  });
});

describe('pmr training', () => {
  it('runs through the hooks over two epochs: finite loss, parameters change, prototypes kept', async () => {
    const split = makeSplit(24);
    const net = tinyModel(11);
    const optimizer = sgd(net);
    const method = pmr.create({});
    const start = snapshot(net.parameters());
    for (const epoch of [0, 1]) {
      for (let s = 0; s < 3; s++) {
        const { loss, lossLogs } = trainStep(method, batchOf(split, Array.from({ length: 8 }, (_, i) => s * 8 + i)), stepContext(net, optimizer, epoch, s));
        expect(Number.isFinite(loss)).toBe(true);
        // Every batch holds all 4 classes, so the prototype terms are on from the first batch.
        expect(lossLogs).toHaveProperty('pce_visual');
      }
      expect(await method.endEpoch?.(epochContext(net, epoch, 24, () => { throw new Error('unused'); }))).toEqual({ prototypeClasses: 4 });
    }
    expect(snapshot(net.parameters()).some((p, i) => maxAbsDiff(p, start[i] as Float32Array) > 0)).toBe(true);
    const protos = method.state?.().tensors ?? {};
    expect((protos['prototype.audio'] as Tensor).shape).toEqual([4, (net.encoder('audio') as { featureDim: number }).featureDim]);
    expect((protos['prototype.audio'] as Tensor).toArray().every(Number.isFinite)).toBe(true);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => pmr.create({ momentum: 1.5 })).toThrow(/pmr: option momentum must be a number in \[0, 1\], got 1.5/);
    expect(() => pmr.create({ distance: 'cosine' })).toThrow(/option distance must be one of euclidean, squared/);
    expect(() => pmr.create({ perEpochs: -1 })).toThrow(/pmr: option perEpochs must be an integer >= 0, got -1/);
    expect(() => pmr.create({ beta: 1 })).toThrow(/unknown option "beta"/);
  });
});
