/**
 * The run configuration, each field declared once (src/settings.ts): its default, range and help
 * feed the library's validation, the CLI's flags and --help, and config files alike. Engine-free:
 * the CLI validates before libtorch starts; the methods come in as an argument.
 */
import { absoluteEncoderPaths, ENCODERS, FUSIONS, parseEncoderChoice } from '../models/kinds.js';
import { ROLES } from '../methods/roles.js';
import { findMethod, type MethodFactory } from '../methods/method.js';
import { defaultsOf, resolveSettings, SettingError, settings, type Values } from '../settings.js';

/** A wrong config value (or run directory): `key` names the field ("purify.tau" for a purification field). */
export class ConfigError extends Error {
  constructor(message: string, readonly key: string | null = null) {
    super(message);
  }
}

/** `epochs: 0` (auto) trains at least this many epochs (the budget of every table in docs/RESULTS.md §1 before auto). */
export const AUTO_MIN_EPOCHS = 15;
/**
 * The fewest optimizer steps under `epochs: 0`: the steps of the 15-epoch protocol on a full-size
 * avdigits fold (1,500 clips, 24 batches of 64), so a small training set gets as many steps as a
 * full one instead of as many epochs. Chosen on validation against 15 epochs for all (docs/METHOD.md §7).
 */
const MIN_STEPS_DEFAULT = 360;

