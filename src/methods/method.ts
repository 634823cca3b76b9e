/**
 * The plug-in interface of a training method. The trainer owns the loop (data, forward, backward,
 * optimizer step, evaluation, checkpoints); a method only supplies hooks, so adding a baseline
 * never touches the trainer. The smallest method is `loss`; everything else is optional.
 *
 * Order of calls in one epoch:
 *   beginEpoch(ctx)                    -> may return the samples of this epoch, and freeze the encoders for it
 *   for each batch:
 *     out = model.forward(batch.inputs, batch.lengths)
 *     r = loss(out, batch, ctx)
 *     backward(r, out, batch, ctx)     -> default: r.loss.backward()
 *     beforeStep(out, batch, ctx)      -> gradients are in p.grad; scale them here
 *     optimizer.step()
 *   endEpoch(ctx)                      -> extra diagnostics for metrics.jsonl
 *   selectable()                       -> false: this epoch's weights may not be the stage's best
 * and at every evaluation (validation, test, the training-set gap pass):
 *   fuse(out, ctx)                     -> the method's own fused logits; default out.fused
 *
 * In a data-parallel run (several ranks, src/train/distributed.ts) every rank calls the same hooks
 * on its slice of each global batch; the default backward averages the gradients over the ranks,
 * so beforeStep sees the 1-process gradients of the global batch. What a method computes from its
 * batch must come out as the 1-process run's too, and the StepContext gives it the means, the same
 * in one process (where they do nothing): statistics of the batch summed over the ranks
 * (allReduceSum), gradients of its own backward averaged over them (allReduceMeanGrads; a method
 * with its own backward must use it, since the trainer then averages nothing), and random numbers
 * that every rank draws alike (randnLike). A method never learns its rank.
 *
 * A method is declared with `defineMethod`: its options once (name, default, range, help; see
 * src/settings.ts), from which validation, `mmgap methods` and the docs are derived.
 */
import type { Tensor, optim } from '../torch/index.js';
import type { ModelOutput, MultimodalModel } from '../models/types.js';
import type { FusionKind } from '../models/kinds.js';
import { resolveSettings, SettingError, type Settings, type Values } from '../settings.js';

/** A training batch on the model's device. */
export interface TrainBatch {
  inputs: Record<string, Tensor>;
  /** int64 [N] valid steps per sample, for the modalities whose padding is masked (the model's second argument). */
  lengths: Record<string, Tensor>;
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
  /** Row-major [n x C] softmax probabilities of the fused logits (the method's own fusion, see Method.fuse). */
  fused: Float32Array;
  /** Row-major [n x C] softmax probabilities of each modality's unimodal logits. */
  unimodal: Record<string, Float32Array>;
  /** Row-major [n x D_m] encoder features per modality, when asked for (trainPredictions({ features: true })). */
  features?: Record<string, { data: Float32Array; dim: number }>;
  /** 1 where the dataset marks a deliberate corruption (ground truth), else 0. */
  corrupted: Uint8Array;
  numClasses: number;
}

/** 'warmup': the shared warm-up of plain fused cross-entropy; 'main': the method; 'finetune': purification. */
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
  /**
   * Element-wise sums of `values` over every rank (in one process: `values`). For statistics of
   * the batch (sums, counts; a mean is a sum and a count): each rank passes its slice's, and every
   * rank gets the global batch's, as the 1-process run computes them. Every rank must make the
   * same calls, with as many values, in the same order.
   */
  allReduceSum(values: number[]): number[];
  /**
   * Gradients averaged over every rank (new tensors; in one process `grads` itself): the gradient
   * of a mean loss over the global batch, from each rank's over its slice. For a method with its
   * own `backward` (in a data-parallel run the trainer then averages no gradient itself, as
   * PyTorch's no_sync): it averages each per-objective gradient here before combining them, and
   * must, or the ranks' models would drift apart. Same calls on every rank, same shapes.
   */
  allReduceMeanGrads(grads: Tensor[]): Tensor[];
  /**
   * Standard normal numbers shaped like `like`, the same on every rank and in one process: the
   * k-th draw of a step comes from a generator seeded with (run seed, step, k), not from libtorch's
   * global one (which dropout consumes by the rank's batch size).
   */
  randnLike(like: Tensor): Tensor;
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
   * The run-level epoch count at the end of the current stage: this stage's epochs are the ones
   * with ctx.epoch < epochs (the run's --epochs while training, shared warm-up included).
   */
  epochs: number;
  /**
   * Eval-mode predictions of the current model on the whole training split (the trainer caches
   * them: calling twice in one epoch costs one pass). Leaves the model in training mode. With
   * gapSource 'train-pass', the previous epoch's training-pass outputs instead, when it visited
   * every sample once.
   */
  trainPredictions(opts?: { features?: boolean }): Promise<SplitPredictions>;
  /** A line for the run log (shown with progress, kept in the run directory). */
  log(line: string): void;
}

