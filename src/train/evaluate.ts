/** Eval-mode passes and their scores: accuracy, macro-F1 and the confusion matrix, fused and per modality. */
import { inferenceMode, tidy, nn, tensor, withPrecision, type Device, type Precision, type Tensor } from '../torch/index.js';
import { accuracy, argmaxRows, confusionMatrix, macroF1 } from '../core/index.js';
import type { Batch, Loader } from '../data/index.js';
import type { ModelOutput, MultimodalModel } from '../models/types.js';
import type { FuseContext, Method, SplitPredictions, TrainBatch } from '../methods/method.js';
import type { SplitScores } from './types.js';

/** Copies a data batch into tensors on `device`. */
export function toTensors(b: Batch, device: string): TrainBatch {
  // on CUDA through pinned memory and an asynchronous copy, as PyTorch's DataLoader(pin_memory=True)
  // + .to(device, non_blocking=True): the host goes on while the batch crosses; on the CPU, nothing to pin
  const onDevice = (t: Tensor): Tensor => (device === 'cpu' ? t : t.pinMemory().to(device as Device, { nonBlocking: true }));
  const inputs: Record<string, Tensor> = {};
  const lengths: Record<string, Tensor> = {};
  for (const [m, { data, shape, lengths: steps, masked }] of Object.entries(b.inputs)) {
    inputs[m] = onDevice(tensor(data, shape));
    if (steps && masked) lengths[m] = onDevice(tensor(steps, [b.size]).long());
  }
  return { inputs, lengths, labels: onDevice(tensor(b.labels, [b.size]).long()), index: b.index, ids: b.ids, size: b.size };
}

/**
 * A model output in float32 (as is when it already is): under autocast the logits come out in
 * bfloat16 or float16, and every loss, probability and gap is computed from their float32 values.
 */
export function float32Output(out: ModelOutput): ModelOutput {
  const f = (r: Record<string, Tensor>): Record<string, Tensor> => Object.fromEntries(Object.entries(r).map(([k, t]) => [k, t.float()]));
  return { fused: out.fused.float(), unimodal: f(out.unimodal), features: f(out.features) };
}

/**
 * How an evaluation pass predicts: the method whose `fuse` gives the fused logits (default: the
 * model's), whether to keep encoder features, and the precision of the forward pass (default fp32).
 */
export interface PredictOptions {
  method?: Pick<Method, 'fuse'> | null;
  features?: boolean;
  precision?: Precision;
}

function join(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/**
 * Runs the model in eval mode (no dropout, BatchNorm running statistics) over a loader and
 * collects softmax probabilities; restores the previous training mode. Only the model's forward
 * pass runs in `o.precision`: fusion and softmax take its logits in float32, so the probabilities
 * (and the gaps and GMM behind them) are float32 computations whatever the precision.
 */
export async function predict(model: MultimodalModel, loader: Loader, device: string, o: PredictOptions = {}): Promise<SplitPredictions> {
  const wasTraining = model.training;
  model.eval();
  const ids: string[] = [];
  const labels: number[] = [];
  const index: number[] = [];
  const corrupted: number[] = [];
  const fused: Float32Array[] = [];
  const unimodal: Record<string, Float32Array[]> = Object.fromEntries(model.modalities.map((m) => [m, []]));
  const features: Record<string, Float32Array[]> = Object.fromEntries(model.modalities.map((m) => [m, []]));
  const dims: Record<string, number> = {};
  const fctx: FuseContext = { modalities: model.modalities };
  try {
    for await (const b of loader) {
      tidy(() => inferenceMode(() => {
        const tb = toTensors(b, device);
        loader.recycle(b);
        const out = float32Output(withPrecision(o.precision ?? 'fp32', device, () => model.forward(tb.inputs, tb.lengths)));
        const z = o.method?.fuse ? o.method.fuse(out, fctx) : out.fused;
        fused.push(nn.F.softmax(z.float(), 1).toFloat32Array());
        for (const m of model.modalities) {
          (unimodal[m] as Float32Array[]).push(nn.F.softmax(out.unimodal[m] as Tensor, 1).toFloat32Array());
          if (o.features) {
            const f = (out.features[m] as Tensor).flatten(1);
            dims[m] = f.size(1);
            (features[m] as Float32Array[]).push(f.toFloat32Array());
          }
        }
      }));
      ids.push(...b.ids);
      labels.push(...b.labels);
      index.push(...b.index);
      corrupted.push(...b.corrupted);
    }
  } finally {
    model.train(wasTraining);
  }
  return {
    ids, labels: Int32Array.from(labels), index: Int32Array.from(index), corrupted: Uint8Array.from(corrupted),
    fused: join(fused), unimodal: Object.fromEntries(Object.entries(unimodal).map(([m, p]) => [m, join(p)])), numClasses: model.numClasses,
    ...(o.features && { features: Object.fromEntries(Object.entries(features).map(([m, p]) => [m, { data: join(p), dim: dims[m] ?? 0 }])) }),
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

/** Per-sample predictions as CSV (predictions/<split>.csv): id, label, fused prediction, each modality's prediction, 1 when corrupted. */
export function predictionsCsv(p: SplitPredictions, modalities: string[]): string {
  const esc = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const fused = argmaxRows(p.fused, p.numClasses);
  const uni = modalities.map((m) => argmaxRows(p.unimodal[m] as Float32Array, p.numClasses));
  const lines = [['id', 'label', 'pred', ...modalities.map((m) => `pred_${m}`), 'p_true', 'corrupted'].join(',')];
  for (let i = 0; i < p.ids.length; i++) {
    const y = p.labels[i] as number;
    lines.push([esc(p.ids[i] as string), y, fused[i], ...uni.map((u) => u[i]), (p.fused[i * p.numClasses + y] as number).toFixed(6), p.corrupted[i]].join(','));
  }
  return lines.join('\n') + '\n';
}
