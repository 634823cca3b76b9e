/**
 * One run's training session: the model, the loaders and the run directory, and the two things
 * every stage does with them: train one epoch with a method's hooks (then diagnose the training
 * gaps and score validation), and predict a split with the run's own prediction rule.
 */
import { GradScaler, manualSeed, nn, noGrad, tidy, withPrecision, type Tensor, type optim } from '../torch/index.js';
import type { Batch, Dataset, Loader } from '../data/index.js';
import { shuffledOrder } from '../data/loader.js';
import type { MultimodalClassifier } from '../models/classifier.js';
import type { ModelOutput } from '../models/types.js';
import type { EpochContext, LossResult, Method, SplitPredictions, Stage, StepContext, TrainBatch } from '../methods/method.js';
import { float32Output, predict, scoreSplit, toTensors } from './evaluate.js';
import { diagnose, rowsToCsv, type Diagnostics } from './diagnostics.js';
import type { RunDir } from './rundir.js';
import type { Best, StageName } from './stage.js';
import type { TrainingJob } from './distributed.js';
import { DistributedError, seededRandn } from '../torch/distributed.js';
import type { EpochMetrics, RunConfig, RunOptions } from './types.js';
import { NonFiniteLosses } from './nonfinite.js';
import { EpochTally, LoaderWait, TrainPassRows, type StepTally } from './epoch-tally.js';
import type { EventWriter } from './tensorboard.js';

/** Thrown when the AbortSignal of RunOptions fires; finished epochs are checkpointed. */
export class RunAborted extends Error {}

export interface Loaders { train: Loader; trainEval: Loader; val: Loader; test: Loader }

/** Correct fused predictions of a batch. */
function correctCount(fused: Tensor, labels: Int32Array): number {
  const pred = fused.detach().argmax(1).toArray();
  let ok = 0;
  pred.forEach((p, i) => { if (p === labels[i]) ok++; });
  return ok;
}

/** Every epoch reseeds libtorch (and the loader shuffles) from (seed, epoch): what makes a resumed run end with the same numbers. */
export function epochSeed(seed: number, epoch: number): number {
  return (seed * 1_000_003 + epoch * 7_919 + 17) % 2_147_483_647;
}

/** The seed of the `draw`-th random draw of global step `step`: a splitmix64 mix of (seed, step, draw), 53 bits. */
export function drawSeed(seed: number, step: number, draw: number): number {
  const M = (1n << 64n) - 1n;
  let x = (BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(step) * 0xbf58476d1ce4e5b9n + BigInt(draw) * 0x94d049bb133111ebn + 0x2545f4914f6cdd1dn) & M;
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & M;
  return Number((x ^ (x >> 31n)) >> 11n);
}

/** What StepContext gives a method to agree with the other ranks (src/methods/method.ts). */
export type StepTools = Pick<StepContext, 'allReduceSum' | 'allReduceMeanGrads' | 'randnLike'>;

/**
 * The StepContext tools of global step `step`: backed by the job's process group in a
 * data-parallel run, the identity in one process (`job` null); random draws seeded from (seed,
 * step, draw) either way. `gradsAveraged` tells whether the method averaged gradients this step.
 */
export function stepTools(seed: number, step: number, job: TrainingJob | null): StepTools & { gradsAveraged(): boolean } {
  let draws = 0;
  let averaged = false;
  return {
    allReduceSum: (values) => (job ? job.sum(values) : [...values]),
    allReduceMeanGrads: (grads) => {
      averaged = true;
      return job ? job.meanTensors(grads) : grads;
    },
    randnLike: (like) => seededRandn(like, drawSeed(seed, step, draws++)),
    gradsAveraged: () => averaged,
  };
}

/** How one epoch trains (what a stage asks of the session; a method's own EpochPlan is only about its samples). */
export interface EpochSpec {
  stage: Stage;
  method: Method;
  optimizer: optim.Optimizer<{ lr: number }>;
  /** Training-split indices to visit (a subset, repeats allowed); null: every sample once (the method's beginEpoch may still decide). */
  indices: Int32Array | null;
  /** Encoders stay in eval mode and get no gradient (only the fusion head trains). */
  frozenEncoders: boolean;
}

/**
 * The samples an epoch visits: the method's own plan (resampling, repeats) restricted to the
 * stage's subset (purification's selection) when both exist, so a resampling method fine-tuned
 * on a purified subset resamples within it.
 */
export function visits(own: Int32Array | null, subset: Int32Array | null): Int32Array | null {
  if (!own || !subset) return own ?? subset;
  const allowed = new Set(subset);
  return own.filter((i) => allowed.has(i));
}

