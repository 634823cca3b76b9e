import { describe, expect, it } from 'vitest';
import { boostingLoss, consolidationLoss, ensembleLogits, reconboost, reconSchedule } from '../../src/methods/reconboost.js';
import { grad, nn, noGrad, tensor, type Tensor } from '../../src/torch/index.js';
import type { Method } from '../../src/methods/method.js';
import type { MultimodalClassifier } from '../../src/models/classifier.js';
import { MODALITIES, batchOf, epochContext, makeSplit, maxAbsDiff, sgd, snapshot, stepContext, tinyModel, trainStep, type Split } from './fixtures.js';

const softmaxRow = (r: number[]): number[] => {
  const m = Math.max(...r);
  const e = r.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b);
  return e.map((v) => v / s);
};

// Hand-made logits: 3 samples, 3 classes.
const Z = [[2, 0, -1], [0.5, 0.5, 1], [-1, 3, 0]];
const OTHERS = [[1, 0, 0], [0, 2, 0], [0, 0, 4]];
const PREV = [[0, 1, 0], [1, 1, 1], [2, 0, 0]];
const Y = [0, 2, 1];

const unused = (): never => { throw new Error('unused'); };
const begin = async (m: Method, model: MultimodalClassifier, epoch: number, lines?: string[]): Promise<void> => {
  await m.beginEpoch?.(epochContext(model, epoch, 16, unused, lines));
};

describe('reconboost schedule', () => {
  it('stages alternate the learners; each stage boosts, then rectifies', () => {
    const turns = Array.from({ length: 7 }, (_, k) => reconSchedule(k, ['audio', 'visual'], 2, 1));
    expect(turns.map((t) => `${t.stage}:${t.phase}:${t.learner}:${t.previous}`)).toEqual([
      '0:boost:audio:null', '0:boost:audio:null', '0:rectify:audio:null',
      '1:boost:visual:audio', '1:boost:visual:audio', '1:rectify:visual:audio',
      '2:boost:audio:visual',
    ]);
    // Without rectification, and with three modalities cycling in order.
    expect([0, 1, 2, 3].map((k) => reconSchedule(k, ['a', 'b', 'c'], 1, 0)).map((t) => `${t.learner}<${t.previous}`))
      .toEqual(['a<null', 'b<a', 'c<b', 'a<c']);
  });
});

describe('reconboost losses', () => {
  it('boosting loss = mean_i -(w1 - w2 q_y) / C log p_y, q = softmax(others) (the reference\'s two-term form)', () => {
    const r = boostingLoss(tensor(Z, { dtype: 'float64' }), tensor(OTHERS, { dtype: 'float64' }), tensor(Y, { dtype: 'int64' }), 5, 1);
    // By hand, term by term as the reference writes it: -w1 mean_k(y_k log p_k) + w2 mean_k(y_k q_k log p_k).
    const perSample = Y.map((y, i) => {
      const logp = softmaxRow(Z[i] as number[]).map(Math.log);
      const q = softmaxRow(OTHERS[i] as number[]);
      const t1 = -5 * (logp[y] as number) / 3;
      const t2 = 1 * (q[y] as number) * (logp[y] as number) / 3;
      return t1 + t2;
    });
    expect(r.item()).toBeCloseTo(perSample.reduce((a, b) => a + b) / 3, 12);
  });

  it('the residual: a sample the others already get right weighs w1 - w2, one they miss w1', () => {
    const y = tensor([0], { dtype: 'int64' });
    const z = tensor([[0, 0]], { dtype: 'float64' });
    const right = boostingLoss(z, tensor([[100, 0]], { dtype: 'float64' }), y, 5, 1).item();
    const wrong = boostingLoss(z, tensor([[0, 100]], { dtype: 'float64' }), y, 5, 1).item();
    expect(right).toBeCloseTo((4 / 2) * Math.log(2), 12);
    expect(wrong).toBeCloseTo((5 / 2) * Math.log(2), 12);
  });

  it('the others enter detached: no gradient reaches them', () => {
    const z = tensor(Z, { dtype: 'float64', requiresGrad: true });
    const o = tensor(OTHERS, { dtype: 'float64', requiresGrad: true });
    const [gz, go] = grad([boostingLoss(z, o, tensor(Y, { dtype: 'int64' }), 5, 1)], [z, o], { allowUnused: true });
    expect(gz).not.toBeNull();
    expect(go === null || (go as Tensor).toArray().every((v) => v === 0)).toBe(true);
  });

  it('consolidation = mean over samples and classes of (p - p\')^2, gradient only into the current learner', () => {
    const z = tensor(Z, { dtype: 'float64', requiresGrad: true });
    const prev = tensor(PREV, { dtype: 'float64', requiresGrad: true });
    const r = consolidationLoss(z, prev);
    let s = 0;
    Z.forEach((row, i) => {
      const p = softmaxRow(row);
      const q = softmaxRow(PREV[i] as number[]);
      p.forEach((v, k) => { s += (v - (q[k] as number)) ** 2; });
    });
    expect(r.item()).toBeCloseTo(s / 9, 12);
    const [gz, gp] = grad([r], [z, prev], { allowUnused: true });
    expect((gz as Tensor).toArray().some((v) => v !== 0)).toBe(true);
    expect(gp === null || (gp as Tensor).toArray().every((v) => v === 0)).toBe(true);
  });
});

