/**
 * One flag per RunConfig field (plus the purification fields), shared by train, bench and demo.
 * Flags have no commander defaults, so "not given" stays undefined and a config file's value
 * survives; the defaults shown in --help are DEFAULT_CONFIG's.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { EncoderKind } from '../models/classifier.js';
import type { FusionKind } from '../models/fusion.js';
import { DEFAULT_CONFIG, PURIFY_DEFAULTS, type PurifyConfig, type RunConfig } from '../train/types.js';
import { collectKeyValue } from './key-value.js';

/** Encoders and fusions with a line of help each (a Record, so a new kind fails to compile until listed). */
export const ENCODER_HELP: Record<EncoderKind, string> = { 'small-cnn': 'small CNN (fast, CPU)', resnet18: 'ResNet18 (the peers\' encoder; frames need it)' };
export const FUSION_HELP: Record<FusionKind, string> = { concat: 'concatenation', sum: 'sum of per-modality heads', film: 'FiLM conditioning', gated: 'gated sum' };

/** Purification defaults when --purify (or a purify-* flag) turns it on. */

/** The flag that sets each config field: error messages name it. */
export const FLAG_OF: Record<keyof RunConfig, string> = {
  data: '--data', dataOptions: '--data-opt', method: '--method', methodOptions: '--method-opt', encoder: '--encoder', fusion: '--fusion',
  width: '--width', epochs: '--epochs', warmup: '--warmup', batchSize: '--batch-size', optimizer: '--optimizer', lr: '--lr',
  momentum: '--momentum', weightDecay: '--weight-decay', schedule: '--schedule', stepSize: '--step-size', gamma: '--step-gamma',
  seed: '--seed', device: '--device', threads: '--threads', workers: '--workers', purify: '--purify', skipBadSamples: '--skip-bad-samples',
};
export const PURIFY_FLAG_OF: Record<keyof PurifyConfig, string> = { tau: '--purify-tau', epochs: '--purify-epochs', lrFactor: '--purify-lr-factor', loss: '--purify-loss' };

/** What commander hands back for these flags (camelCased names, undefined when not given). */
export interface RunFlagValues {
  config?: string;
  data?: string;
  dataOpt?: Record<string, unknown>;
  method?: string;
  methodOpt?: Record<string, unknown>;
  encoder?: EncoderKind;
  fusion?: FusionKind;
  width?: number;
  epochs?: number;
  warmup?: number;
  batchSize?: number;
  optimizer?: RunConfig['optimizer'];
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  schedule?: RunConfig['schedule'];
  stepSize?: number;
  stepGamma?: number;
  seed?: number;
  device?: string;
  threads?: number;
  workers?: number;
  purify?: boolean;
  purifyTau?: number;
  purifyEpochs?: number;
  purifyLrFactor?: number;
  purifyLoss?: PurifyConfig['loss'];
  skipBadSamples?: boolean;
}

export function intArg(min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function numArg(test: (n: number) => boolean, what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !test(n)) throw new InvalidArgumentError(`expected ${what}`);
    return n;
  };
}

const positive = numArg((n) => n > 0, 'a number > 0');
const d = DEFAULT_CONFIG;

const describe = (r: Record<string, string>): string => Object.entries(r).map(([k, v]) => `${k} = ${v}`).join(', ');

function opt(flags: string, help: string, group: string): Option {
  return new Option(flags, help).helpGroup(group);
}

/** The purification flags (train, bench, demo and `mmgap purify`). */
export function addPurifyFlags(cmd: Command, withSwitch: boolean): Command {
  const g = 'Purification (fine-tune on the GMM-balanced subset after training):';
  if (withSwitch) {
    cmd.addOption(opt('--purify', `purify after training (tau ${PURIFY_DEFAULTS.tau}, ${PURIFY_DEFAULTS.epochs} epochs, lr x ${PURIFY_DEFAULTS.lrFactor}, ${PURIFY_DEFAULTS.loss} loss unless set)`, g));
    cmd.addOption(opt('--no-purify', 'no purification (overrides a config file)', g));
  }
  return cmd
    .addOption(opt('--purify-tau <tau>', `keep samples with gamma < tau (default ${PURIFY_DEFAULTS.tau})`, g).argParser(numArg((n) => n > 0 && n <= 1, 'a number in (0, 1]')))
    .addOption(opt('--purify-epochs <n>', `fine-tuning epochs (default ${PURIFY_DEFAULTS.epochs})`, g).argParser(intArg(1)))
    .addOption(opt('--purify-lr-factor <f>', `fine-tuning lr = lr x f (default ${PURIFY_DEFAULTS.lrFactor})`, g).argParser(positive))
    .addOption(opt('--purify-loss <loss>', `fine-tuning loss (default ${PURIFY_DEFAULTS.loss})`, g).choices(['ce', 'adaptive']));
}

/**
 * Adds the RunConfig flags and --config to a command. `method` false for commands that pick the
 * methods themselves; `methodOpt` false where method options make no sense (the demo).
 */
