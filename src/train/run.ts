/**
 * One training run, from a config to a summary: warm-up and main stages driven by the method's
 * hooks, per-epoch validation and imbalance diagnostics, an atomic checkpoint after every epoch
 * (a run killed at any point resumes from its last finished epoch and ends with the same numbers:
 * every epoch reseeds libtorch and the loader from (seed, epoch)), the best epoch chosen on
 * validation and only then evaluated on test, and optional purification.
 */
import { manualSeed, tidy, libtorchVersion, optim, tensor, type Tensor } from '../torch/index.js';
import type { Dataset, Loader, SkippedSample } from '../data/index.js';
import type { MultimodalClassifier } from '../models/classifier.js';
import { getMethod } from '../methods/registry.js';
import { joint } from '../methods/joint.js';
import type { EpochContext, Method, MethodState, SplitPredictions, Stage, StepContext } from '../methods/method.js';
import { resolveConfig } from './config.js';
import { confusion, predict, scoreSplit, toTensors } from './evaluate.js';
import { diagnose, diagnosticsSpace, hasGroundTruth, rowsToCsv } from './diagnostics.js';
import { RunDir, MMGAP_VERSION, pick, prefixed } from './rundir.js';
import { openRunData, runLoader, runModel } from './setup.js';
import { RUN_FORMAT_VERSION, type EpochMetrics, type PurificationSummary, type RunConfig, type RunOptions, type RunSummary, type SplitScores } from './types.js';

/** Thrown when the AbortSignal of RunOptions fires; finished epochs are checkpointed. */
export class RunAborted extends Error {}

interface Best { epoch: number; val: SplitScores }

/** Trainer state stored in each checkpoint's metadata. */
interface CheckpointMeta {
  stage: 'train' | 'finetune';
  /** Epochs finished in this stage. */
  epochsDone: number;
  /** Optimizer steps taken so far (the global step counter of StepContext). */
  step: number;
  history: EpochMetrics[];
  best: Best | null;
  optimizer: { stepCount: number; groups: { lr: number }[] };
  method: Record<string, unknown>;
  /** Purification only: scores of the model it started from, and its best fine-tuning epoch. */
  purify?: { before: { val: SplitScores; test: SplitScores }; best: Best | null; total: number; removedCorruptedShare: number | null };
}

