/**
 * One training run, from a config to a summary: the 'train' stage (the shared warm-up for
 * methods that ask for it, then the method), the best epoch chosen on validation and only then
 * evaluated on test, and optionally the 'finetune' stage (purification). Stages run through one
 * runner (stage.ts) that checkpoints every epoch atomically; a run killed at any point resumes
 * from its last finished epoch and ends with the same numbers. The trainer knows no method by
 * name: the run's method comes from the registry, plain cross-entropy from the registry's roles.
 */
import { basename, join, resolve } from 'node:path';
import { tensor, libtorchVersion, manualSeed, optim, precisionSlowdown, cpuFlags, emptyCache, type Tensor } from '../torch/index.js';
import type { SkippedSample } from '../data/index.js';
import { METHODS, getMethod, methodFor } from '../methods/registry.js';
import type { Method, SplitPredictions } from '../methods/method.js';
import { argmaxRows, correctnessOf } from '../core/index.js';
import { resolveConfig, trainingEpochs, type ConfigInput } from './config.js';
import { confusion, predictionsCsv, scoreSplit } from './evaluate.js';
import { diagnose, hasGroundTruth, rowsToCsv } from './diagnostics.js';
import { selectSamples, epochIndices, purifyDecision } from './purify.js';
import { RunDir, MMGAP_VERSION, pick } from './rundir.js';
import { ReadOnlyRunDir, TrainingJob } from './distributed.js';
import { Session, RunAborted, type Loaders } from './session.js';
import { runStage, stageOrder, type Checkpoint, type CheckpointMeta } from './stage.js';
import { explainOutOfMemory } from './memory.js';
import { openRunData, runLoader, runModel } from './setup.js';
import { EventWriter } from './tensorboard.js';
import { RUN_FORMAT_VERSION, type PurificationSummary, type RunConfig, type RunOptions, type RunSummary, type SplitScores } from './types.js';

export { RunAborted };

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
    case 'step': return new optim.StepLR(opt, cfg.stepSize, cfg.stepGamma);
    case 'cosine': return new optim.CosineAnnealingLR(opt, cfg.epochs);
  }
}

const pct = (x: number): string => (100 * x).toFixed(2);