export function addRunFlags(cmd: Command, { method, methodOpt }: { method: boolean; methodOpt: boolean }): Command {
  const data = 'Data:';
  const model = 'Method and model:';
  const optim = 'Optimisation:';
  const run = 'Run:';
  cmd
    .addOption(opt('--data <spec>', `dataset: avdigits | avdigits:FSDD_DIR | cremad:PATH | ave:PATH | ks:PATH | folder:PATH (default ${d.data})`, data))
    .addOption(opt('--data-opt <key=value>', 'dataset option, repeatable (value parsed as JSON when possible), e.g. corruptFraction=0.3', data).argParser(collectKeyValue))
    .addOption(opt('--skip-bad-samples', 'skip unreadable or malformed samples (counted and reported) instead of stopping', data));
  if (method) cmd.addOption(opt('--method <name>', `training method (default ${d.method}; list them with \`mmgap methods\`)`, model));
  if (methodOpt) cmd.addOption(opt('--method-opt <key=value>', 'method option, repeatable (value parsed as JSON when possible), e.g. beta=1', model).argParser(collectKeyValue));
  cmd
    .addOption(opt('--encoder <kind>', `encoder: ${describe(ENCODER_HELP)} (default ${d.encoder})`, model).choices(Object.keys(ENCODER_HELP)))
    .addOption(opt('--fusion <kind>', `fusion: ${describe(FUSION_HELP)} (default ${d.fusion})`, model).choices(Object.keys(FUSION_HELP)))
    .addOption(opt('--width <n>', `width of the small CNN encoders (default ${d.width})`, model).argParser(intArg(1)))
    .addOption(opt('--epochs <n>', `total epochs, warm-up included (default ${d.epochs})`, optim).argParser(intArg(1)))
    .addOption(opt('--warmup <n>', `warm-up epochs of plain fused cross-entropy (default ${d.warmup})`, optim).argParser(intArg(0)))
    .addOption(opt('--batch-size <n>', `batch size (default ${d.batchSize})`, optim).argParser(intArg(1)))
    .addOption(opt('--optimizer <name>', `optimizer (default ${d.optimizer})`, optim).choices(['sgd', 'adam', 'adamw']))
    .addOption(opt('--lr <lr>', `learning rate (default ${d.lr})`, optim).argParser(positive))
    .addOption(opt('--momentum <m>', `SGD momentum (default ${d.momentum})`, optim).argParser(numArg((n) => n >= 0 && n < 1, 'a number in [0, 1)')))
    .addOption(opt('--weight-decay <w>', `weight decay (default ${d.weightDecay})`, optim).argParser(numArg((n) => n >= 0, 'a number >= 0')))
    .addOption(opt('--schedule <name>', `learning-rate schedule (default ${d.schedule})`, optim).choices(['none', 'step', 'cosine']))
    .addOption(opt('--step-size <n>', `step schedule: epochs per decay (default ${d.stepSize})`, optim).argParser(intArg(1)))
    .addOption(opt('--step-gamma <f>', `step schedule: decay factor (config field "gamma", default ${d.gamma})`, optim).argParser(positive));
  addPurifyFlags(cmd, true);
  // The command's own options (--out, --json, ...) follow in the same group.
  return cmd
    .optionsGroup(run)
    .addOption(opt('--config <file>', 'YAML or JSON file of RunConfig fields; flags override it', run))
    .addOption(opt('--seed <n>', `random seed (default ${d.seed})`, run).argParser(intArg(0)))
    .addOption(opt('--device <device>', `libtorch device, e.g. cpu, cuda, cuda:1 (default ${d.device})`, run))
    .addOption(opt('--threads <n>', `libtorch threads, 0 = all cores (default ${d.threads})`, run).argParser(intArg(0)))
    .addOption(opt('--workers <n>', `data loader worker threads, 0 = main thread (default ${d.workers})`, run).argParser(intArg(0)));
}

/** The config fields the flags set (undefined fields are left to the config file and the defaults). */
export function flagsToConfig(f: RunFlagValues): Partial<RunConfig> {
  const out: Partial<RunConfig> = {
    data: f.data, dataOptions: f.dataOpt, method: f.method, methodOptions: f.methodOpt, encoder: f.encoder, fusion: f.fusion, width: f.width,
    epochs: f.epochs, warmup: f.warmup, batchSize: f.batchSize, optimizer: f.optimizer, lr: f.lr, momentum: f.momentum, weightDecay: f.weightDecay,
    schedule: f.schedule, stepSize: f.stepSize, gamma: f.stepGamma, seed: f.seed, device: f.device, threads: f.threads, workers: f.workers,
    skipBadSamples: f.skipBadSamples,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<RunConfig>;
}

/** Purification fields given as flags. */
export function purifyFlags(f: RunFlagValues): Partial<PurifyConfig> {
  const out: Partial<PurifyConfig> = { tau: f.purifyTau, epochs: f.purifyEpochs, lrFactor: f.purifyLrFactor, loss: f.purifyLoss };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as Partial<PurifyConfig>;
}