describe('reconboost through the hooks', () => {
  const split = makeSplit(16);
  const batch = batchOf(split, Array.from({ length: 8 }, (_, i) => i));

  it('boosting: only the turn\'s learner trains; the frozen encoder gets no gradient and does not move', async () => {
    const model = tinyModel(3);
    const opt = sgd(model);
    const method = reconboost.create({ stageEpochs: 1, rectifyEpochs: 1 });
    const audio = model.encoder('audio').parameters();
    const visual = model.encoder('visual').parameters();
    const lines: string[] = [];

    // Epoch 0: stage 0 boosts audio.
    await begin(method, model, 0, lines);
    expect(lines[0]).toMatch(/reconboost: stage 0: boosting the audio learner/);
    const [a0, v0] = [snapshot(audio), snapshot(visual)];
    const { lossLogs } = trainStep(method, batch, stepContext(model, opt, 0));
    expect(Object.keys(lossLogs ?? {})).toEqual(['boost']);
    expect(visual.every((p) => p.grad === null)).toBe(true);
    expect(audio.every((p) => p.grad !== null)).toBe(true);
    expect(snapshot(visual).every((p, i) => maxAbsDiff(p, v0[i] as Float32Array) === 0)).toBe(true);
    expect(snapshot(audio).some((p, i) => maxAbsDiff(p, a0[i] as Float32Array) > 0)).toBe(true);
    expect(await method.endEpoch?.({} as never)).toEqual({ stage: 0, phase: 'boost', learner: 'audio' });

    // Epoch 1: rectification trains both encoders.
    await begin(method, model, 1, lines);
    expect(lines[1]).toMatch(/stage 0: global rectification/);
    const r = trainStep(method, batch, stepContext(model, opt, 1));
    expect(Object.keys(r.lossLogs ?? {})).toEqual(['ce']);
    expect([...audio, ...visual].every((p) => p.grad !== null)).toBe(true);

    // Epoch 2: stage 1 boosts visual; audio is frozen, and the consolidation term appears.
    await begin(method, model, 2);
    const a2 = snapshot(audio);
    const r2 = trainStep(method, batch, stepContext(model, opt, 2));
    expect(Object.keys(r2.lossLogs ?? {}).sort()).toEqual(['boost', 'consolidation']);
    expect(audio.every((p) => p.grad === null)).toBe(true);
    expect(snapshot(audio).every((p, i) => maxAbsDiff(p, a2[i] as Float32Array) === 0)).toBe(true);
  });

  it('the loss of a boosting step is L_boost + alpha * consolidation of the model\'s own logits', async () => {
    const model = tinyModel(5);
    const method = reconboost.create({ stageEpochs: 1, rectifyEpochs: 0, alpha: 0.7 });
    await begin(method, model, 0);
    await begin(method, model, 1); // stage 1: visual learner, previous audio
    const out = model.forward(batch.inputs);
    const r = method.loss(out, batch, stepContext(model, sgd(model), 1));
    const a = out.unimodal.audio as Tensor;
    const v = out.unimodal.visual as Tensor;
    const expected = boostingLoss(v, a, batch.labels, 5, 1).item() + 0.7 * consolidationLoss(v, a).item();
    expect(r.loss.item()).toBeCloseTo(expected, 6);
  });

  it('rectification is the cross-entropy of the ensemble, which for concat fusion is the fused head; fuse returns it', async () => {
    const model = tinyModel(6);
    const method = reconboost.create({ stageEpochs: 1, rectifyEpochs: 1 });
    await begin(method, model, 0);
    await begin(method, model, 1);
    const out = model.forward(batch.inputs);
    const r = method.loss(out, batch, stepContext(model, sgd(model), 1));
    expect(r.loss.item()).toBeCloseTo(nn.F.crossEntropy(out.fused, batch.labels).item(), 5);
    const f = method.fuse?.(out, { modalities: MODALITIES }) as Tensor;
    expect(maxAbsDiff(f.toArray(), out.fused.toArray())).toBeLessThan(1e-5);
    expect(maxAbsDiff(ensembleLogits(out, MODALITIES).toArray(), f.toArray())).toBe(0);
  });

  it('state round trip: a fresh method after loadState takes the same turn and gives the same loss', async () => {
    const model = tinyModel(7);
    const a = reconboost.create({ stageEpochs: 2, rectifyEpochs: 1 });
    for (const e of [0, 1, 2, 3]) await begin(a, model, e); // now in stage 1, boosting visual
    const saved = a.state?.();
    expect(saved?.json).toEqual({ epochs: 4 });
    const b = reconboost.create({ stageEpochs: 2, rectifyEpochs: 1 });
    b.loadState?.(saved as never);
    for (const m of [a, b]) await begin(m, model, 4);
    const out = noGrad(() => model.forward(batch.inputs));
    const ctx = stepContext(model, sgd(model), 4);
    expect(b.loss(out, batch, ctx).loss.item()).toBe(a.loss(out, batch, ctx).loss.item());
    expect(await b.endEpoch?.({} as never)).toEqual({ stage: 1, phase: 'boost', learner: 'visual' });
    expect(await a.endEpoch?.({} as never)).toEqual({ stage: 1, phase: 'boost', learner: 'visual' });
    expect(() => b.loadState?.({ json: { epochs: -1 }, tensors: {} })).toThrow(/reconboost: state has no valid "epochs"/);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => reconboost.create({ stageEpochs: 0 })).toThrow(/reconboost: option stageEpochs must be an integer >= 1, got 0/);
    expect(() => reconboost.create({ rectifyEpochs: 1.5 })).toThrow(/option rectifyEpochs must be an integer >= 0/);
    expect(() => reconboost.create({ weight1: 0 })).toThrow(/option weight1 must be a number > 0, got 0/);
    expect(() => reconboost.create({ weight1: 1, weight2: 2 })).toThrow(/reconboost: option weight2 \(2\) must not exceed weight1 \(1\)/);
    expect(() => reconboost.create({ alpha: -1 })).toThrow(/option alpha must be a number >= 0/);
    expect(() => reconboost.create({ boostRate: 1 })).toThrow(/unknown option "boostRate"/);
    expect(reconboost.sharedWarmup).toBe(false);
    expect(reconboost.resolve()).toEqual({ stageEpochs: 4, rectifyEpochs: 4, weight1: 5, weight2: 1, alpha: 0.5 });
  });
});

