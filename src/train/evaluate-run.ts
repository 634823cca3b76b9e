/**
 * Working on a finished run directory: evaluate its selected model on any split, diagnose the
 * split's gaps (GMM, posteriors), or purify it after the fact.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Split } from '../data/index.js';
import type { SplitPredictions } from '../methods/method.js';
import { METHODS, getMethod } from '../methods/registry.js';
import { ConfigError, resolveConfig } from './config.js';
import { confusion, predict, scoreSplit } from './evaluate.js';
import { diagnose, type SampleRow } from './diagnostics.js';
import { RunDir, pick, readStoredConfig, type StoredConfig } from './rundir.js';
import type { CheckpointMeta } from './stage.js';
import { openRunData, runLoader, runModel } from './setup.js';
import type { GmmDiagnostics, PurifyConfig, RunConfig, RunOptions, RunSummary, SplitScores } from './types.js';
import { trainRun } from './run.js';

/** Progress and cancellation of the run-directory functions (a RunOptions without outDir and resume). */
export type RunHooks = Pick<RunOptions, 'signal' | 'onEvent'>;

/** `evaluateRun`: the run's selected model on one split. */
export interface EvalResult {
  split: Split;
  /** The epoch whose checkpoint was evaluated. */
  epoch: number;
  scores: SplitScores;
  /** Row = true class, column = predicted (fused output). */
  confusion: number[][];
  classes: string[];
}

/** `diagnoseRun`: per-sample gaps of the selected model on one split, the GMM fitted to them and the posteriors. */
export interface DiagnoseResult {
  split: Split;
  epoch: number;
  gmm: GmmDiagnostics;
  /** One row per sample, as in gaps/epoch-N.csv. */
  samples: (Omit<SampleRow, 'corrupted'> & { corrupted: boolean })[];
}

/** A stored config without the version fields config.json adds. */
function runConfig(stored: StoredConfig): RunConfig {
  const { formatVersion: _f, mmgapVersion: _m, libtorchVersion: _l, normalization: _n, ...cfg } = stored;
  return cfg;
}

/** The selected model of a run (the purified one when purification ran) and its predictions on `split`. */
async function selectedPredictions(outDir: string, split: Split, hooks: RunHooks): Promise<{ cfg: RunConfig; epoch: number; preds: SplitPredictions; classes: string[] }> {
  const cfg = runConfig(readStoredConfig(outDir));
  const dir = new RunDir(outDir);
  const name = existsSync(dir.file('checkpoints', 'purified.safetensors')) ? 'purified' : 'best';
  const ck = dir.loadCheckpoint<{ epoch: number }>(name);
  if (!ck) throw new ConfigError(`${outDir} has no trained model (checkpoints/best.safetensors); finish it with \`mmgap train\` first`);
  hooks.onEvent?.({ kind: 'phase', phase: 'loading' });
  const data = await openRunData(cfg, dir);
  const { device, dataset } = data;
  const model = runModel(cfg, dataset, device);
  model.loadStateDict(pick(ck.tensors, 'model.'));
  const loader = runLoader(cfg, data, split);
  hooks.onEvent?.({ kind: 'phase', phase: 'testing' });
  try {
    // The run's own prediction rule (its method's fusion), as in training.
    const method = getMethod(cfg.method).create(cfg.methodOptions);
    return { cfg, epoch: ck.meta.epoch, preds: await predict(model, loader, device, { method, precision: cfg.precision }), classes: dataset.classes };
  } finally {
    await loader.close();
  }
}

export async function evaluateRun(outDir: string, split: Split, hooks: RunHooks = {}): Promise<EvalResult> {
  const { epoch, preds, classes } = await selectedPredictions(outDir, split, hooks);
  return { split, epoch, scores: scoreSplit(preds), confusion: confusion(preds), classes };
}

export async function diagnoseRun(outDir: string, split: Split, hooks: RunHooks = {}): Promise<DiagnoseResult> {
  const { cfg, epoch, preds } = await selectedPredictions(outDir, split, hooks);
  const d = diagnose(preds, Object.keys(preds.unimodal), cfg.seed, { gaps: cfg.diagnoseGaps });
  return { split, epoch, gmm: d.gmm, samples: d.rows.map((r) => ({ ...r, corrupted: r.corrupted === 1 })) };
}

/**
 * Purifies a finished run in place with `config`: its best main-stage model is fine-tuned on the
 * kept samples; earlier purification epochs (if any) are replaced; summary.json is rewritten.
 */
export async function purifyRun(outDir: string, config: Partial<PurifyConfig>, hooks: RunHooks = {}): Promise<RunSummary> {
  if (!existsSync(join(outDir, 'summary.json'))) {
    throw new ConfigError(`${outDir} has no summary.json: the run has not finished; finish it with \`mmgap train\` (same flags) first`);
  }
  const stored = readStoredConfig(outDir);
  // Validated (defaults filled) by the run's own config resolution.
  const cfg = resolveConfig({ ...runConfig(stored), purify: config }, METHODS);
  const dir = new RunDir(outDir);
  // Purification restarts from the end of the train stage: the last checkpoint is rewound to it,
  // without the earlier fine-tuning's method and stage state (the train stage is finished, so
  // nothing of its own method state is needed either).
  const last = dir.loadCheckpoint<CheckpointMeta>('last');
  if (!last) throw new ConfigError(`${outDir} has no checkpoints/last.safetensors; train it again with --no-resume`);
  if (last.meta.stage !== 'train') {
    const { finetune: _dropped, ...best } = last.meta.best;
    const kept = new Map([...last.tensors].filter(([k]) => !k.startsWith('method.') && !k.startsWith('stage.')));
    // The train stage's epochs, as the run resolved them (config epochs 0 = auto depends on the data).
    const trained = last.meta.history.filter((m) => m.stage !== 'finetune').length;
    dir.saveCheckpoint('last', kept, { ...last.meta, stage: 'train', epochsDone: trained, best, method: {}, stageData: {},
      history: last.meta.history.slice(0, trained) } satisfies CheckpointMeta);
  }
  dir.writeText('config.json', JSON.stringify({ ...stored, purify: cfg.purify }, null, 2) + '\n');
  return trainRun(cfg, { outDir, resume: true, ...hooks });
}
