/** Eval-mode passes and their scores: accuracy, macro-F1 and the confusion matrix, fused and per modality. */
import { noGrad, tidy, nn, tensor, type Tensor } from '../torch/index.js';
import { accuracy, argmaxRows, confusionMatrix, macroF1 } from '../core/index.js';
import type { Batch, Loader } from '../data/index.js';
import type { MultimodalModel } from '../models/types.js';
import type { SplitPredictions, TrainBatch } from '../methods/method.js';
import type { SplitScores } from './types.js';

/** Copies a data batch into tensors on `device`. */
export function toTensors(b: Batch, device: string): TrainBatch {
  const inputs: Record<string, Tensor> = {};
  for (const [m, { data, shape }] of Object.entries(b.inputs)) inputs[m] = tensor(data, shape).to(device as never);
  return { inputs, labels: tensor(b.labels, [b.size]).long().to(device as never), index: b.index, ids: b.ids, size: b.size };
}

/**
 * Runs the model in eval mode (no dropout, BatchNorm running statistics) over a loader and
 * collects softmax probabilities; restores the previous training mode.
 */
export async function predict(model: MultimodalModel, loader: Loader, device: string): Promise<SplitPredictions> {
  const wasTraining = model.training;
  model.eval();
  const ids: string[] = [];
  const labels: number[] = [];
  const index: number[] = [];
  const corrupted: number[] = [];
  const fused: Float32Array[] = [];
  const unimodal: Record<string, Float32Array[]> = Object.fromEntries(model.modalities.map((m) => [m, []]));
  try {
    for await (const b of loader) {
      tidy(() => noGrad(() => {
        const tb = toTensors(b, device);
        const out = model.forward(tb.inputs);
        fused.push(nn.F.softmax(out.fused, 1).toFloat32Array());
        for (const m of model.modalities) (unimodal[m] as Float32Array[]).push(nn.F.softmax(out.unimodal[m] as Tensor, 1).toFloat32Array());
      }));
      ids.push(...b.ids);
      labels.push(...b.labels);
      index.push(...b.index);
      corrupted.push(...b.corrupted);
    }
  } finally {
    model.train(wasTraining);
  }
  const join = (parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  };
  return {
    ids, labels: Int32Array.from(labels), index: Int32Array.from(index), corrupted: Uint8Array.from(corrupted),
    fused: join(fused), unimodal: Object.fromEntries(Object.entries(unimodal).map(([m, p]) => [m, join(p)])), numClasses: model.numClasses,
  };
}

export function scoreSplit(p: SplitPredictions): SplitScores {
  const score = (probs: Float32Array): { acc: number; f1: number } => {
    const pred = argmaxRows(probs, p.numClasses);
    return { acc: accuracy(p.labels, pred), f1: macroF1(p.labels, pred, p.numClasses) };
  };
  return { ...score(p.fused), modality: Object.fromEntries(Object.entries(p.unimodal).map(([m, u]) => [m, score(u)])) };
}

/** Confusion matrix of the fused predictions, rows = true class. */
export function confusion(p: SplitPredictions): number[][] {
  const flat = confusionMatrix(p.labels, argmaxRows(p.fused, p.numClasses), p.numClasses);
  return Array.from({ length: p.numClasses }, (_, r) => Array.from(flat.subarray(r * p.numClasses, (r + 1) * p.numClasses)));
}