/** What `fuse` may look at besides the model output. */
export interface FuseContext {
  modalities: string[];
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
  /**
   * Keep the encoders in eval mode and without gradient this epoch, so that only the fusion head
   * trains (a linear probe). Default: everything trains.
   */
  frozenEncoders?: boolean;
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
  /**
   * After endEpoch: whether the weights of the epoch just trained may be selected as the stage's
   * best on validation (default: yes). A method whose first epochs train something other than its
   * final model (UMT's unimodal teachers) says no for them.
   */
  selectable?(): boolean;
  /**
   * The method's own fused logits [N, C] at evaluation, for methods whose prediction is not the
   * model's fused head (e.g. an ensemble of the unimodal heads). Default: `out.fused`.
   */
  fuse?(out: ModelOutput, ctx: FuseContext): Tensor;
  /** State that must survive a kill and resume (e.g. prototypes, posteriors). */
  state?(): MethodState;
  loadState?(s: MethodState): void;
}

/** Raw option values as given (config file, --method-opt, library call); validated against the declaration. */
export type MethodOptions = Record<string, unknown>;

export interface MethodFactory {
  readonly name: string;
  /** One line for --help and the docs. */
  readonly summary: string;
  /** The options, each declared once (src/settings.ts). */
  readonly options: Settings;
  /**
   * True when the trainer should run the shared warm-up (RunConfig.warmup epochs of plain fused
   * cross-entropy) before the method; baselines run their own schedule from epoch 0.
   */
  readonly sharedWarmup: boolean;
  /**
   * The fusion the method is defined on, when it is one (MMCosine's cosine heads): a run of the
   * method uses it in place of the default fusion; any other fusion is a config error.
   */
  readonly fusion?: FusionKind;
  /** Validates the options (see resolveMethodOptions) and builds a fresh method. */
  create(options?: MethodOptions): Method;
  /** Validates the options without building: the defaults overridden by `options`. */
  resolve(options?: MethodOptions): Record<string, unknown>;
}

/** What a method file declares. */
export interface MethodDefinition<S extends Settings> {
  name: string;
  summary: string;
  options: S;
  sharedWarmup?: boolean;
  fusion?: FusionKind;
  /** Checks that involve several options: a message, or null when the values fit together. */
  check?(values: Values<S>): string | null;
  build(values: Values<S>): Method;
}

/**
 * The method called `name` among `methods` (the registry's METHODS, or those a caller hands in):
 * the one lookup by name. Engine-free, so a config is checked before libtorch starts. The error
 * (`owner: ` first when given) names the known methods.
 */
export function findMethod(name: string, methods: readonly MethodFactory[], owner?: string): MethodFactory {
  const m = methods.find((f) => f.name === name);
  if (!m) throw new SettingError(`${owner ? `${owner}: ` : ''}unknown method "${name}" (known: ${methods.map((f) => f.name).join(', ')})`, 'method');
  return m;
}

/** Turns a method file's declaration into its factory. */
export function defineMethod<const S extends Settings>(def: MethodDefinition<S>): MethodFactory {
  const resolve = (options: MethodOptions = {}): Values<S> => {
    const values = resolveSettings(def.name, def.options, options);
    const problem = def.check?.(values);
    if (problem) throw new SettingError(`${def.name}: ${problem}`, null);
    return values;
  };
  return {
    name: def.name,
    summary: def.summary,
    options: def.options,
    sharedWarmup: def.sharedWarmup ?? false,
    ...(def.fusion && { fusion: def.fusion }),
    resolve,
    create: (options) => def.build(resolve(options)),
  };
}