function makeOptimizer(cfg: RunConfig, params: Tensor[], lr: number): optim.Optimizer<{ lr: number }> {
  switch (cfg.optimizer) {
    case 'sgd': return new optim.SGD(params, { lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
    case 'adam': return new optim.Adam(params, { lr, weightDecay: cfg.weightDecay });
    case 'adamw': return new optim.AdamW(params, { lr, weightDecay: cfg.weightDecay });
  }
}

function makeSchedule(cfg: RunConfig, opt: optim.Optimizer<{ lr: number }>): optim.LRScheduler | null {
  switch (cfg.schedule) {
    case 'none': return null;
    case 'step': return new optim.StepLR(opt, cfg.stepSize, cfg.gamma);
    case 'cosine': return new optim.CosineAnnealingLR(opt, cfg.epochs);
  }
}

function epochSeed(seed: number, epoch: number): number {
  return (seed * 1_000_003 + epoch * 7_919 + 17) % 2_147_483_647;
}

/** Everything an epoch needs, shared by the main stages and purification. */
class Session {
  readonly modalities: string[];
  readonly numClasses: number;
  readonly trainSize: number;
  /** Eval-mode training predictions of the current weights, when known (reused across epoch boundaries). */
  trainCache: SplitPredictions | null = null;
  step = 0;

  constructor(readonly cfg: RunConfig, readonly dir: RunDir, readonly dataset: Dataset, readonly model: MultimodalClassifier,
    readonly device: string, readonly loaders: { train: Loader; trainEval: Loader; val: Loader; test: Loader },
    readonly opts: RunOptions) {
    this.modalities = model.modalities;
    this.numClasses = model.numClasses;
    this.trainSize = dataset.samples('train').length;
  }

  log(line: string): void {
    this.dir.log(line);
    this.opts.onEvent?.({ kind: 'log', line });
  }

  async trainPredictions(): Promise<SplitPredictions> {
    this.trainCache ??= await predict(this.model, this.loaders.trainEval, this.device);
    return this.trainCache;
  }

  /** Trains one epoch with `method` and returns its metrics line (after writing gaps CSV). */
  async epoch(epoch: number, epochs: number, stage: Stage, method: Method, optimizer: optim.Optimizer<{ lr: number }>,
    indices: Int32Array | null): Promise<EpochMetrics> {
    const t0 = performance.now();
    manualSeed(epochSeed(this.cfg.seed, epoch));
    const ectx: EpochContext = {
      model: this.model, epoch, stage, modalities: this.modalities, numClasses: this.numClasses, trainSize: this.trainSize,
      trainPredictions: () => this.trainPredictions(), log: (l) => this.log(l),
    };
    const plan = await method.beginEpoch?.(ectx);
    const loader = this.loaders.train;
    loader.epoch = epoch;
    loader.indices = plan?.indices ?? indices;
    this.model.train();
    const lr = optimizer.lrs[0] as number;
    let lossSum = 0, correct = 0, seen = 0, steps = 0;
    const logSums: Record<string, number> = {};
    const total = loader.length;
    for await (const b of loader) {
      // Batches served from memory never yield to the event loop; give it a turn so that a
      // SIGINT handler (the CLI's Ctrl-C) can abort between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.opts.signal?.aborted) throw new RunAborted(`stopped during epoch ${epoch + 1}; epochs before it are saved in ${this.dir.path}; run the same command again to resume`);
      const sctx: StepContext = { model: this.model, optimizer, epoch, stage, step: this.step, modalities: this.modalities, numClasses: this.numClasses };
      const r = tidy(() => {
        const tb = toTensors(b, this.device);
        optimizer.zeroGrad();
        const out = this.model.forward(tb.inputs);
        const res = method.loss(out, tb, sctx);
        const value = res.loss.item();
        if (!Number.isFinite(value)) {
          throw new Error(`loss is ${value} at epoch ${epoch + 1}, step ${steps + 1} (method ${method.name}, lr ${lr}); ` +
            'lower --lr, or check the data with `mmgap data verify`');
        }
        if (method.backward) method.backward(res, out, tb, sctx);
        else res.loss.backward();
        const extra = method.beforeStep?.(out, tb, sctx);
        optimizer.step();
        const pred = out.fused.detach().argmax(1).toArray();
        let ok = 0;
        pred.forEach((p, i) => { if (p === b.labels[i]) ok++; });
        return { value, ok, logs: { ...res.logs, ...(extra ?? {}) } };
      });
      lossSum += r.value * b.size;
      correct += r.ok;
      seen += b.size;
      steps++;
      this.step++;
      for (const [k, v] of Object.entries(r.logs)) logSums[k] = (logSums[k] ?? 0) + v;
      this.opts.onEvent?.({ kind: 'step', epoch, epochs, stage, step: steps, steps: total, loss: r.value });
    }
    const methodDiag = (await method.endEpoch?.(ectx)) ?? {};
    this.trainCache = null;
    const trainPreds = await this.trainPredictions();
    const diag = diagnose(trainPreds, this.modalities, diagnosticsSpace(this.cfg), this.cfg.seed);
    this.dir.writeGaps(epoch + 1, rowsToCsv(diag.rows));
    const val = scoreSplit(await predict(this.model, this.loaders.val, this.device));
    return {
      epoch: epoch + 1, stage, lr,
      train: { loss: lossSum / Math.max(seen, 1), acc: correct / Math.max(seen, 1), logs: Object.fromEntries(Object.entries(logSums).map(([k, v]) => [k, v / Math.max(steps, 1)])) },
      val, gap: diag.gap, gmm: diag.gmm, method: methodDiag, seconds: (performance.now() - t0) / 1000,
    };
  }

  checkpointTensors(optimizer: optim.Optimizer<{ lr: number }>, methodState: MethodState | undefined, extra: [string, Tensor][] = []): Map<string, Tensor> {
    return new Map([
      ...prefixed('model.', this.model.stateDict()),
      ...prefixed('optim.', optimizer.stateDict().tensors),
      ...prefixed('method.', methodState?.tensors ?? {}),
      ...extra,
    ]);
  }
}

/** Trains one run (see the module comment); resumes from `opts.outDir` when it holds a checkpoint of the same config. */
export async function trainRun(input: Partial<RunConfig>, opts: RunOptions): Promise<RunSummary> {
  const cfg = resolveConfig(input);
  const started = performance.now();
  const dir = new RunDir(opts.outDir);
  const emit = opts.onEvent ?? (() => undefined);
  dir.open(cfg, libtorchVersion, opts.resume ?? true);
  emit({ kind: 'phase', phase: 'loading' });
  const { device, dataset } = await openRunData(cfg);
  const loaders = {
    train: runLoader(cfg, dataset, 'train', { batchSize: cfg.batchSize, shuffle: true, train: true, seed: cfg.seed }),
    trainEval: runLoader(cfg, dataset, 'train'),
    val: runLoader(cfg, dataset, 'val'),
    test: runLoader(cfg, dataset, 'test'),
  };
  try {
    manualSeed(cfg.seed);
    const model = runModel(cfg, dataset, device);
    const s = new Session(cfg, dir, dataset, model, device, loaders, opts);
    s.log(`run ${cfg.method} on ${cfg.data} (seed ${cfg.seed}): ${dataset.samples('train').length} train / ${dataset.samples('val').length} val / ` +
      `${dataset.samples('test').length} test samples, ${model.parameterCount()} parameters, libtorch ${libtorchVersion} on ${device}`);
    const optimizer = makeOptimizer(cfg, model.parameters(), cfg.lr);
    const schedule = makeSchedule(cfg, optimizer);
    const method = getMethod(cfg.method).create(cfg.methodOptions);
    const warmupMethod = joint.create({});

    let history: EpochMetrics[] = [];
    let best: Best | null = null;
    let start = 0;
    const last = dir.loadCheckpoint<CheckpointMeta>('last');
    if (last) {
      ({ history, best } = last.meta);
      s.step = last.meta.step;
      start = last.meta.stage === 'train' ? last.meta.epochsDone : cfg.epochs;
      model.loadStateDict(pick(last.tensors, 'model.'));
      if (last.meta.stage === 'train') {
        optimizer.loadStateDict({ tensors: pick(last.tensors, 'optim.'), meta: last.meta.optimizer });
        schedule?.setEpoch(start);
        method.loadState?.({ json: last.meta.method, tensors: Object.fromEntries(pick(last.tensors, 'method.')) });
      }
      dir.writeMetrics(history);
      s.log(`resumed from the checkpoint after epoch ${history.length}`);
      emit({ kind: 'resumed', fromEpoch: history.length });
    }

    emit({ kind: 'phase', phase: 'training', total: cfg.epochs });
    for (let e = start; e < cfg.epochs; e++) {
      const stage: Stage = e < cfg.warmup ? 'warmup' : 'main';
      const m = await s.epoch(e, cfg.epochs, stage, stage === 'warmup' ? warmupMethod : method, optimizer, null);
      schedule?.step();
      history.push(m);
      if (!best || m.val.acc > best.val.acc) {
        best = { epoch: m.epoch, val: m.val };
        dir.saveCheckpoint('best', new Map(prefixed('model.', model.stateDict())), { epoch: m.epoch });
      }
      const ms = method.state?.();
      dir.saveCheckpoint('last', s.checkpointTensors(optimizer, ms), {
        stage: 'train', epochsDone: e + 1, step: s.step, history, best, optimizer: optimizer.stateDict().meta, method: ms?.json ?? {},
      } satisfies CheckpointMeta);
      dir.writeMetrics(history);
      s.log(`epoch ${m.epoch}/${cfg.epochs} (${stage}): loss ${m.train.loss.toFixed(4)}, val acc ${(100 * m.val.acc).toFixed(2)} %` +
        ` (${s.modalities.map((x) => `${x} ${(100 * (m.val.modality[x]?.acc ?? 0)).toFixed(1)}`).join(', ')}), ` +
        `imbalanced ${(100 * m.gmm.shareImbalanced).toFixed(1)} %${m.gmm.auroc === null ? '' : `, AUROC ${m.gmm.auroc.toFixed(3)}`}, ${m.seconds.toFixed(1)} s`);
      emit({ kind: 'epoch', metrics: m, epochs: cfg.epochs });
    }
    if (!best) throw new Error('no epoch finished');

    // The best epoch on validation, and only it, is evaluated on test.
    emit({ kind: 'phase', phase: 'testing' });
    const bestCk = dir.loadCheckpoint<{ epoch: number }>('best');
    if (!bestCk) throw new Error(`${dir.file('checkpoints', 'best.safetensors')} is missing; run again with --no-resume`);
    model.loadStateDict(pick(bestCk.tensors, 'model.'));
    const testPreds = await predict(model, loaders.test, device);
    const test = scoreSplit(testPreds);
    s.log(`best epoch ${best.epoch} (val acc ${(100 * best.val.acc).toFixed(2)} %): test acc ${(100 * test.acc).toFixed(2)} %, macro-F1 ${(100 * test.f1).toFixed(2)} %`);

    const purification = cfg.purify ? await purify(s, cfg, last?.meta.stage === 'finetune' ? last : null, best, test, history) : null;
    const skipped: SkippedSample[] = [...new Map([...dataset.skipped, ...Object.values(loaders).flatMap((l) => l.skipped)].map((x) => [`${x.split}/${x.id}`, x])).values()];
    if (skipped.length) s.log(`skipped ${skipped.length} bad samples: ${skipped.slice(0, 5).map((x) => `${x.id} (${x.reason})`).join('; ')}${skipped.length > 5 ? '; ...' : ''}`);
    const summary: RunSummary = {
      formatVersion: RUN_FORMAT_VERSION, mmgapVersion: MMGAP_VERSION, method: cfg.method, data: cfg.data, seed: cfg.seed,
      bestEpoch: best.epoch, val: best.val, test, confusion: confusion(testPreds), classes: dataset.classes,
      auroc: history[best.epoch - 1]?.gmm.auroc ?? null, purification, skippedSamples: skipped.length,
      wallSeconds: (performance.now() - started) / 1000, outDir: dir.path,
    };
    dir.writeSummary(summary);
    return summary;
  } finally {
    await Promise.all(Object.values(loaders).map((l) => l.close()));
  }
}

/**
 * Purification (DESIGN §1): GMM on the trained model's training gaps, keep gamma < tau, fine-tune
 * on the kept subset at lr * lrFactor with plain CE or the adaptive loss; the best fine-tuning
 * epoch on validation is evaluated on test.
 */
async function purify(s: Session, cfg: RunConfig,
  resumeFrom: { tensors: Map<string, Tensor>; meta: CheckpointMeta } | null,
  mainBest: Best, mainTest: SplitScores, history: EpochMetrics[]): Promise<PurificationSummary> {
  const p = cfg.purify!;
  s.opts.onEvent?.({ kind: 'phase', phase: 'purifying', total: p.epochs });
  const optimizer = makeOptimizer(cfg, s.model.parameters(), cfg.lr * p.lrFactor);
  const method = p.loss === 'ce' ? joint.create({}) : getMethod('gmm-adaptive').create(cfg.method === 'gmm-adaptive' ? cfg.methodOptions : {});
  let kept: Int32Array;
  let meta: NonNullable<CheckpointMeta['purify']>;
  let done = 0;
  if (resumeFrom) {
    kept = Int32Array.from((resumeFrom.tensors.get('purify.kept') as Tensor).toArray());
    meta = resumeFrom.meta.purify!;
    done = resumeFrom.meta.epochsDone;
    s.model.loadStateDict(pick(resumeFrom.tensors, 'model.'));
    optimizer.loadStateDict({ tensors: pick(resumeFrom.tensors, 'optim.'), meta: resumeFrom.meta.optimizer });
    method.loadState?.({ json: resumeFrom.meta.method, tensors: Object.fromEntries(pick(resumeFrom.tensors, 'method.')) });
  } else {
    s.trainCache = null;
    const preds = await s.trainPredictions();
    const diag = diagnose(preds, s.modalities, diagnosticsSpace(cfg), cfg.seed);
    const keep: number[] = [];
    let removed = 0, removedCorrupted = 0;
    diag.gamma.forEach((g, i) => {
      if (g < p.tau) keep.push(preds.index[i] as number);
      else { removed++; if (preds.corrupted[i]) removedCorrupted++; }
    });
    kept = Int32Array.from(keep);
    const truthKnown = hasGroundTruth(preds);
    meta = { before: { val: mainBest.val, test: mainTest }, best: null, total: preds.ids.length, removedCorruptedShare: truthKnown && removed > 0 ? removedCorrupted / removed : null };
    s.log(`purification: GMM ${diag.gmm.imbalanced ? 'found' : 'found no'} imbalanced subgroup; keeping ${kept.length} of ${preds.ids.length} ` +
      `training samples (gamma < ${p.tau})${meta.removedCorruptedShare === null ? '' : `, ${(100 * meta.removedCorruptedShare).toFixed(1)} % of the removed are corrupted`}`);
  }
  if (kept.length === 0) throw new Error(`purification kept no training samples (tau ${p.tau}); raise --purify-tau`);
  const total = cfg.epochs + p.epochs;
  for (let k = done; k < p.epochs; k++) {
    const e = cfg.epochs + k;
    const m = await s.epoch(e, total, 'finetune', method, optimizer, kept);
    history.push(m);
    if (!meta.best || m.val.acc > meta.best.val.acc) {
      meta.best = { epoch: m.epoch, val: m.val };
      s.dir.saveCheckpoint('purified', new Map(prefixed('model.', s.model.stateDict())), { epoch: m.epoch });
    }
    const ms = method.state?.();
    s.dir.saveCheckpoint('last', s.checkpointTensors(optimizer, ms, [['purify.kept', tensor(kept)]]), {
      stage: 'finetune', epochsDone: k + 1, step: s.step, history, best: mainBest, optimizer: optimizer.stateDict().meta, method: ms?.json ?? {}, purify: meta,
    } satisfies CheckpointMeta);
    s.dir.writeMetrics(history);
    s.log(`purification epoch ${k + 1}/${p.epochs}: val acc ${(100 * m.val.acc).toFixed(2)} %`);
    s.opts.onEvent?.({ kind: 'epoch', metrics: m, epochs: total });
  }
  const bestCk = s.dir.loadCheckpoint<{ epoch: number }>('purified');
  if (!bestCk || !meta.best) throw new Error(`${s.dir.file('checkpoints', 'purified.safetensors')} is missing; run again with --no-resume`);
  s.model.loadStateDict(pick(bestCk.tensors, 'model.'));
  const test = scoreSplit(await predict(s.model, s.loaders.test, s.device));
  s.log(`purification: test acc ${(100 * meta.before.test.acc).toFixed(2)} % -> ${(100 * test.acc).toFixed(2)} % (fine-tuned epoch ${meta.best.epoch} chosen on val)`);
  return {
    tau: p.tau, keptFraction: kept.length / meta.total, kept: kept.length, total: meta.total, removedCorruptedShare: meta.removedCorruptedShare,
    before: meta.before.test, after: test, beforeVal: meta.before.val, afterVal: meta.best.val, selectedEpoch: meta.best.epoch,
  };
}

export { evaluateRun, diagnoseRun, purifyRun, type EvalResult, type DiagnoseResult, type RunHooks } from './evaluate-run.js';