export const RUN_SETTINGS = settings({
  data: { type: 'string', default: 'avdigits', help: 'dataset: avdigits | avdigits:FSDD_DIR | cremad:PATH | ave:PATH | ks:PATH | folder:PATH' },
  dataOptions: { type: 'record', default: {}, help: 'dataset options, e.g. regime=corrupt or fold=2 for avdigits (docs/DATA.md)' },
  method: { type: 'string', default: ROLES.default, help: 'training method (`mmgap methods` lists them)' },
  methodOptions: { type: 'record', default: {}, help: 'options of the method (`mmgap methods` lists them)' },
  perMethodOptions: { type: 'record', default: {}, help: 'options by method name ({method: {option: value}}): the run\'s method takes its entry beneath methodOptions (the presets in configs/ set the peers\' published values)' },
  encoder: {
    type: 'string', default: 'auto', check: (v) => { const c = parseEncoderChoice(v); return typeof c === 'string' ? c : null; },
    help: `encoders: auto (by kind: mlp for vectors, seq-cnn for sequences, small-cnn for images and frames), one of ${ENCODERS.join(', ')} for every modality, or per modality, e.g. audio=seq-cnn,visual=resnet18; frames in order: an image encoder per frame then a sequence encoder over them, e.g. visual=small-cnn+gru; torchscript:PATH trains a PyTorch encoder saved with torch.jit.save (forward: the batch [N, ...shape], and lengths [N] for sequences and frames if it takes them, to features [N, D])`,
  },
  normalize: { type: 'choice', choices: ['auto', 'off', 'on'], default: 'auto', help: 'standardise each feature with mean/std fitted on the training split (recorded in config.json): auto = for stored arrays (.npy), on = every modality, off = none' },
  fusion: { type: 'choice', choices: FUSIONS, default: 'concat', help: 'fusion: concat, sum (per-modality heads), film, gated, cosine (MMCosine\'s normalised heads) or mmtm (Greedy\'s cross-modal excitation)' },
  width: { type: 'number', integer: true, min: 1, max: 1024, default: 16, help: 'channels of the small CNN\'s first stage' },
  epochs: {
    type: 'number', integer: true, min: 0, max: 100000, default: 0,
    help: `total epochs, warm-up included; 0 (auto): ${AUTO_MIN_EPOCHS}, or more where a small training set would take fewer than minSteps optimizer steps in ${AUTO_MIN_EPOCHS} epochs`,
  },
  minSteps: { type: 'number', integer: true, min: 0, max: 1e9, default: MIN_STEPS_DEFAULT, help: `epochs 0 (auto): the fewest optimizer steps of training, epochs = max(${AUTO_MIN_EPOCHS}, ceil(minSteps / batches per epoch)); ignored when epochs is given` },
  warmup: { type: 'number', integer: true, min: 0, max: 100000, default: 3, help: 'epochs of plain fused cross-entropy before methods that use the shared warm-up (gmm-adaptive); others ignore it' },
  batchSize: { type: 'number', integer: true, min: 1, max: 1 << 20, default: 64, help: 'batch size' },
  optimizer: { type: 'choice', choices: ['sgd', 'adam', 'adamw'], default: 'adam', help: 'optimizer' },
  lr: { type: 'number', min: 0, exclusiveMin: true, max: 100, default: 1e-3, help: 'learning rate' },
  momentum: { type: 'number', min: 0, max: 1, exclusiveMax: true, default: 0.9, help: 'SGD momentum' },
  weightDecay: { type: 'number', min: 0, max: 10, default: 1e-4, help: 'weight decay' },
  schedule: { type: 'choice', choices: ['none', 'step', 'cosine'], default: 'cosine', help: 'learning-rate schedule' },
  stepSize: { type: 'number', integer: true, min: 1, max: 100000, default: 10, help: 'step schedule: epochs per decay' },
  stepGamma: { type: 'number', min: 0, exclusiveMin: true, max: 1, default: 0.1, help: 'step schedule: decay factor' },
  seed: { type: 'number', integer: true, min: 0, max: 2 ** 31 - 1, default: 0, help: 'random seed' },
  device: { type: 'string', default: 'cpu', help: 'libtorch device: cpu, cuda or cuda:N' },
  threads: { type: 'number', integer: true, min: 0, max: 1024, default: 0, help: 'libtorch threads, 0 = all cores' },
  workers: {
    type: 'number', integer: true, min: -1, max: 256, default: -1,
    help: 'data loader worker threads: -1 = auto (the cores less one, left to the trainer, when features are computed every epoch: augmented frames of cremad/ave/ks/folder; none for avdigits, whose features are computed once and kept in memory), 0 = the main thread',
  },
  skipBadSamples: { type: 'boolean', default: false, help: 'skip unreadable or malformed samples (counted and reported) instead of stopping' },
  diagnose: { type: 'choice', choices: ['every-epoch', 'selected'], default: 'every-epoch', help: 'training-set gap diagnostics (GMM, AUROC, gaps CSV) after every epoch, or only for the selected model (one eval pass over the training set less per epoch for methods that do not use it)' },
  diagnoseGaps: { type: 'choice', choices: ['per-class', 'raw'], default: 'per-class', help: 'what the diagnostics\' GMM is fitted on (imbalanced share, AUROC, gamma in the gaps CSV, `mmgap diagnose`): per-class = each gap standardised within its true class (minus the class mean, over the class std), so a class that both modalities find easy or hard is no subgroup of its own; raw = the gaps as they are (the diagnostics before 2026-12-07). Purification keeps its own GMM on the raw gaps' },
  precision: { type: 'choice', choices: ['fp32', 'bf16', 'fp16'], default: 'fp32', help: 'training and evaluation precision: fp32, or autocast to bf16 (CPUs with AVX512, faster than fp32 only with AVX512-BF16; GPUs of compute capability 8+) or fp16 (CUDA, with dynamic loss scaling); weights, checkpoints, losses and gaps stay fp32' },
  gapSource: { type: 'choice', choices: ['eval-pass', 'train-pass'], default: 'eval-pass', help: 'where the per-epoch training gaps come from: an eval-mode pass over the training set, or the epoch\'s own training forward passes (no extra pass; train-mode outputs of weights that change during the epoch; an epoch that does not visit every sample once falls back to the eval pass)' },
  tensorboard: { type: 'string', default: 'off', help: 'write each epoch\'s scalars (losses, accuracies per head, gap mean and spread, imbalanced share, GMM BICs, learning rate) as TensorBoard event files in DIR/<run directory name>, e.g. --tensorboard runs beside metrics.jsonl of --out runs/NAME; then tensorboard --logdir DIR. off: none (a directory named off: ./off)' },
  syncBatchNorm: { type: 'boolean', default: false, help: 'data-parallel runs (--nproc, torchrun): BatchNorm statistics over the global batch of all ranks (SyncBatchNorm: N ranks then train as one process on the whole batch); off: each rank\'s own batchSize / N samples, as PyTorch DDP. No effect in one process' },
});

