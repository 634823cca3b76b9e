import { describe, expect, it } from 'vitest';
import { entropyFusion, mla, trainedModality, updateProjector } from '../../src/methods/mla.js';
import { buildModel, type MultimodalClassifier } from '../../src/models/classifier.js';
import { manualSeed, nn, noGrad, ops, tensor, type Tensor } from '../../src/torch/index.js';
import type { Method, StepContext, TrainBatch } from '../../src/methods/method.js';
import type { ModelOutput } from '../../src/models/types.js';
import {
  CLASSES, MODALITIES, batchOf, epochContext, makeSplit, maxAbs, maxAbsDiff, predictionsOf, sgd, stepContext, tinyModel, trainStep,
} from './fixtures.js';

/** Forward, the method's loss and backward; the head gradient [W | b] before beforeStep; then beforeStep. */
function stepOnce(method: Method, model: MultimodalClassifier, batch: TrainBatch, ctx: StepContext) {
  ctx.optimizer.zeroGrad();
  const out = model.forward(batch.inputs);
  const r = method.loss(out, batch, ctx);
  r.loss.backward();
  const [w, b] = model.headParameters() as [Tensor, Tensor];
  const raw = headGrad(w, b);
  const encoderGrads = Object.fromEntries(MODALITIES.map((m) => [m, model.encoder(m).parameters().map((p) => p.grad)]));
  const logs = method.beforeStep?.(out, batch, ctx) as Record<string, number>;
  return { out, loss: r.loss.item(), raw, after: headGrad(w, b), encoderGrads, logs };
}

/** The head gradient as rows of [W | b], in float64. */
function headGrad(w: Tensor, b: Tensor): number[][] {
  const gw = (w.grad as Tensor).toFloat32Array();
  const gb = (b.grad as Tensor).toFloat32Array();
  const d = w.size(1);
  return Array.from({ length: w.size(0) }, (_, c) => [...Array.from(gw.subarray(c * d, (c + 1) * d)), gb[c] as number]);
}

/** The mean augmented head input of modality i: [0, ..., mean f_m, ..., 0, 1/2]. */
function meanInput(out: ModelOutput, i: number): number[] {
  const fs = MODALITIES.map((m) => out.features[m] as Tensor);
  const dims = fs.map((f) => f.size(1));
  const f = (fs[i] as Tensor).detach();
  const n = f.size(0);
  const data = f.toFloat32Array();
  const r = new Array<number>(dims[0] as number + (dims[1] as number) + 1).fill(0);
  const offset = i === 0 ? 0 : (dims[0] as number);
  for (let j = 0; j < (dims[i] as number); j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += data[k * (dims[i] as number) + j] as number;
    r[offset + j] = s / n;
  }
  r[r.length - 1] = 1 / 2;
  return r;
}

const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
const norm = (a: number[]): number => Math.sqrt(dot(a, a));

/** The reference's projector update and projection, in float64: P' = normalise(P - k k^T / (alpha + r.k)), G' = G P'^T. */
function projectByHand(P: number[][], r: number[], alpha: number, G: number[][]): { P: number[][]; G: number[][] } {
  const k = P.map((row) => dot(row, r));
  const denom = alpha + dot(r, k);
  const next = P.map((row, i) => row.map((v, j) => v - ((k[i] as number) * (k[j] as number)) / denom));
  const fro = Math.sqrt(next.reduce((s, row) => s + dot(row, row), 0));
  const Pn = next.map((row) => row.map((v) => v / fro));
  return { P: Pn, G: G.map((g) => Pn.map((row) => dot(g, row))) };
}

const identity = (n: number): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
const maxRowDiff = (a: number[][], b: number[][]): number => Math.max(...a.map((row, i) => maxAbsDiff(row, b[i] as number[])));
const maxRowAbs = (a: number[][]): number => Math.max(...a.map((row) => maxAbs(row)));

