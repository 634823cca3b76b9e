/**
 * What the CLI needs from the trainer (src/train) and the method registry. Loaded lazily: libtorch
 * starts only for commands that train or evaluate, so --help and bad input answer at once, and
 * tests can hand in a fake.
 */
import type { Split } from '../data/types.js';
import type { MethodFactory } from '../methods/method.js';
import type { DiagnoseResult, EvalResult, RunHooks } from '../train/evaluate-run.js';
import type { PurifyConfig, RunConfig, RunOptions, RunSummary } from '../train/types.js';

export interface TrainerApi {
  trainRun(config: RunConfig, opts: RunOptions): Promise<RunSummary>;
  /** The run's selected (best) model on one split. */
  evaluateRun(outDir: string, split: Split, hooks?: RunHooks): Promise<EvalResult>;
  /** Per-sample gaps of the selected model on one split, the GMM fitted to them and the posteriors. */
  diagnoseRun(outDir: string, split: Split, hooks?: RunHooks): Promise<DiagnoseResult>;
  /** Purifies a finished run in place: fine-tunes its best model, appends the epochs, rewrites summary.json. */
  purifyRun(outDir: string, config: Partial<PurifyConfig>, hooks?: RunHooks): Promise<RunSummary>;
  methods: readonly MethodFactory[];
  /** The trainer's own config errors (e.g. resuming a directory with another config) are bad input too. */
  isConfigError(e: unknown): boolean;
}

export async function loadTrainer(): Promise<TrainerApi> {
  const [run, registry, config] = await Promise.all([import('../train/run.js'), import('../methods/registry.js'), import('../train/config.js')]);
  return {
    trainRun: run.trainRun,
    evaluateRun: run.evaluateRun,
    diagnoseRun: run.diagnoseRun,
    purifyRun: run.purifyRun,
    methods: registry.METHODS,
    isConfigError: (e) => e instanceof config.ConfigError,
  };
}
