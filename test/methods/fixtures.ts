// Tiny models, batches and contexts to drive training methods through their hooks (no trainer).
import { buildModel, type MultimodalClassifier } from '../../src/models/classifier.js';
import { manualSeed, noGrad, optim, randn, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import type { EpochContext, Method, SplitPredictions, StepContext, TrainBatch } from '../../src/methods/method.js';
import { stepTools } from '../../src/train/session.js';

export const MODALITIES = ['audio', 'visual'];
export const CLASSES = 4;

export function tinyModel(seed = 0, width = 4): MultimodalClassifier {
  manualSeed(seed);
  return buildModel(MODALITIES.map((name) => ({ name, shape: [1, 16, 16] })), CLASSES, { encoder: 'small-cnn', fusion: 'concat', width });
}

/** A fixed synthetic training split: inputs [n, 1, 16, 16] per modality, labels i % CLASSES. */
export interface Split { inputs: Record<string, Tensor>; labels: number[] }

export function makeSplit(n: number, seed = 1): Split {
  manualSeed(seed);
  return { inputs: Object.fromEntries(MODALITIES.map((m) => [m, randn([n, 1, 16, 16])])), labels: Array.from({ length: n }, (_, i) => i % CLASSES) };
}

export function batchOf(split: Split, index: ArrayLike<number>): TrainBatch {
  const idx = Array.from(index);
  const pick = tensor(idx, { dtype: 'int64' });
  return {
    lengths: {},
    inputs: Object.fromEntries(MODALITIES.map((m) => [m, (split.inputs[m] as Tensor).indexSelect(0, pick)])),
    labels: tensor(idx.map((i) => split.labels[i] as number), { dtype: 'int64' }),
    index: Int32Array.from(idx),
    ids: idx.map((i) => `s${i}`),
    size: idx.length,
  };
}

export function sgd(model: MultimodalClassifier, lr = 0.05): optim.SGD {
  return new optim.SGD(model.parameters(), { lr, momentum: 0.9 });
}

export function stepContext(model: MultimodalClassifier, optimizer: optim.SGD, epoch = 0, step = 0): StepContext {
  return { model, optimizer, epoch, stage: 'main', step, modalities: MODALITIES, numClasses: CLASSES, ...stepTools(0, step, null) };
}

/** Eval-mode predictions of the model on the split (what the trainer's trainPredictions gives). */
export function predictionsOf(model: MultimodalClassifier, split: Split): SplitPredictions {
  const n = split.labels.length;
  model.eval();
  const probs = tidy(() => noGrad(() => {
    const out = model.forward(split.inputs);
    return {
      fused: out.fused.softmax(1).toFloat32Array(),
      unimodal: Object.fromEntries(MODALITIES.map((m) => [m, (out.unimodal[m] as Tensor).softmax(1).toFloat32Array()])),
    };
  }));
  model.train();
  return {
    ids: split.labels.map((_, i) => `s${i}`), labels: Int32Array.from(split.labels), index: Int32Array.from({ length: n }, (_, i) => i),
    fused: probs.fused, unimodal: probs.unimodal, corrupted: new Uint8Array(n), numClasses: CLASSES,
  };
}

export function epochContext(model: MultimodalClassifier, epoch: number, trainSize: number, preds: () => SplitPredictions, lines: string[] = [], epochs = 100): EpochContext {
  return {
    model, epoch, epochs, stage: 'main', modalities: MODALITIES, numClasses: CLASSES, trainSize,
    trainPredictions: async () => preds(),
    log: (line) => { lines.push(line); },
  };
}

/** One training step through the hooks, in the trainer's order; returns the loss value, the loss's logs and beforeStep's logs. */
export function trainStep(method: Method, batch: TrainBatch, ctx: StepContext):
  { loss: number; lossLogs: Record<string, number> | undefined; logs: Record<string, number> | void } {
  const model = ctx.model;
  ctx.optimizer.zeroGrad();
  const out = model.forward(batch.inputs);
  const r = method.loss(out, batch, ctx);
  const loss = r.loss.item();
  if (method.backward) method.backward(r, out, batch, ctx);
  else r.loss.backward();
  const logs = method.beforeStep?.(out, batch, ctx);
  ctx.optimizer.step();
  return { loss, lossLogs: r.logs, logs };
}

export function snapshot(params: Tensor[]): Float32Array[] {
  return params.map((p) => p.detach().toFloat32Array());
}

export function gradsOf(params: Tensor[]): Float32Array[] {
  return params.map((p) => {
    const g = p.grad;
    if (!g) throw new Error(`no gradient on ${p.toString()}`);
    return g.toFloat32Array();
  });
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}