/**
 * Purification (docs/METHOD.md §6): after training, a GMM on the trained model's training gaps decides
 * which samples the model is fine-tuned on. Defaults: of the variants tried on validation
 * (`npm run bench:tune -- --purify-of ...`, docs/RESULTS.md §1.3), none beat these beyond noise.
 */
export const PURIFY_SETTINGS = settings({
  keep: { type: 'choice', choices: ['tau', 'mixture', 'soft'], default: 'tau', help: 'tau: samples with gamma < tau; mixture: the lowest-gamma share given by the balanced component\'s weight; soft: each epoch a fresh draw keeping sample i with probability 1 - gamma_i' },
  tau: { type: 'number', min: 0, exclusiveMin: true, max: 1, default: 0.5, help: 'keep: tau, keep samples with imbalance posterior gamma < tau' },
  gmmOn: { type: 'choice', choices: ['signed', 'absolute'], default: 'signed', help: 'fit the GMM on the signed gaps or on their absolute values' },
  epochs: { type: 'number', integer: true, min: 1, max: 100000, default: 3, help: 'fine-tuning epochs' },
  lrFactor: { type: 'number', min: 0, exclusiveMin: true, max: 100, default: 0.1, help: 'fine-tuning learning rate = lr x lrFactor' },
  params: { type: 'choice', choices: ['all', 'head'], default: 'all', help: 'parameters fine-tuned: all, or the fusion head only (encoders frozen)' },
  loss: { type: 'choice', choices: ['ce', 'method'], default: 'ce', help: 'fine-tuning loss: plain fused cross-entropy, or the run\'s own method' },
  decide: { type: 'choice', choices: ['validation', 'always'], default: 'validation', help: 'validation: keep the purified model only when the lower bound of the 95 % paired bootstrap interval of its validation-accuracy gain over the model before purification is above -margin, else the run ends with the model before it; always: keep it' },
  margin: { type: 'number', min: 0, max: 1, default: 0, help: 'decide validation: the loss of validation accuracy (a fraction) the lower bound may show; 0: only a gain whose interval excludes 0 is kept' },
  maxDrop: { type: 'number', min: 0, max: 1, default: 0.3, help: 'largest share of the training samples purification may remove: beyond it, the lowest-gamma 1 - maxDrop share is kept (keep soft: the keep probabilities are raised to match)' },
});

export type PurifyConfig = Values<typeof PURIFY_SETTINGS>;
export type RunConfig = Values<typeof RUN_SETTINGS> & {
  /** Purification after training, or null. */
  purify: PurifyConfig | null;
};

/** Defaults of every RunConfig field: what `mmgap train` uses when neither a config file nor a flag sets it. */
export const DEFAULT_CONFIG: Readonly<RunConfig> = { ...defaultsOf(RUN_SETTINGS), purify: null };
/** Purification settings when only `purify: true` (or part of them) is given. */
export const PURIFY_DEFAULTS: Readonly<PurifyConfig> = defaultsOf(PURIFY_SETTINGS);

/** What a config may say about purification: the settings (any subset), true (defaults), or false/null (none). */
export type PurifyInput = Partial<PurifyConfig> | boolean | null;
export type ConfigInput = Partial<Omit<RunConfig, 'purify'>> & { purify?: PurifyInput };

/** Runs `f`, turning a SettingError into a ConfigError whose key is `key`, else `prefix` + the setting's own key. */
function wrap<T>(key: string | null, f: () => T, prefix = ''): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SettingError) throw new ConfigError(e.message, key ?? (e.key === null ? null : prefix + e.key));
    throw e;
  }
}

/**
 * Fills defaults for missing fields and validates everything, the method's options included:
 * the one validation of a run config, for the library and the CLI alike.
 */