/** Trains one run (see the module comment); resumes from `opts.outDir` when it holds a checkpoint of the same config. */
export async function trainRun(input: ConfigInput, opts: RunOptions): Promise<RunSummary> {
  const requested = resolveConfig(input, METHODS);
  const started = performance.now();
  const job = opts.group && opts.group.worldSize > 1 ? new TrainingJob(opts.group) : null;
  job?.checkRun(requested);
  // Rank 0 alone writes the directory; the others read it once rank 0 has set it up.
  const dir = job && job.rank !== 0 ? new ReadOnlyRunDir(opts.outDir) : new RunDir(opts.outDir);
  const emit = opts.onEvent ?? (() => undefined);
  if (job && job.rank !== 0) job.group.barrier();
  // config.json keeps the request (epochs 0 = auto), so resuming compares like with like.
  dir.open(requested, libtorchVersion, opts.resume ?? true);
  emit({ kind: 'phase', phase: 'loading' });
  const data = await openRunData(requested, dir);
  if (job && job.rank === 0) job.group.barrier();
  const { device, dataset } = data;
  const cfg: RunConfig = { ...requested, epochs: trainingEpochs(requested, dataset.samples('train').length) };
  const loaders: Loaders = {
    // (on the CPU the next epoch's batches would be made during the evaluation passes, competing with libtorch for the cores)
    train: runLoader(cfg, data, 'train', { batchSize: cfg.batchSize / (job?.worldSize ?? 1), shuffle: !job, train: true, seed: cfg.seed, nextEpochAhead: device !== 'cpu' }),
    trainEval: runLoader(cfg, data, 'train'),
    val: runLoader(cfg, data, 'val'),
    test: runLoader(cfg, data, 'test'),
  };
  try {
    manualSeed(cfg.seed);
    const model = runModel(cfg, dataset, device);
    job?.wrap(model, { syncBatchNorm: cfg.syncBatchNorm });
    const factory = getMethod(cfg.method);
    const method = factory.create(cfg.methodOptions);
    const s = new Session(cfg, dir, dataset, model, device, loaders, opts, method);
    s.job = job;
    // One directory per run under the tensorboard one, named as the run directory: a logdir of runs.
    if (cfg.tensorboard !== 'off' && (!job || job.rank === 0)) s.tensorboard = new EventWriter(join(cfg.tensorboard, basename(resolve(opts.outDir))));
    s.log(`run ${cfg.method} on ${cfg.data} (seed ${cfg.seed}): ${dataset.samples('train').length} train / ${dataset.samples('val').length} val / ` +
      `${dataset.samples('test').length} test samples, ${model.parameterCount()} parameters, libtorch ${libtorchVersion} on ${device}`);
    if (!requested.epochs) s.log(`epochs: ${cfg.epochs} (auto: at least ${requested.minSteps} optimizer steps of batch ${cfg.batchSize})`);
    const slow = precisionSlowdown(cfg.precision, device, cpuFlags());
    if (slow) s.log(`note: ${slow}`);
    const optimizer = makeOptimizer(cfg, model.parameters(), cfg.lr);
    const schedule = makeSchedule(cfg, optimizer);
    const warmup = factory.sharedWarmup ? cfg.warmup : 0;
    const plain = warmup > 0 ? methodFor('plain').create() : method;

    const last = dir.loadCheckpoint<CheckpointMeta>('last');
    if (last) {
      s.history = last.meta.history;
      s.step = last.meta.step;
      s.best = last.meta.best;
      dir.writeMetrics(s.history);
      s.log(`resumed from the checkpoint after epoch ${s.history.length}`);
      emit({ kind: 'resumed', fromEpoch: s.history.length });
    }

    emit({ kind: 'phase', phase: 'training', total: cfg.epochs });
    const best = await runStage(s, {
      name: 'train', first: 0, epochs: cfg.epochs, total: cfg.epochs,
      plan: (e) => (e < warmup
        ? { stage: 'warmup', method: plain, optimizer, indices: null, frozenEncoders: false }
        : { stage: 'main', method, optimizer, indices: null, frozenEncoders: false }),
      stateful: method, optimizer, schedule, bestCheckpoint: 'best', stageData: {}, stageTensors: {},
      describe: (m) => `epoch ${m.epoch}/${cfg.epochs} (${m.stage}): loss ${m.train.loss.toFixed(4)}, val acc ${pct(m.val.acc)} %` +
        ` (${s.modalities.map((x) => `${x} ${(100 * (m.val.modality[x]?.acc ?? 0)).toFixed(1)}`).join(', ')}), ` +
        `${m.gmm ? `imbalanced ${(100 * m.gmm.shareImbalanced).toFixed(1)} %${m.gmm.auroc === null ? '' : `, AUROC ${m.gmm.auroc.toFixed(3)}`}, ` : ''}${m.seconds.toFixed(1)} s`,
    }, last);

    // The best epoch on validation, and only it, is evaluated on test.
    emit({ kind: 'phase', phase: 'testing' });
    loadSelected(s, 'best');
    if (cfg.diagnose === 'selected') {
      // The selected epoch's diagnostics, computed now from its checkpoint (the same weights).
      const diag = await s.diagnose(best.epoch);
      const m = s.history[best.epoch - 1];
      if (m) s.history[best.epoch - 1] = { ...m, gap: diag.gap, gmm: diag.gmm };
      dir.writeMetrics(s.history);
    }
    const testPreds = await s.predict(loaders.test);
    const test = scoreSplit(testPreds);
    dir.writeText('predictions/test.csv', predictionsCsv(testPreds, s.modalities));
    s.log(`best epoch ${best.epoch} (val acc ${pct(best.val.acc)} %): test acc ${pct(test.acc)} %, macro-F1 ${pct(test.f1)} %`);

    const purification = cfg.purify ? await purify(s, cfg, last, best.val, test) : null;
    const skipped: SkippedSample[] = [...new Map([...dataset.skipped, ...Object.values(loaders).flatMap((l) => l.skipped)].map((x) => [`${x.split}/${x.id}`, x])).values()];
    if (skipped.length) s.log(`skipped ${skipped.length} bad samples: ${skipped.slice(0, 5).map((x) => `${x.id} (${x.reason})`).join('; ')}${skipped.length > 5 ? '; ...' : ''}`);
    const summary: RunSummary = {
      formatVersion: RUN_FORMAT_VERSION, mmgapVersion: MMGAP_VERSION, method: cfg.method, data: cfg.data, seed: cfg.seed,
      epochs: cfg.epochs, bestEpoch: best.epoch, val: best.val, test, confusion: confusion(testPreds), classes: dataset.classes,
      auroc: s.history[best.epoch - 1]?.gmm?.auroc ?? null, purification, skippedSamples: skipped.length,
      wallSeconds: (performance.now() - started) / 1000, outDir: dir.path,
    };
    dir.writeSummary(summary);
    return summary;
  } catch (e) {
    throw explainOutOfMemory(job ? job.explain(e) : e, cfg, dataset);
  } finally {
    job?.ddp?.release();
    await Promise.all(Object.values(loaders).map((l) => l.close()));
    emptyCache();
  }
}

