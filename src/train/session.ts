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
import type { EpochContext, Method, SplitPredictions, Stage, StepContext } from '../methods/method.js';
import { float32Output, predict, scoreSplit, toTensors } from './evaluate.js';
import { diagnose, rowsToCsv, type Diagnostics } from './diagnostics.js';
import type { RunDir } from './rundir.js';
import type { Best, StageName } from './stage.js';
import type { TrainingJob } from './distributed.js';
import { DistributedError, seededRandn } from '../torch/distributed.js';
import type { EpochMetrics, RunConfig, RunOptions } from './types.js';
import { NonFiniteLosses } from './nonfinite.js';

/** Thrown when the AbortSignal of RunOptions fires; finished epochs are checkpointed. */
export class RunAborted extends Error {}

export interface Loaders { train: Loader; trainEval: Loader; val: Loader; test: Loader }

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

/** How one epoch trains. */
export interface EpochPlan {
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

/**
 * The softmax outputs of an epoch's training forward passes, gathered for gapSource 'train-pass':
 * they stand in for the eval pass over the training set when the epoch visited every sample once.
 */
class TrainPassRows {
  readonly #parts: { b: Batch; fused: Float32Array; unimodal: Record<string, Float32Array> }[] = [];

  add(b: Batch, fused: Float32Array, unimodal: Record<string, Float32Array>): void { this.#parts.push({ b, fused, unimodal }); }

  /** The rows ordered by sample index (as an eval pass gives them), or null unless each of the `trainSize` samples came once. */
  predictions(trainSize: number, modalities: string[], numClasses: number): SplitPredictions | null {
    const rows = this.#parts.flatMap((p) => Array.from(p.b.index, (sample, i) => ({ p, i, sample })));
    if (rows.length !== trainSize || new Set(rows.map((r) => r.sample)).size !== trainSize) return null;
    rows.sort((x, y) => x.sample - y.sample);
    const probs = (get: (r: (typeof rows)[number]) => Float32Array): Float32Array => {
      const out = new Float32Array(trainSize * numClasses);
      rows.forEach((r, k) => out.set(get(r).subarray(r.i * numClasses, (r.i + 1) * numClasses), k * numClasses));
      return out;
    };
    return {
      ids: rows.map((r) => r.p.b.ids[r.i] as string), labels: Int32Array.from(rows, (r) => r.p.b.labels[r.i] as number),
      index: Int32Array.from(rows, (r) => r.sample), corrupted: Uint8Array.from(rows, (r) => r.p.b.corrupted[r.i] as number),
      fused: probs((r) => r.p.fused), unimodal: Object.fromEntries(modalities.map((m) => [m, probs((r) => r.p.unimodal[m] as Float32Array)])), numClasses,
    };
  }
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
      const pass = (l: Loader): Promise<SplitPredictions> => predict(this.model, l, this.device, { method: this.predictor, features: o.features, precision: this.cfg.precision });
      this.#trainCache = await (this.job ? this.job.predictSplit(this.loaders.trainEval, this.dataset.samples('train'), pass) : pass(this.loaders.trainEval));
      this.#gapSeconds += (performance.now() - t0) / 1000;
    }
    return this.#trainCache;
  }

  /** Eval-mode predictions of the current weights on a split, by the run's prediction rule. */
  predict(loader: Loader): Promise<SplitPredictions> {
    const pass = (l: Loader): Promise<SplitPredictions> => predict(this.model, l, this.device, { method: this.predictor, precision: this.cfg.precision });
    if (!this.job) return pass(loader);
    const split = loader === this.loaders.val ? 'val' : loader === this.loaders.test ? 'test' : 'train';
    return this.job.predictSplit(loader, this.dataset.samples(split), pass);
  }