export class Session {
  readonly modalities: string[];
  readonly numClasses: number;
  readonly trainSize: number;
  /** Epoch metrics of the whole run so far (restored on resume). */
  history: EpochMetrics[] = [];
  /** Optimizer steps so far (the global step counter of StepContext). */
  step = 0;
  /** The best epoch on validation of each stage so far (restored on resume). */
  best: Partial<Record<StageName, Best>> = {};
  /** Eval-mode training predictions of the current weights, when known (reused across epoch boundaries). */
  #trainCache: SplitPredictions | null = null;
  /** Dynamic loss scaling, for fp16 only (bf16 has float32's range). */
  readonly scaler: GradScaler | null;
  readonly nonFinite: NonFiniteLosses;
  /** Seconds spent on training-set gap passes (predictions and GMM) in the current epoch. */
  #gapSeconds = 0;
  /** This process's part in a data-parallel job, or null when it trains alone. */
  job: TrainingJob | null = null;
  /** Where each finished epoch's scalars go for TensorBoard (`tensorboard` setting; rank 0 only), or null. */
  tensorboard: EventWriter | null = null;

  /**
   * `predictor` is the run's method: its `fuse` is the run's prediction rule in every evaluation
   * (warm-up and fine-tuning epochs included), so every validation score means the same thing.
   */
  constructor(readonly cfg: RunConfig, readonly dir: RunDir, readonly dataset: Dataset, readonly model: MultimodalClassifier,
    readonly device: string, readonly loaders: Loaders, readonly opts: RunOptions, readonly predictor: Method) {
    this.modalities = model.modalities;
    this.numClasses = model.numClasses;
    this.trainSize = dataset.samples('train').length;
    this.scaler = cfg.precision === 'fp16' ? new GradScaler() : null;
    this.nonFinite = new NonFiniteLosses(this.scaler !== null);
    if (this.scaler && predictor.backward) {
      throw new Error(`precision fp16: method ${predictor.name} computes its own gradients, which loss scaling does not cover. Fix: use --precision bf16 or fp32`);
    }
  }

  log(line: string): void {
    this.dir.log(line);
    this.opts.onEvent?.({ kind: 'log', line });
  }