export function resolveConfig(input: ConfigInput, methods: readonly MethodFactory[]): RunConfig {
  const { purify, ...rest } = input;
  const values = wrap(null, () => resolveSettings('config', RUN_SETTINGS, rest, 'field'));
  let p: PurifyConfig | null = null;
  if (purify === true || (typeof purify === 'object' && purify !== null)) {
    p = wrap(null, () => resolveSettings('config: purify', PURIFY_SETTINGS, purify === true ? {} : purify, 'field'), 'purify.');
  } else if (purify !== undefined && purify !== null && purify !== false) {
    throw new ConfigError(`config: purify must be an object of ${Object.keys(PURIFY_SETTINGS).join(', ')}, true or null, got ${JSON.stringify(purify)}`, 'purify');
  }
  const cfg: RunConfig = { ...values, encoder: absoluteEncoderPaths(values.encoder), purify: p };
  const factory = wrap(null, () => findMethod(cfg.method, methods, 'config'));
  // Auto epochs are at least AUTO_MIN_EPOCHS whatever the data: check against that floor.
  const epochs = cfg.epochs || AUTO_MIN_EPOCHS;
  if (factory.sharedWarmup && cfg.warmup >= epochs) {
    throw new ConfigError(`config: warmup (${cfg.warmup}) must leave at least one epoch of ${cfg.method} (warmup < epochs = ${epochs}${cfg.epochs ? '' : ', the least of auto epochs'})`, 'warmup');
  }
  // A method defined on a fusion of its own (MMCosine's cosine heads) trains with it: the default
  // fusion (which the presets also name) gives way; another one is an error.
  if (factory.fusion && cfg.fusion !== factory.fusion) {
    if (cfg.fusion !== RUN_SETTINGS.fusion.default) throw new ConfigError(`config: method ${cfg.method} is defined on the ${factory.fusion} fusion, not ${cfg.fusion}; leave fusion at its default or set it to ${factory.fusion}`, 'fusion');
    cfg.fusion = factory.fusion;
  }
  // Every entry is checked (a typo in another method's entry of a preset is still a typo), then the
  // run's own entry is folded into methodOptions: the stored config records what the run used, and
  // other methods' entries cannot block resuming it.
  for (const [name, options] of Object.entries(cfg.perMethodOptions)) {
    const f = methods.find((m) => m.name === name);
    if (!f) throw new ConfigError(`config: perMethodOptions names an unknown method "${name}" (known: ${methods.map((m) => m.name).join(', ')})`, 'perMethodOptions');
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new ConfigError(`config: perMethodOptions.${name} must be an object of ${name}'s options, got ${JSON.stringify(options)}`, 'perMethodOptions');
    }
    wrap('perMethodOptions', () => f.resolve(options as Record<string, unknown>));
  }
  const own = cfg.perMethodOptions[cfg.method] as Record<string, unknown> | undefined;
  cfg.methodOptions = wrap('methodOptions', () => factory.resolve({ ...own, ...cfg.methodOptions }));
  cfg.perMethodOptions = {};
  return cfg;
}

/**
 * Fields that may differ between a run and its resumption: they set speed or extra output, not the
 * experiment (threads can change the rounding of parallel reductions, nothing more).
 */
const RESUMABLE_DIFFERENCES = new Set(['workers', 'threads', 'tensorboard']);

/** The fields in which a stored config `a` differs from `b` in a way that forbids resuming one as the other. */
export function resumeConflicts(a: RunConfig, b: RunConfig): string[] {
  return (Object.keys(b) as (keyof RunConfig)[]).filter((k) => !RESUMABLE_DIFFERENCES.has(k) && canonical(a[k]) !== canonical(b[k]));
}

/** JSON with every object's keys sorted: a stored config read back compares equal whatever order its options were written in. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0)))
    : x));
}

/**
 * The epochs a run trains: `epochs` when given, else (0, auto) AUTO_MIN_EPOCHS or as many more as
 * `minSteps` optimizer steps take at `batchSize` on `trainSize` training samples. Small training
 * sets are otherwise under-trained at a fixed epoch count: 15 epochs of 450 clips are 120 steps,
 * of 1,500 clips 360 (docs/METHOD.md §7).
 */
export function trainingEpochs(cfg: Pick<RunConfig, 'epochs' | 'minSteps' | 'batchSize'>, trainSize: number): number {
  if (cfg.epochs > 0) return cfg.epochs;
  const batches = Math.max(1, Math.ceil(trainSize / cfg.batchSize));
  return Math.max(AUTO_MIN_EPOCHS, Math.ceil(cfg.minSteps / batches));
}

/** How a config's epochs read in help and reports: the number, or what auto means. */
export function epochsLabel(cfg: Pick<RunConfig, 'epochs' | 'minSteps'>): string {
  return cfg.epochs > 0 ? `${cfg.epochs} epochs` : `auto epochs (${AUTO_MIN_EPOCHS}, or more for at least ${cfg.minSteps} steps)`;
}