  #setFrozen(frozen: boolean): void {
    for (const m of this.modalities) {
      const enc = this.model.encoder(m);
      for (const p of enc.parameters()) p.requiresGrad = !frozen;
      if (frozen) enc.eval();
    }
  }

  /** Trains one epoch (0-based `epoch` of `epochs` in the run) and returns its metrics line (after writing the gaps CSV). */
  async epoch(epoch: number, epochs: number, plan: EpochPlan): Promise<EpochMetrics> {
    const t0 = performance.now();
    const { stage, method, optimizer } = plan;
    manualSeed(epochSeed(this.cfg.seed, epoch));
    this.#gapSeconds = 0;
    const skippedBefore = this.scaler?.skippedSteps ?? 0;
    const nonFiniteBefore = this.nonFinite.count;
    const ectx: EpochContext = {
      model: this.model, epoch, epochs, stage, modalities: this.modalities, numClasses: this.numClasses, trainSize: this.trainSize,
      trainPredictions: (o) => this.trainPredictions(o), log: (l) => this.log(l),
    };
    const own = await method.beginEpoch?.(ectx);
    this.job?.checkMethodState(method);
    const loader = this.loaders.train;
    loader.epoch = epoch;
    loader.indices = visits(own?.indices ?? null, plan.indices);
    // Ranks shard the order one process would shuffle (their loaders do not shuffle).
    if (this.job) loader.indices = this.job.shardOrder(shuffledOrder(loader.indices ?? Int32Array.from({ length: this.trainSize }, (_, i) => i), this.cfg.seed, epoch, 'train'), this.cfg.batchSize);
    this.model.train();
    // The stage's plan (purification of the head) or the method's own (a linear probe) may freeze the encoders.
    const frozen = plan.frozenEncoders || own?.frozenEncoders === true;
    if (frozen) this.#setFrozen(true);
    this.invalidate();
    const lr = optimizer.lrs[0] as number;
    let lossSum = 0, lossSeen = 0, correct = 0, seen = 0, steps = 0, loggedSteps = 0;
    const logSums: Record<string, number> = {};
    const total = loader.length;
    const passRows = this.cfg.gapSource === 'train-pass' ? new TrainPassRows() : null;
    // Time spent waiting for the loader's next batch: where it is a large share of the loop, the
    // loader, not the model, sets the pace.
    const loopStart = performance.now();
    let waitSeconds = 0;
    let asked = loopStart;
    try {
      for await (const b of loader) {
        waitSeconds += (performance.now() - asked) / 1000;
        // Batches served from memory never yield to the event loop; give it a turn so that a
        // SIGINT handler (the CLI's Ctrl-C) can abort between steps.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.opts.signal?.aborted) throw new RunAborted(`stopped during epoch ${epoch + 1}; epochs before it are saved in ${this.dir.path}; run the same command again to resume`);
        const tools = stepTools(this.cfg.seed, this.step, this.job);
        const sctx: StepContext = { model: this.model, optimizer, epoch, stage, step: this.step, modalities: this.modalities, numClasses: this.numClasses, ...tools };
        const r = tidy(() => {
          const tb = toTensors(b, this.device);
          loader.recycle(b);
          optimizer.zeroGrad();
          this.job?.ddp?.syncBuffers();
          // The forward pass and the loss run under autocast (as PyTorch's recipe); the method
          // sees the model's outputs in float32, so its loss is a float32 computation. Backward
          // runs outside the region, in the dtypes the forward pass recorded.
          const { out, res } = withPrecision(this.cfg.precision, this.device, () => {
            // (fp32: as the model gives them, so that a float64 model trains in float64.)
            const y = this.model.forward(tb.inputs, tb.lengths);
            const o = this.cfg.precision === 'fp32' ? y : float32Output(y);
            return { out: o, res: method.loss(o, tb, sctx) };
          });
          if (passRows) this.#gatherTrainPass(passRows, b, out);
          const value = res.loss.item();
          const counts = this.nonFinite.check(value, `epoch ${epoch + 1}, step ${steps + 1} (method ${method.name}, lr ${lr})`);
          if (method.backward) {
            // The method's own gradients: the trainer averages nothing (no DDP hook armed), the method must.
            method.backward(res, out, tb, sctx);
            if (this.job && !tools.gradsAveraged()) {
              throw new DistributedError(`method ${method.name} computes its own gradients without ctx.allReduceMeanGrads, so its ranks would train different models; average them there (src/methods/method.ts) or train it in one process`);
            }
          } else {
            const loss = this.scaler ? this.scaler.scaleLoss(res.loss) : res.loss;
            this.job?.ddp?.prepareBackward(loss);
            loss.backward();
          }
          // Methods read and scale true gradients: unscaled before beforeStep.
          this.scaler?.unscale_(optimizer);
          const extra = method.beforeStep?.(out, tb, sctx);
          if (this.scaler) {
            this.scaler.step(optimizer);
            this.scaler.update();
          } else {
            optimizer.step();
          }
          const pred = (out.fused as Tensor).detach().argmax(1).toArray();
          let ok = 0;
          pred.forEach((p, i) => { if (p === b.labels[i]) ok++; });
          return { value, counts, ok, logs: { ...res.logs, ...(extra ?? {}) } };
        });
        correct += r.ok;
        seen += b.size;
        steps++;
        this.step++;
        // A step the loss scaler skips for a non-finite loss adds nothing to the loss or the logs.
        if (r.counts) {
          lossSum += r.value * b.size;
          lossSeen += b.size;
          loggedSteps++;
          for (const [k, v] of Object.entries(r.logs)) logSums[k] = (logSums[k] ?? 0) + v;
        }
        this.opts.onEvent?.({ kind: 'step', epoch, epochs, stage, step: steps, steps: total, loss: r.value });
        asked = performance.now();
      }
    } finally {
      if (frozen) this.#setFrozen(false);
    }
    const data = { waitSeconds, steps, loopSeconds: (performance.now() - loopStart) / 1000 };
    if (this.job) {
      // The epoch's numbers over all ranks.
      const keys = Object.keys(logSums).sort();
      const [l, ls, c, n, k, ...logs] = this.job.sum([lossSum, lossSeen, correct, seen, loggedSteps, ...keys.map((key) => logSums[key] as number)]);
      [lossSum, lossSeen, correct, seen, loggedSteps] = [l as number, ls as number, c as number, n as number, k as number];
      keys.forEach((key, i) => { logSums[key] = logs[i] as number; });
    }
    if (passRows) {
      const p = passRows.predictions(this.trainSize, this.modalities, this.numClasses);
      if (p) this.#trainCache = p;
      else this.log(`gapSource train-pass: epoch ${epoch + 1} did not visit every training sample once; its gaps come from an eval pass`);
    }
    const methodDiag = (await method.endEpoch?.(ectx)) ?? {};
    const diag = this.cfg.diagnose === 'every-epoch' ? await this.diagnose(epoch + 1) : null;
    const val = scoreSplit(await this.predict(this.loaders.val));
    return {
      epoch: epoch + 1, stage, lr,
      // (an epoch whose every loss was non-finite, each step skipped by the loss scaler, has no loss: NaN)
      train: { loss: lossSeen > 0 ? lossSum / lossSeen : seen > 0 ? Number.NaN : 0, acc: correct / Math.max(seen, 1), logs: Object.fromEntries(Object.entries(logSums).map(([k, v]) => [k, v / Math.max(loggedSteps, 1)])) },
      val, gap: diag?.gap ?? null, gmm: diag?.gmm ?? null, method: methodDiag, seconds: (performance.now() - t0) / 1000,
      gapSeconds: this.#gapSeconds, data,
      ...(this.scaler && { amp: { lossScale: this.scaler.scale, skippedSteps: this.scaler.skippedSteps - skippedBefore, nonFiniteLosses: this.nonFinite.count - nonFiniteBefore } }),
    };
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

  /** The training-set diagnostics of the current weights (or, with gapSource 'train-pass', of the epoch's training passes), written as gaps/epoch-<epoch>.csv. */
  async diagnose(epoch: number): Promise<Diagnostics> {
    const preds = await this.trainPredictions();
    const t0 = performance.now();
    const diag = diagnose(preds, this.modalities, this.cfg.seed);
    this.dir.writeGaps(epoch, rowsToCsv(diag.rows));
    this.#gapSeconds += (performance.now() - t0) / 1000;
    return diag;
  }
}