describe('mla alternation', () => {
  it('modalities take turns by step', () => {
    expect([0, 1, 2, 3].map((s) => trainedModality(MODALITIES, s))).toEqual(['audio', 'visual', 'audio', 'visual']);
    expect([0, 1, 2, 3].map((s) => trainedModality(['a', 'b', 'c'], s))).toEqual(['a', 'b', 'c', 'a']);
  });

  it('a step trains its modality\'s unimodal cross-entropy only: the other encoder gets no gradient and does not move', () => {
    const model = tinyModel(3);
    const opt = sgd(model);
    const method = mla.create({ projection: 'off' });
    const batch = batchOf(makeSplit(8), [0, 1, 2, 3, 4, 5, 6, 7]);
    MODALITIES.forEach((m, step) => {
      const other = MODALITIES[1 - step] as string;
      const before = model.encoder(other).parameters().map((p) => p.detach().toFloat32Array());
      const ctx = stepContext(model, opt, 0, step);
      const { out, loss, encoderGrads, logs } = stepOnce(method, model, batch, ctx);
      expect(loss).toBeCloseTo(nn.F.crossEntropy(out.unimodal[m] as Tensor, batch.labels).item(), 6);
      expect((encoderGrads[m] as (Tensor | null)[]).every((g) => g !== null)).toBe(true);
      expect(maxAbs(Array.from((encoderGrads[m] as Tensor[]).flatMap((g) => Array.from(g.toFloat32Array()))))).toBeGreaterThan(0);
      expect((encoderGrads[other] as (Tensor | null)[]).every((g) => g === null)).toBe(true);
      expect(logs).toEqual({});
      opt.step();
      model.encoder(other).parameters().forEach((p, j) => expect(maxAbsDiff(p.detach().toFloat32Array(), before[j] as Float32Array)).toBe(0));
    });
  });

  it('beginEpoch visits every sample once per modality in the main stage, and leaves other stages\' samples alone', async () => {
    const model = tinyModel(1);
    const ctx = epochContext(model, 0, 5, () => predictionsOf(model, makeSplit(5)));
    const plan = await mla.create({}).beginEpoch?.(ctx);
    expect(Array.from(plan?.indices ?? [])).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    expect(await mla.create({}).beginEpoch?.({ ...ctx, stage: 'finetune' })).toBeUndefined();
    expect(await mla.create({ repeatEpoch: false }).beginEpoch?.(ctx)).toBeUndefined();
  });
});

