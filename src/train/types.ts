/**
 * What a run is configured by and what it writes. The run directory:
 *
 *   config.json              the resolved RunConfig (+ mmgap and libtorch versions)
 *   metrics.jsonl            one EpochMetrics line per finished epoch (appended atomically)
 *   gaps/epoch-N.csv         per training sample after epoch N (1-based): id,label,gap,gamma,dominant,corrupted,
 *                            pred,pred_<modality>... (predicted classes; runs before them lack these columns)
 *   gaps/purification.csv    the same for purification's GMM, plus keep (probability of being fine-tuned on; 0 = removed)
 *   checkpoints/last.safetensors      model + optimizer + method state after the last finished epoch
 *   checkpoints/best.safetensors      the main-stage epoch with the best validation accuracy
 *   checkpoints/purified.safetensors  the best purification fine-tuning epoch (with purification)
 *   predictions/test.csv     per test sample: id, label, fused and per-modality predictions (the selected model)
 *   predictions/test-purified.csv     the same for the purified model
 *   summary.json             the RunSummary, written when the run ends
 *   report.html              the diagnostic report (src/report)
 *   run.log                  the log lines
 */
export type { RunConfig, PurifyConfig } from './config.js';
import type { PurifyConfig } from './config.js';
import type { ProcessGroup } from '../torch/distributed.js';
import type { EpochMemory } from './memory.js';

export const RUN_FORMAT_VERSION = 2;

export interface Scores {
  /** Accuracy in [0, 1]. */
  acc: number;
  /** Macro-F1 in [0, 1]. */
  f1: number;
}

export interface SplitScores extends Scores {
  modality: Record<string, Scores>;
}

export interface GmmDiagnostics {
  /** Fitted on 'signed' gaps d_i or on their absolute values. */
  on: 'signed' | 'absolute';
  /**
   * True when the fit was on the gaps standardised within each true class (diagnoseGaps
   * 'per-class'): means and variances are then in those standard units, not on the gaps' axis.
   * Absent in runs before 2026-12-07 (raw gaps).
   */
  perClass?: boolean;
  means: number[];
  variances: number[];
  weights: number[];
  /** Index of the balanced component (mean nearest 0). */
  balanced: number;
  bic1: number;
  bic2: number;
  /** False when the 1-component fit has the lower BIC (then every gamma is 0). */
  imbalanced: boolean;
  /** Share of training samples with gamma > 0.5. */
  shareImbalanced: number;
  /** AUROC of gamma against the corruption flags (null without ground truth). */
  auroc: number | null;
}

export interface EpochMetrics {
  /** 1-based epoch number (purification fine-tuning continues the count). */
  epoch: number;
  stage: 'warmup' | 'main' | 'finetune';
  lr: number;
  train: { loss: number; acc: number; logs: Record<string, number> };
  val: SplitScores;
  /** Training-set gaps after this epoch: mean, std and a histogram on [-1, 1] (null when the run diagnoses only its selected epoch). */
  gap: { mean: number; std: number; hist: { edges: number[]; counts: number[] } } | null;
  gmm: GmmDiagnostics | null;
  /** Method-specific diagnostics (endEpoch). */
  method: Record<string, unknown>;
  seconds: number;
  /** Of `seconds`, those spent on training-set gap passes (eval predictions, GMM, gaps CSV); absent in runs before it was measured. */
  gapSeconds?: number;
  /**
   * The training loop's wait for the loader's next batch (this process's, in a data-parallel run):
   * seconds in all, the steps, and the loop's seconds (waits included); absent in runs before it was measured.
   */
  data?: { waitSeconds: number; steps: number; loopSeconds: number };
  /** fp16: the loss scale after the epoch, the optimizer steps the scaler skipped, and of those, the steps whose loss was non-finite (not only their gradients). */
  amp?: { lossScale: number; skippedSteps: number; nonFiniteLosses: number };
  /** Tensor memory (the caching CPU allocator's bytes, peaks within the epoch) and resident size; absent in runs before it was measured. */
  memory?: EpochMemory;
}

export interface PurificationSummary {
  /** The purification settings it ran with. */
  config: PurifyConfig;
  /** Training samples fine-tuned on (the expected number per epoch under keep 'soft'), and its share of the split. */
  keptFraction: number;
  kept: number;
  total: number;
  /** Share of the removed samples that carry a corruption flag (null without ground truth). */
  removedCorruptedShare: number | null;
  /** Test scores of the model purification starts from, and of the best fine-tuning epoch (chosen on val). */
  before: SplitScores;
  after: SplitScores;
  beforeVal: SplitScores;
  afterVal: SplitScores;
  /** The fine-tuning epoch (1-based, continuing the run's count) chosen on validation. */
  selectedEpoch: number;
  /**
   * Whether the purified model was kept (purify.ts, purifyDecision): its validation accuracy
   * gain over the model before purification with the 95 % paired bootstrap interval, and its
   * validation accuracy. When not kept, `after` and `afterVal` are the model before purification's.
   * Absent in runs purified before the decision existed (their purified model was always kept).
   */
  decision?: { kept: boolean; diff: number; lo: number; hi: number; n: number; purifiedVal: number };
}

export interface RunSummary {
  formatVersion: number;
  mmgapVersion: string;
  method: string;
  data: string;
  seed: number;
  /** Epochs of the train stage (config epochs, or what auto resolved to; absent in runs before auto). */
  epochs?: number;
  /** Epoch (1-based) chosen on validation accuracy; test is evaluated only for it. */
  bestEpoch: number;
  val: SplitScores;
  test: SplitScores;
  /** Row = true class, column = predicted (test split, fused output). */
  confusion: number[][];
  classes: string[];
  /** AUROC of the final gamma against the corruption flags (training split), or null. */
  auroc: number | null;
  purification: PurificationSummary | null;
  /** Bad samples skipped under skipBadSamples (listed in run.log). */
  skippedSamples: number;
  wallSeconds: number;
  outDir: string;
}

/** Progress of a run, for progress bars and logs (the CLI renders them; the library stays silent). */
export type TrainEvent =
  | { kind: 'log'; line: string }
  | { kind: 'phase'; phase: 'loading' | 'caching' | 'training' | 'purifying' | 'testing'; total?: number }
  | { kind: 'step'; epoch: number; epochs: number; stage: EpochMetrics['stage']; step: number; steps: number; loss: number }
  | { kind: 'epoch'; metrics: EpochMetrics; epochs: number }
  | { kind: 'resumed'; fromEpoch: number };

export interface RunOptions {
  /** The run directory (created if missing). */
  outDir: string;
  /** Continue from the directory's last checkpoint when it holds one for the same config (default true). */
  resume?: boolean;
  /** Aborting stops the run cleanly after writing a checkpoint of the last finished epoch. */
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
  /** This process's group in a data-parallel job (src/torch/distributed.ts); absent or of one rank: it trains alone. */
  group?: ProcessGroup;
}