  /** The weights changed (a step, a loaded checkpoint): cached training predictions are stale. */
  invalidate(): void { this.#trainCache = null; }

  async trainPredictions(o: { features?: boolean } = {}): Promise<SplitPredictions> {
    if (!this.#trainCache || (o.features && !this.#trainCache.features)) {
      const t0 = performance.now();
      this.#trainCache = await this.predict(this.loaders.trainEval, o);
      this.#gapSeconds += (performance.now() - t0) / 1000;
    }
    return this.#trainCache;
  }

  /** Eval-mode predictions of the current weights on a split, by the run's prediction rule; `features`: with encoder features. */
  predict(loader: Loader, o: { features?: boolean } = {}): Promise<SplitPredictions> {
    const pass = (l: Loader): Promise<SplitPredictions> => predict(this.model, l, this.device, { method: this.predictor, features: o.features, precision: this.cfg.precision });
    if (!this.job) return pass(loader);
    const split = loader === this.loaders.val ? 'val' : loader === this.loaders.test ? 'test' : 'train';
    return this.job.predictSplit(loader, this.dataset.samples(split), pass);
  }

  /**
   * Trains one epoch (0-based `epoch` of `epochs` in the run) and returns its metrics line (after
   * writing the gaps CSV). Per batch: the forward pass and the method's loss, backward, the
   * optimizer step (#trainStep).
   */
  async epoch(epoch: number, epochs: number, spec: EpochSpec): Promise<EpochMetrics> {
    const t0 = performance.now();
    const { stage, method, optimizer } = spec;
    manualSeed(epochSeed(this.cfg.seed, epoch));
    this.#gapSeconds = 0;
    const ampBefore = this.#ampCounts();
    const ectx = this.#epochContext(epoch, epochs, stage);
    const own = await method.beginEpoch?.(ectx);
    this.job?.checkMethodState(method);
    const loader = this.#arrangeLoader(epoch, visits(own?.indices ?? null, spec.indices));
    // The stage's plan (purification of the head) or the method's own (a linear probe) may freeze the encoders.
    const frozen = spec.frozenEncoders || own?.frozenEncoders === true;
    this.#trainMode(frozen);
    const lr = optimizer.lrs[0] as number;
    const total = loader.length;
    const tally = new EpochTally();
    const passRows = this.cfg.gapSource === 'train-pass' ? new TrainPassRows() : null;
    const wait = new LoaderWait();
    try {
      for await (const b of this.#batches(loader, epoch, wait)) {
        const where = `epoch ${epoch + 1}, step ${tally.steps + 1} (method ${method.name}, lr ${lr})`;
        const r = this.#trainStep(b, spec, epoch, where, passRows);
        tally.add(b.size, r);
        this.step++;
        this.opts.onEvent?.({ kind: 'step', epoch, epochs, stage, step: tally.steps, steps: total, loss: r.value });
      }
    } finally {
      if (frozen) this.#setFrozen(false);
    }
    const data = wait.record(tally.steps);
    if (this.job) tally.sumOverRanks(this.job);
    if (passRows) this.#adoptTrainPass(passRows, epoch);
    const methodDiag = (await method.endEpoch?.(ectx)) ?? {};
    const diag = this.cfg.diagnose === 'every-epoch' ? await this.diagnose(epoch + 1) : null;
    const val = scoreSplit(await this.predict(this.loaders.val));
    // The epoch's record: its line of metrics.jsonl (EpochMetrics in types.ts).
    return {
      epoch: epoch + 1, stage, lr, train: tally.metrics(),
      val, gap: diag?.gap ?? null, gmm: diag?.gmm ?? null, method: methodDiag, seconds: (performance.now() - t0) / 1000,
      gapSeconds: this.#gapSeconds, data,
      ...(this.scaler && { amp: this.#ampSince(ampBefore, this.scaler) }),
    };
  }

  #epochContext(epoch: number, epochs: number, stage: Stage): EpochContext {
    return {
      model: this.model, epoch, epochs, stage, modalities: this.modalities, numClasses: this.numClasses, trainSize: this.trainSize,
      trainPredictions: (o) => this.trainPredictions(o), log: (l) => this.log(l),
    };
  }

  /** Points the training loader at the epoch's samples (null: all), sharded over the ranks of a data-parallel job. */
  #arrangeLoader(epoch: number, indices: Int32Array | null): Loader {
    const loader = this.loaders.train;
    loader.epoch = epoch;
    loader.indices = indices;
    // Ranks shard the order one process would shuffle (their loaders do not shuffle).
    if (this.job) loader.indices = this.job.shardOrder(shuffledOrder(indices ?? Int32Array.from({ length: this.trainSize }, (_, i) => i), this.cfg.seed, epoch, 'train'), this.cfg.batchSize);
    return loader;
  }

  /** Training mode, the encoders frozen in eval mode when only the fusion head trains; the weights are about to change. */
  #trainMode(frozenEncoders: boolean): void {
    this.model.train();
    if (frozenEncoders) this.#setFrozen(true);
    this.invalidate();
  }