describe('mla head-gradient projection', () => {
  it('closed form: P = I, r = (1, 2, 2), alpha = 1 -> P = (I - r r^T / 10) / sqrt(2.01); the update\'s component along r shrinks by alpha / (alpha + |r|^2)', () => {
    const P = updateProjector(ops.eye(3, 'float32'), tensor([1, 2, 2]), 1);
    const s = Math.sqrt(2.01);
    const r = [1, 2, 2];
    const expected = identity(3).map((row, i) => row.map((v, j) => (v - ((r[i] as number) * (r[j] as number)) / 10) / s));
    expect(maxAbsDiff(P.toFloat32Array(), expected.flat())).toBeLessThan(1e-6);
    // Any gradient G: (G P) r = (alpha / (alpha + |r|^2)) G r / ||I - r r^T / 10||_F, while a direction u orthogonal to r keeps G u / ||.||_F.
    const G = tensor([[0.3, -1, 2], [1, 0.5, -0.25]]);
    const Gr = G.matmul(tensor(r)).toArray();
    const GPr = G.matmul(P.t()).matmul(tensor(r)).toArray();
    GPr.forEach((v, c) => expect(v).toBeCloseTo((Gr[c] as number) * 0.1 / s, 6));
    const u = [2, -1, 0];
    const Gu = G.matmul(tensor(u)).toArray();
    G.matmul(P.t()).matmul(tensor(u)).toArray().forEach((v, c) => expect(v).toBeCloseTo((Gu[c] as number) / s, 6));
  });

  it('the first step is not projected; later steps project [W | b] with the reference\'s update, and keep the update orthogonal to the stored directions', () => {
    const model = tinyModel(4);
    const opt = sgd(model);
    const method = mla.create({ projection: 'project' });
    const split = makeSplit(24);
    const alpha = 0.1; // no beginEpoch: the share of the epoch done is 0, alpha_t = 0.1^1
    const n = model.fusion.dims.reduce((a, b) => a + b, 0) + 1;

    // Step 0 (audio): untouched, nothing stored.
    const s0 = stepOnce(method, model, batchOf(split, [0, 1, 2, 3, 4, 5, 6, 7]), stepContext(model, opt, 0, 0));
    expect(maxRowDiff(s0.after, s0.raw)).toBe(0);
    expect(s0.logs).toEqual({ head_grad_ratio: 1 });
    expect(method.state?.().tensors).toEqual({});
    opt.step();

    // Step 1 (visual): P = normalise(I - r r^T / (alpha + |r|^2)), r the mean visual input.
    const s1 = stepOnce(method, model, batchOf(split, [8, 9, 10, 11, 12, 13, 14, 15]), stepContext(model, opt, 0, 1));
    const rV = meanInput(s1.out, 1);
    const hand1 = projectByHand(identity(n), rV, alpha, s1.raw);
    expect(maxRowDiff(s1.after, hand1.G)).toBeLessThanOrEqual(1e-5 * maxRowAbs(hand1.G));
    const P1 = (method.state?.().tensors.projector as Tensor).toFloat32Array();
    expect(maxAbsDiff(P1, hand1.P.flat())).toBeLessThan(1e-6);
    // The stored direction: each class's update along r shrinks by alpha / (alpha + |r|^2) more than the rest.
    const shrink = alpha / (alpha + dot(rV, rV));
    const fro = Math.sqrt((n - 1) + (1 - dot(rV, rV) / (alpha + dot(rV, rV))) ** 2);
    s1.after.forEach((g, c) => expect(dot(g, rV)).toBeCloseTo(dot(s1.raw[c] as number[], rV) * shrink / fro, 7));
    expect(s1.logs.head_grad_ratio).toBeCloseTo(norm(hand1.G.flat()) / norm(s1.raw.flat()), 4);
    opt.step();

    // Step 2 (audio): the audio gradient moves the shared bias, so unprojected it would change the
    // visual logits at the stored visual input (G r_v = grad_b / 2); projected, hardly at all.
    const s2 = stepOnce(method, model, batchOf(split, [16, 17, 18, 19, 20, 21, 22, 23]), stepContext(model, opt, 0, 2));
    const hand2 = projectByHand(hand1.P, meanInput(s2.out, 0), alpha, s2.raw);
    expect(maxRowDiff(s2.after, hand2.G)).toBeLessThanOrEqual(1e-5 * maxRowAbs(hand2.G));
    const along = (G: number[][]): number => norm(G.map((g) => dot(g, rV))) / norm(G.flat());
    expect(along(s2.raw)).toBeGreaterThan(0);
    expect(along(s2.after)).toBeLessThan(0.02 * along(s2.raw));
  });

  it('add: G + G P (BalanceBenchmark\'s variant)', () => {
    const model = tinyModel(4);
    const opt = sgd(model);
    const method = mla.create({ projection: 'add' });
    const split = makeSplit(16);
    stepOnce(method, model, batchOf(split, [0, 1, 2, 3, 4, 5, 6, 7]), stepContext(model, opt, 0, 0));
    const s1 = stepOnce(method, model, batchOf(split, [8, 9, 10, 11, 12, 13, 14, 15]), stepContext(model, opt, 0, 1));
    const n = s1.raw[0]?.length as number;
    const { G } = projectByHand(identity(n), meanInput(s1.out, 1), 0.1, s1.raw);
    const expected = G.map((row, c) => row.map((v, j) => v + ((s1.raw[c] as number[])[j] as number)));
    expect(maxRowDiff(s1.after, expected)).toBeLessThanOrEqual(1e-5 * maxRowAbs(expected));
  });

  it('alpha_t follows the share of the epoch done: 0.1^(1 + seen / epoch size)', async () => {
    const model = tinyModel(4);
    const opt = sgd(model);
    const split = makeSplit(16);
    const method = mla.create({ projection: 'project', projectionAlpha: 0.2 });
    await method.beginEpoch?.(epochContext(model, 0, 8, () => predictionsOf(model, split))); // epoch size 2 x 8
    stepOnce(method, model, batchOf(split, [0, 1, 2, 3]), stepContext(model, opt, 0, 0));
    const P1 = (method.state?.().tensors ?? {}).projector;
    expect(P1).toBeUndefined();
    const s1 = stepOnce(method, model, batchOf(split, [4, 5, 6, 7]), stepContext(model, opt, 0, 1));
    const n = s1.raw[0]?.length as number;
    // 4 of 16 samples seen before this step: alpha_t = 0.2^(1 + 1/4).
    const { G } = projectByHand(identity(n), meanInput(s1.out, 1), 0.2 ** 1.25, s1.raw);
    expect(maxRowDiff(s1.after, G)).toBeLessThanOrEqual(1e-5 * maxRowAbs(G));
  });

  it('needs a concat head, and says so; projection: off trains a sum fusion', () => {
    manualSeed(0);
    const model = buildModel(MODALITIES.map((name) => ({ name, shape: [1, 16, 16] })), CLASSES, { encoder: 'small-cnn', fusion: 'sum', width: 4 });
    const opt = sgd(model);
    const split = makeSplit(8);
    const method = mla.create({ projection: 'project' });
    trainStep(method, batchOf(split, [0, 1, 2, 3]), stepContext(model, opt, 0, 0));
    expect(() => trainStep(method, batchOf(split, [4, 5, 6, 7]), stepContext(model, opt, 0, 1)))
      .toThrow(/mla: the head-gradient projection needs concat fusion .*Use option projection: off/);
    const off = mla.create({ projection: 'off' });
    for (let s = 0; s < 2; s++) expect(Number.isFinite(trainStep(off, batchOf(split, [0, 1, 2, 3]), stepContext(model, opt, 0, s)).loss)).toBe(true);
  });
});