/** Per validation sample, 1 where the model's fused prediction is right. */
function valCorrectness(preds: SplitPredictions): Uint8Array {
  return correctnessOf(preds.labels, argmaxRows(preds.fused, preds.numClasses));
}

/** Loads a stage's selected weights into the model. */
function loadSelected(s: Session, name: 'best' | 'purified'): void {
  // Rank 0 may still be writing the checkpoint.
  s.job?.group.barrier();
  const ck = s.dir.loadCheckpoint<{ epoch: number }>(name);
  if (!ck) throw new Error(`${s.dir.file('checkpoints', `${name}.safetensors`)} is missing; run again with --no-resume`);
  s.model.loadStateDict(pick(ck.tensors, 'model.'));
  s.invalidate();
}

interface PurifyData { before: { val: SplitScores; test: SplitScores }; kept: number; total: number; removedCorruptedShare: number | null; balancedWeight: number; valCorrectBefore: number[] }

/**
 * Purification (docs/METHOD.md §6): from the selected model, a GMM on its training gaps chooses the
 * samples (purify.ts); the model is fine-tuned on them at lr * lrFactor with plain CE or the
 * run's own method (a fresh instance), all parameters or the fusion head only; the best
 * fine-tuning epoch on validation is evaluated on test.
 */
async function purify(s: Session, cfg: RunConfig, last: Checkpoint | null, beforeVal: SplitScores, beforeTest: SplitScores): Promise<PurificationSummary> {
  const p = cfg.purify!;
  s.opts.onEvent?.({ kind: 'phase', phase: 'purifying', total: p.epochs });
  const params = p.params === 'head' ? s.model.headParameters() : s.model.parameters();
  const optimizer = makeOptimizer(cfg, params, cfg.lr * p.lrFactor);
  const method: Method = p.loss === 'ce' ? methodFor('plain').create() : getMethod(cfg.method).create(cfg.methodOptions);
  let data: PurifyData;
  let gamma: Float64Array;
  if (stageOrder(last, 'finetune') === 0 && last) {
    data = last.meta.stageData as unknown as PurifyData;
    gamma = (last.tensors.get('stage.gamma') as Tensor).toFloat64Array();
  } else {
    // The model is the selected one (loaded for the test evaluation).
    const preds = await s.trainPredictions();
    // Purification's GMM stays on the raw gaps whatever diagnoseGaps says: its keep rule and
    // defaults were chosen on them (docs/METHOD.md §6).
    const diag = diagnose(preds, s.modalities, cfg.seed, { gmmOn: p.gmmOn, gaps: 'raw' });
    const sel = selectSamples(preds, diag, p, hasGroundTruth(preds));
    // Which samples purification removes, for the report's gallery (keep is by split index, rows by prediction order).
    s.dir.writeText('gaps/purification.csv', rowsToCsv(diag.rows, Array.from(preds.index, (row) => sel.keep[row] as number)));
    gamma = sel.gamma;
    data = { before: { val: beforeVal, test: beforeTest }, kept: sel.kept, total: sel.total, removedCorruptedShare: sel.removedCorruptedShare,
      balancedWeight: diag.gmm.imbalanced ? (diag.gmm.weights[diag.gmm.balanced] as number) : 1, valCorrectBefore: Array.from(valCorrectness(await s.predict(s.loaders.val))) };
    s.log(`purification: GMM (${p.gmmOn} gaps) ${diag.gmm.imbalanced ? 'found' : 'found no'} imbalanced subgroup; fine-tuning ${p.params === 'head' ? 'the fusion head' : 'all parameters'} ` +
      `on ${sel.kept.toFixed(0)} of ${sel.total} training samples (keep ${p.keep}${p.keep === 'tau' ? ` ${p.tau}` : ''})` +
      `${sel.removedCorruptedShare === null ? '' : `, ${(100 * sel.removedCorruptedShare).toFixed(1)} % of the removed are corrupted`}`);
  }
  if (data.kept < 1) throw new Error(`purification kept no training samples (keep ${p.keep}, tau ${p.tau}); raise --purify-tau or use --purify-keep soft`);
  const total = cfg.epochs + p.epochs;
  const best = await runStage(s, {
    name: 'finetune', first: cfg.epochs, epochs: p.epochs, total,
    plan: (e) => ({ stage: 'finetune', method, optimizer, indices: epochIndices(gamma, p, data.balancedWeight, cfg.seed, e), frozenEncoders: p.params === 'head' }),
    stateful: method, optimizer, schedule: null, bestCheckpoint: 'purified',
    stageData: data as unknown as Record<string, unknown>, stageTensors: { gamma: tensor(gamma) },
    describe: (m) => `purification epoch ${m.epoch - cfg.epochs}/${p.epochs}: val acc ${pct(m.val.acc)} %`,
  }, last);
  loadSelected(s, 'purified');
  const decision = purifyDecision(Uint8Array.from(data.valCorrectBefore), valCorrectness(await s.predict(s.loaders.val)), p, cfg.seed);
  s.log(`purification: validation acc ${pct(data.before.val.acc)} % -> ${pct(best.val.acc)} %, gain ${pct(decision.diff)} [${pct(decision.lo)}, ${pct(decision.hi)}] points ` +
    `(95 % paired bootstrap, ${decision.n} samples): ${decision.kept ? 'purified model kept' : `purified model discarded (decide ${p.decide}, margin ${p.margin}), the run ends with the model before it`}`);
  if (!decision.kept) {
    // The run's final model is the one before purification: it becomes the 'purified' checkpoint,
    // which is what evaluation and a resume read as the run's last word.
    loadSelected(s, 'best');
    const ck = s.dir.loadCheckpoint<{ epoch: number }>('best');
    s.dir.saveCheckpoint('purified', ck!.tensors, ck!.meta);
  }
  const testPreds = await s.predict(s.loaders.test);
  const test = scoreSplit(testPreds);
  s.dir.writeText('predictions/test-purified.csv', predictionsCsv(testPreds, s.modalities));
  s.log(`purification: test acc ${pct(data.before.test.acc)} % -> ${pct(test.acc)} % (fine-tuned epoch ${best.epoch} chosen on val${decision.kept ? '' : ', discarded'})`);
  return {
    config: p, keptFraction: data.kept / data.total, kept: data.kept, total: data.total, removedCorruptedShare: data.removedCorruptedShare,
    before: data.before.test, after: test, beforeVal: data.before.val, afterVal: decision.kept ? best.val : data.before.val, selectedEpoch: best.epoch,
    decision: { ...decision, purifiedVal: best.val.acc },
  };
}

export { evaluateRun, diagnoseRun, purifyRun, type EvalResult, type DiagnoseResult, type RunHooks } from './evaluate-run.js';
