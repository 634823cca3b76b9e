/**
 * The plug-in interface of a training method. The trainer owns the loop (data, forward, backward,
 * optimizer step, evaluation, checkpoints); a method only supplies hooks, so adding a baseline
 * never touches the trainer. The smallest method is `loss`; everything else is optional.
 *
 * Order of calls in one epoch:
 *   beginEpoch(ctx)                    -> may return the sample order of this epoch
 *   for each batch:
 *     out = model.forward(batch.inputs)
 *     r = loss(out, batch, ctx)
 *     backward(r, out, batch, ctx)     -> default: r.loss.backward()
 *     beforeStep(out, batch, ctx)      -> gradients are in p.grad; scale them here
 *     optimizer.step()
 *   endEpoch(ctx)                      -> extra diagnostics for metrics.jsonl
 */
import type { Tensor, optim } from '../torch/index.js';
import type { ModelOutput, MultimodalModel } from '../models/types.js';

/** A training batch on the model's device. */
export interface TrainBatch {
  inputs: Record<string, Tensor>;
  /** int64 [N] */
  labels: Tensor;
  /** Indices of the samples in the training split (stable across epochs: look up per-sample state). */
  index: Int32Array;
  ids: string[];
  size: number;
}

/** Per-sample predictions of an eval-mode pass (no augmentation, no dropout) over a split. */
export interface SplitPredictions {
  ids: string[];
  labels: Int32Array;
  /** Position of each row in the split (row i is sample index[i]). */
  index: Int32Array;
  /** Row-major [n x C] softmax probabilities of the fused logits. */
  fused: Float32Array;
  /** Row-major [n x C] softmax probabilities of each modality's unimodal logits. */
  unimodal: Record<string, Float32Array>;
  /** 1 where the dataset marks a deliberate corruption (ground truth), else 0. */
  corrupted: Uint8Array;
  numClasses: number;
}

export type Stage = 'warmup' | 'main' | 'finetune';

export interface StepContext {
  model: MultimodalModel;
  optimizer: optim.Optimizer<{ lr: number }>;
  /** 0-based epoch within the whole run (warm-up epochs included). */
  epoch: number;
  stage: Stage;
  /** Global step counter (0-based). */
  step: number;
  modalities: string[];
  numClasses: number;
}

export interface EpochContext {
  model: MultimodalModel;
  epoch: number;
  stage: Stage;
  modalities: string[];
  numClasses: number;
  /** Size of the training split. */
  trainSize: number;
  /**
   * Eval-mode predictions of the current model on the whole training split (the trainer caches
   * them: calling twice in one epoch costs one pass). Leaves the model in training mode.
   */
  trainPredictions(): Promise<SplitPredictions>;
  /** A line for the run log (shown with progress, kept in the run directory). */
  log(line: string): void;
}

export interface LossResult {
  /** The scalar to minimise. */
  loss: Tensor;
  /** Scalars to average over the epoch and log (e.g. the terms of a composite loss). */
  logs?: Record<string, number>;
}

/** What beginEpoch may decide about the data of this epoch. */
export interface EpochPlan {
  /**
   * Training-split indices to visit this epoch, in any order, repeats allowed (resampling).
   * The trainer shuffles them with the epoch's seed. Default: every sample once.
   */
  indices?: Int32Array;
}

/** JSON-serialisable values plus tensors: what a method must keep across a resume. */
export interface MethodState {
  json: Record<string, unknown>;
  tensors: Record<string, Tensor>;
}

export interface Method {
  readonly name: string;
  beginEpoch?(ctx: EpochContext): Promise<EpochPlan | void>;
  loss(out: ModelOutput, batch: TrainBatch, ctx: StepContext): LossResult;
  /** Replaces `result.loss.backward()` (e.g. to combine per-objective gradients). */
  backward?(result: LossResult, out: ModelOutput, batch: TrainBatch, ctx: StepContext): void;
  /** Runs after backward, before the optimizer step: gradients are readable and writable in `p.grad`. */
  beforeStep?(out: ModelOutput, batch: TrainBatch, ctx: StepContext): Record<string, number> | void;
  /** Extra diagnostics for this epoch's metrics line. */
  endEpoch?(ctx: EpochContext): Promise<Record<string, unknown> | void>;
  /** State that must survive a kill and resume (e.g. prototypes, posteriors). */
  state?(): MethodState;
  loadState?(s: MethodState): void;
}

/** A method's options: plain JSON values, validated by its factory. */
export type MethodOptions = Record<string, unknown>;

export interface MethodFactory {
  name: string;
  /** One line for --help and the docs. */
  summary: string;
  /** Option names with their defaults (documents and validates --method-opt keys). */
  defaults: MethodOptions;
  create(opts: MethodOptions): Method;
}

/**
 * Reads a validated number option; the error names the method, the option and the accepted range.
 */
export function numberOption(method: string, opts: MethodOptions, name: string, dflt: number, min = -Infinity, max = Infinity): number {
  const v = opts[name] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new Error(`${method}: option ${name} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

export function choiceOption<T extends string>(method: string, opts: MethodOptions, name: string, dflt: T, choices: readonly T[]): T {
  const v = opts[name] ?? dflt;
  if (typeof v !== 'string' || !choices.includes(v as T)) {
    throw new Error(`${method}: option ${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** Rejects option keys a method does not know (typos must not pass silently). */
export function checkOptionKeys(method: string, opts: MethodOptions, defaults: MethodOptions): void {
  for (const k of Object.keys(opts)) {
    if (!(k in defaults)) throw new Error(`${method}: unknown option "${k}" (known: ${Object.keys(defaults).join(', ') || 'none'})`);
  }
}