describe('reconboost training', () => {
  /** Cross-entropy of the ensemble on the whole split, in eval mode. */
  const ensembleCe = (model: MultimodalClassifier, split: Split): number => {
    model.eval();
    const v = noGrad(() => {
      const out = model.forward(split.inputs);
      return nn.F.crossEntropy(ensembleLogits(out, MODALITIES), tensor(split.labels, { dtype: 'int64' })).item();
    });
    model.train();
    return v;
  };

  it('two stages of boosting and rectification lower the ensemble\'s training loss', async () => {
    const split = makeSplit(16);
    const model = tinyModel(12);
    const opt = sgd(model, 0.05);
    const method = reconboost.create({ stageEpochs: 2, rectifyEpochs: 1 });
    const before = ensembleCe(model, split);
    const boostLosses: number[] = [];
    for (let epoch = 0; epoch < 6; epoch++) {
      await begin(method, model, epoch);
      for (let s = 0; s < 2; s++) {
        const { loss } = trainStep(method, batchOf(split, Array.from({ length: 8 }, (_, i) => s * 8 + i)), stepContext(model, opt, epoch, 2 * epoch + s));
        expect(Number.isFinite(loss)).toBe(true);
        if (epoch < 2) boostLosses.push(loss);
      }
    }
    expect(boostLosses[boostLosses.length - 1] as number).toBeLessThan(boostLosses[0] as number);
    expect(ensembleCe(model, split)).toBeLessThan(before);
  });
});
