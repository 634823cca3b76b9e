/**
 * What the CLI needs from the trainer (src/train) and the method registry. Loaded lazily: libtorch
 * starts only for commands that train or evaluate, so --help and bad input answer at once, and
 * tests can hand in a fake.
 */
import type { Split } from '../data/types.js';
import type { MethodFactory } from '../methods/method.js';
import type { GapRow } from '../report/gaps-csv.js';
import type { GmmDiagnostics, PurifyConfig, RunConfig, RunOptions, RunSummary, SplitScores } from '../train/types.js';

/** `evaluateRun`: the run's selected (best) model on one split. */
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
  samples: GapRow[];
}

/** Progress and cancellation of the run-directory commands (a RunOptions without outDir and resume). */
export type RunHooks = Pick<RunOptions, 'signal' | 'onEvent'>;

export interface TrainerApi {
  trainRun(config: RunConfig, opts: RunOptions): Promise<RunSummary>;
  evaluateRun(outDir: string, split: Split, hooks?: RunHooks): Promise<EvalResult>;
  diagnoseRun(outDir: string, split: Split, hooks?: RunHooks): Promise<DiagnoseResult>;
  /** Purifies a finished run in place: fine-tunes its best model, appends the epochs, rewrites summary.json. */
  purifyRun(outDir: string, config: Partial<PurifyConfig>, hooks?: RunHooks): Promise<RunSummary>;
  methods: readonly MethodFactory[];
  /** The trainer's own config errors (e.g. resuming a directory with another config) are bad input too. */
  isConfigError(e: unknown): boolean;
}

type RunDirFunctions = 'evaluateRun' | 'diagnoseRun' | 'purifyRun';

/** A stand-in until src/train/run.ts exports `name`: the command says what is missing instead of crashing. */
function missing(name: string): () => never {
  return () => {
    throw new Error(`this build of mmgap lacks ${name} (src/train/run.ts); update mmgap`);
  };
}

export async function loadTrainer(): Promise<TrainerApi> {
  const [run, registry, config] = await Promise.all([import('../train/run.js'), import('../methods/registry.js'), import('../train/config.js')]);
  const fns: Pick<TrainerApi, 'trainRun'> & Partial<Pick<TrainerApi, RunDirFunctions>> = run;
  return {
    trainRun: fns.trainRun,
    evaluateRun: fns.evaluateRun ?? missing('evaluateRun'),
    diagnoseRun: fns.diagnoseRun ?? missing('diagnoseRun'),
    purifyRun: fns.purifyRun ?? missing('purifyRun'),
    methods: registry.METHODS,
    isConfigError: (e) => e instanceof config.ConfigError,
  };
}