describe('mla test-time fusion', () => {
  it('entropy: per sample, w^m = exp(max_k e^k - e^m) / sum_j exp(max_k e^k - e^j), z = sum_m w^m z^m (checked by hand)', () => {
    const za = [[2, 0, 0], [0.1, 0, 0]];
    const zv = [[0.5, 0.5, 0], [0, 3, 0]];
    const entropy = (z: number[]): number => {
      const e = z.map(Math.exp);
      const s = e.reduce((a, b) => a + b, 0);
      return -e.reduce((h, v) => h + (v / s) * Math.log(v / s), 0);
    };
    const expected = za.map((a, i) => {
      const v = zv[i] as number[];
      const [ea, ev] = [entropy(a), entropy(v)];
      const top = Math.max(ea, ev);
      const [wa, wv] = [Math.exp(top - ea), Math.exp(top - ev)];
      return a.map((x, c) => (wa * x + wv * (v[c] as number)) / (wa + wv));
    });
    const out = { fused: tensor([[0, 0, 0], [0, 0, 0]]), unimodal: { audio: tensor(za), visual: tensor(zv) }, features: {} };
    const fused = mla.create({}).fuse?.(out, { modalities: MODALITIES }) as Tensor;
    expect(maxAbsDiff(fused.toFloat32Array(), expected.flat())).toBeLessThan(1e-6);
    // Per sample: the confident audio row 0 leans on audio, the confident visual row 1 on visual.
    expect(maxAbsDiff(entropyFusion([tensor(za), tensor(zv)]).toFloat32Array(), expected.flat())).toBeLessThan(1e-6);
    expect((expected[0] as number[])[0]).toBeGreaterThan(1.25);
    expect((expected[1] as number[])[1]).toBeGreaterThan(1.5);
    // mean: the plain average of the unimodal logits.
    const mean = mla.create({ fusion: 'mean' }).fuse?.(out, { modalities: MODALITIES }) as Tensor;
    expect(maxAbsDiff(mean.toFloat32Array(), za.flatMap((a, i) => a.map((x, c) => (x + ((zv[i] as number[])[c] as number)) / 2)))).toBeLessThan(1e-7);
  });
});