  /** Encoders that get no gradient and stay in eval mode (BatchNorm statistics and dropout included), or train again. */
  #setFrozen(frozen: boolean): void {
    for (const m of this.modalities) {
      const enc = this.model.encoder(m);
      for (const p of enc.parameters()) p.requiresGrad = !frozen;
      if (frozen) enc.eval();
    }
  }

  /**
   * The loader's batches, its waits timed. Batches served from memory never yield to the event
   * loop: each waits for a turn of it, so that a SIGINT handler (the CLI's Ctrl-C) can abort
   * between steps.
   */
  async *#batches(loader: Loader, epoch: number, wait: LoaderWait): AsyncGenerator<Batch> {
    for await (const b of loader) {
      wait.arrived();
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.opts.signal?.aborted) throw new RunAborted(`stopped during epoch ${epoch + 1}; epochs before it are saved in ${this.dir.path}; run the same command again to resume`);
      yield b;
      wait.asking();
    }
  }

  /** One optimizer step on batch `b`; `where` names it in errors. */
  #trainStep(b: Batch, spec: EpochSpec, epoch: number, where: string, passRows: TrainPassRows | null): StepTally {
    const { stage, method, optimizer } = spec;
    const tools = stepTools(this.cfg.seed, this.step, this.job);
    const sctx: StepContext = { model: this.model, optimizer, epoch, stage, step: this.step, modalities: this.modalities, numClasses: this.numClasses, ...tools };
    return tidy(() => {
      const tb = toTensors(b, this.device);
      this.loaders.train.recycle(b);
      optimizer.zeroGrad();
      this.job?.ddp?.syncBuffers();
      const { out, res } = this.#forward(tb, method, sctx);
      if (passRows) this.#gatherTrainPass(passRows, b, out);
      const value = res.loss.item();
      const counts = this.nonFinite.check(value, where);
      this.#backward(res, out, tb, sctx, method, tools);
      const extra = this.#optimizerStep(out, tb, sctx, method);
      return { value, counts, ok: correctCount(out.fused, b.labels), logs: { ...res.logs, ...(extra ?? {}) } };
    });
  }

  /**
   * The forward pass and the method's loss, under autocast (as PyTorch's recipe). The method sees
   * the model's outputs in float32, so its loss is a float32 computation (fp32: as the model gives
   * them, so that a float64 model trains in float64). Backward runs outside the region, in the
   * dtypes the forward pass recorded.
   */
  #forward(tb: TrainBatch, method: Method, sctx: StepContext): { out: ModelOutput; res: LossResult } {
    return withPrecision(this.cfg.precision, this.device, () => {
      const y = this.model.forward(tb.inputs, tb.lengths);
      const out = this.cfg.precision === 'fp32' ? y : float32Output(y);
      return { out, res: method.loss(out, tb, sctx) };
    });
  }

  /**
   * The step's gradients: the method's own, which it must average over the ranks itself (the
   * trainer arms no DDP hook), or backward through the loss (scaled under fp16), averaged by DDP.
   */
  #backward(res: LossResult, out: ModelOutput, tb: TrainBatch, sctx: StepContext, method: Method, tools: ReturnType<typeof stepTools>): void {
    if (method.backward) {
      method.backward(res, out, tb, sctx);
      if (this.job && !tools.gradsAveraged()) {
        throw new DistributedError(`method ${method.name} computes its own gradients without ctx.allReduceMeanGrads, so its ranks would train different models; average them there (src/methods/method.ts) or train it in one process`);
      }
      return;
    }
    const loss = this.scaler ? this.scaler.scaleLoss(res.loss) : res.loss;
    this.job?.ddp?.prepareBackward(loss);
    loss.backward();
  }

  /**
   * The method's beforeStep, then the optimizer step; returns beforeStep's logs. Under fp16 the
   * method reads and scales true gradients (unscaled first), and the loss scaler steps: it skips
   * a step whose gradients are not finite.
   */
  #optimizerStep(out: ModelOutput, tb: TrainBatch, sctx: StepContext, method: Method): Record<string, number> | void {
    this.scaler?.unscale_(sctx.optimizer);
    const extra = method.beforeStep?.(out, tb, sctx);
    if (this.scaler) {
      this.scaler.step(sctx.optimizer);
      this.scaler.update();
    } else {
      sctx.optimizer.step();
    }
    return extra;
  }

  /** Keeps a training batch's probabilities by the run's prediction rule (float32; timed as gap-pass work). */
  #gatherTrainPass(rows: TrainPassRows, b: Batch, out: ModelOutput): void {
    const t0 = performance.now();
    noGrad(() => {
      const z = this.predictor.fuse ? this.predictor.fuse(out, { modalities: this.modalities }) : out.fused;
      rows.add(b, nn.F.softmax(z.float(), 1).toFloat32Array(),
        Object.fromEntries(this.modalities.map((m) => [m, nn.F.softmax(out.unimodal[m] as Tensor, 1).toFloat32Array()])));
    });
    this.#gapSeconds += (performance.now() - t0) / 1000;
  }

  /** gapSource 'train-pass': the epoch's training outputs become the training predictions when they cover every sample once. */
  #adoptTrainPass(rows: TrainPassRows, epoch: number): void {
    const p = rows.predictions(this.trainSize, this.modalities, this.numClasses);
    if (p) this.#trainCache = p;
    else this.log(`gapSource train-pass: epoch ${epoch + 1} did not visit every training sample once; its gaps come from an eval pass`);
  }

  /** The loss scaler's counters, to tell an epoch's share of them. */
  #ampCounts(): { skipped: number; nonFinite: number } {
    return { skipped: this.scaler?.skippedSteps ?? 0, nonFinite: this.nonFinite.count };
  }

  /** fp16: the loss scale after the epoch, and the steps skipped and losses non-finite since `before`. */
  #ampSince(before: { skipped: number; nonFinite: number }, scaler: GradScaler): NonNullable<EpochMetrics['amp']> {
    return { lossScale: scaler.scale, skippedSteps: scaler.skippedSteps - before.skipped, nonFiniteLosses: this.nonFinite.count - before.nonFinite };
  }

  /** The training-set diagnostics of the current weights (or, with gapSource 'train-pass', of the epoch's training passes), written as gaps/epoch-<epoch>.csv. */
  async diagnose(epoch: number): Promise<Diagnostics> {
    const preds = await this.trainPredictions();
    const t0 = performance.now();
    const diag = diagnose(preds, this.modalities, this.cfg.seed, { gaps: this.cfg.diagnoseGaps });
    this.dir.writeGaps(epoch, rowsToCsv(diag.rows));
    this.#gapSeconds += (performance.now() - t0) / 1000;
    return diag;
  }
}
