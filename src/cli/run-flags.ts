/**
 * The run flags, derived from the settings' declarations (src/train/config.ts): one flag per
 * RunConfig field and per purification field, with the declaration's help, range and default.
 * Flags only parse text into values; the one validation (resolveConfig) checks them, so a value
 * is rejected with the same message whether it comes from a flag, a config file or a library call.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { accepts, formatValue, parseSettingValue, type Setting } from '../settings.js';
import { PURIFY_SETTINGS, RUN_SETTINGS, type PurifyConfig, type RunConfig, type ConfigInput } from '../train/config.js';
import { collectKeyValue } from './key-value.js';

type RunKey = keyof typeof RUN_SETTINGS;
type PurifyKey = keyof typeof PURIFY_SETTINGS;

/** Where each field's flag shows in --help. */
const GROUP_OF: Record<RunKey, 'Data:' | 'Method and model:' | 'Optimisation:' | 'Run:'> = {
  data: 'Data:', dataOptions: 'Data:', skipBadSamples: 'Data:', normalize: 'Data:',
  method: 'Method and model:', methodOptions: 'Method and model:', perMethodOptions: 'Method and model:', encoder: 'Method and model:', fusion: 'Method and model:', width: 'Method and model:',
  epochs: 'Optimisation:', minSteps: 'Optimisation:', warmup: 'Optimisation:', batchSize: 'Optimisation:', optimizer: 'Optimisation:', lr: 'Optimisation:', momentum: 'Optimisation:',
  weightDecay: 'Optimisation:', schedule: 'Optimisation:', stepSize: 'Optimisation:', stepGamma: 'Optimisation:',
  seed: 'Run:', device: 'Run:', threads: 'Run:', workers: 'Run:', diagnose: 'Run:', diagnoseGaps: 'Run:', precision: 'Run:', gapSource: 'Run:', syncBatchNorm: 'Run:', tensorboard: 'Run:',
};
const PURIFY_GROUP = 'Purification (fine-tune on the GMM-balanced subset after training):';

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (flag: string): string => flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The flag that sets a RunConfig field ("purify.tau" for a purification field). */
export function flagOf(key: string): string {
  if (key === 'dataOptions') return '--data-opt';
  if (key === 'methodOptions') return '--method-opt';
  if (key.startsWith('purify.')) return `--purify-${kebab(key.slice('purify.'.length))}`;
  return `--${kebab(key)}`;
}

/** What commander hands back: values by camelCased flag name, undefined when not given. */
export type RunFlagValues = Record<string, unknown> & { config?: string; purify?: boolean };

/** The flag of one declared setting: its help, what it accepts and its default; the text is parsed, validated later. */
export function option(flag: string, s: Setting, group: string): Option {
  const dflt = s.type === 'record' ? '' : `, default ${formatValue(s.default)}`;
  switch (s.type) {
    case 'boolean':
      return new Option(flag, s.help).helpGroup(group);
    case 'record':
      return new Option(`${flag} <key=value>`, `${s.help}; repeatable (values parsed as JSON when possible)`).helpGroup(group).argParser(collectKeyValue);
    case 'choice':
      return new Option(`${flag} <name>`, `${s.help} (${s.choices.join(' | ')}${dflt})`).helpGroup(group).argParser((t) => parseSettingValue(s, t));
    default:
      return new Option(`${flag} <${s.type === 'number' ? 'n' : 'value'}>`, `${s.help} (${accepts(s)}${dflt})`).helpGroup(group).argParser((t) => parseSettingValue(s, t));
  }
}

/** The purification flags (train, bench, demo and `mmgap purify`). */
export function addPurifyFlags(cmd: Command, withSwitch: boolean): Command {
  if (withSwitch) {
    cmd.addOption(new Option('--purify', 'purify after training (the purification settings below, defaults unless set)').helpGroup(PURIFY_GROUP));
    cmd.addOption(new Option('--no-purify', 'no purification (overrides a config file)').helpGroup(PURIFY_GROUP));
  }
  for (const [k, s] of Object.entries(PURIFY_SETTINGS)) cmd.addOption(option(flagOf(`purify.${k}`), s, PURIFY_GROUP));
  return cmd;
}

/**
 * Adds the RunConfig flags and --config to a command. `method` false for commands that pick the
 * methods themselves; `methodOpt` false where method options make no sense (the demo).
 */
export function addRunFlags(cmd: Command, { method, methodOpt }: { method: boolean; methodOpt: boolean }): Command {
  for (const [k, s] of Object.entries(RUN_SETTINGS) as [RunKey, Setting][]) {
    if ((k === 'method' && !method) || (k === 'methodOptions' && !methodOpt)) continue;
    cmd.addOption(option(flagOf(k), s, GROUP_OF[k]));
  }
  addPurifyFlags(cmd, true);
  // The command's own options (--out, --json, ...) follow in the Run group.
  return cmd.optionsGroup('Run:').addOption(new Option('--config <file>', 'YAML or JSON file of RunConfig fields; flags override it').helpGroup('Run:'));
}

/** The config fields the flags set (undefined fields are left to the config file and the defaults). */
export function flagsToConfig(f: RunFlagValues): Partial<Omit<RunConfig, 'purify'>> {
  return Object.fromEntries(Object.keys(RUN_SETTINGS).map((k) => [k, f[camel(flagOf(k))]]).filter(([, v]) => v !== undefined));
}

/** Purification fields given as flags. */
export function purifyFlags(f: RunFlagValues): Partial<PurifyConfig> {
  return Object.fromEntries((Object.keys(PURIFY_SETTINGS) as PurifyKey[]).map((k) => [k, f[camel(flagOf(`purify.${k}`))]]).filter(([, v]) => v !== undefined));
}

/** The flags as a config layer: --no-purify wins over purify-* values, which turn purification on. */
export function flagLayer(f: RunFlagValues): ConfigInput {
  const p = purifyFlags(f);
  const purify = f.purify === false ? false : Object.keys(p).length > 0 ? p : f.purify;
  return { ...flagsToConfig(f), ...(purify !== undefined && { purify }) };
}

/** An integer flag of a command's own (not a RunConfig field), checked at parse time. */
export function intArg(min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}