describe('mla state and training', () => {
  it('a fresh method after loadState projects exactly as the one it was saved from (and one without it does not)', () => {
    const split = makeSplit(32);
    const model = tinyModel(6);
    const opt = sgd(model);
    const method = mla.create({});
    for (let s = 0; s < 3; s++) trainStep(method, batchOf(split, Array.from({ length: 8 }, (_, i) => s * 8 + i)), stepContext(model, opt, 0, s));
    const saved = method.state?.() as NonNullable<ReturnType<NonNullable<Method['state']>>>;
    expect(saved.json).toEqual({ updates: 3 });
    expect(Object.keys(saved.tensors)).toEqual(['projector']);
    const copy = { json: JSON.parse(JSON.stringify(saved.json)) as Record<string, unknown>, tensors: { projector: (saved.tensors.projector as Tensor).clone() } };

    const resumed = mla.create({});
    resumed.loadState?.(copy);
    const fresh = mla.create({});
    const batch = batchOf(split, [24, 25, 26, 27, 28, 29, 30, 31]);
    const run = (m: Method) => stepOnce(m, model, batch, stepContext(model, opt, 0, 3)).after;
    const a = run(method);
    const b = run(resumed);
    const c = run(fresh);
    expect(maxRowDiff(a, b)).toBe(0);
    expect(maxRowDiff(a, c)).toBeGreaterThan(1e-3 * maxRowAbs(a));
    expect(maxAbsDiff((method.state?.().tensors.projector as Tensor).toFloat32Array(), (resumed.state?.().tensors.projector as Tensor).toFloat32Array())).toBe(0);
    expect(() => resumed.loadState?.({ json: { updates: -1 }, tensors: {} })).toThrow(/mla: state has no valid "updates"/);
  });

  it('30 steps through the hooks lower the training loss (both unimodal cross-entropies and that of the entropy fusion)', () => {
    const split = makeSplit(48);
    const model = tinyModel(8);
    const opt = sgd(model, 0.05);
    const method = mla.create({});
    const losses = (): number[] => noGrad(() => {
      const out = model.forward(split.inputs);
      const y = tensor(split.labels, { dtype: 'int64' });
      return [
        ...MODALITIES.map((m) => nn.F.crossEntropy(out.unimodal[m] as Tensor, y).item()),
        nn.F.crossEntropy(method.fuse?.(out, { modalities: MODALITIES }) as Tensor, y).item(),
      ];
    });
    const start = losses();
    for (let s = 0; s < 30; s++) {
      const first = (s % 6) * 8;
      const { loss } = trainStep(method, batchOf(split, Array.from({ length: 8 }, (_, i) => first + i)), stepContext(model, opt, Math.floor(s / 6), s));
      expect(Number.isFinite(loss)).toBe(true);
    }
    const end = losses();
    end.forEach((v, i) => expect(v).toBeLessThan(0.8 * (start[i] as number)));
  });

  it('rejects bad options with a clear error', () => {
    expect(() => mla.create({ projection: 'yes' })).toThrow(/mla: option projection must be one of project, add, off, got "yes"/);
    expect(() => mla.create({ projectionAlpha: 0 })).toThrow(/mla: option projectionAlpha must be a number > 0, got 0/);
    expect(() => mla.create({ fusion: 'max' })).toThrow(/mla: option fusion must be one of entropy, mean/);
    expect(() => mla.create({ repeatEpoch: 'no' })).toThrow(/mla: option repeatEpoch must be true or false/);
    expect(() => mla.create({ alpha: 1 })).toThrow(/mla: unknown option "alpha"/);
    expect(mla.sharedWarmup).toBe(false);
  });
});
