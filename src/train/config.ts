/** Resolves and validates a RunConfig: every wrong value gets an error naming the field and what it accepts. */
import { DEFAULT_CONFIG, PURIFY_DEFAULTS, type PurifyConfig, type RunConfig } from './types.js';
import { ENCODERS } from '../models/classifier.js';
import { FUSIONS } from '../models/fusion.js';
import { getMethod } from '../methods/registry.js';

export class ConfigError extends Error {}


function num(cfg: Record<string, unknown>, key: string, min: number, max = Infinity, integer = false): void {
  const v = cfg[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    const what = integer ? 'an integer' : 'a number';
    throw new ConfigError(`config: ${key} must be ${what} in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
}

function oneOf(cfg: Record<string, unknown>, key: string, choices: readonly string[]): void {
  if (typeof cfg[key] !== 'string' || !choices.includes(cfg[key] as string)) {
    throw new ConfigError(`config: ${key} must be one of ${choices.join(', ')}, got ${JSON.stringify(cfg[key])}`);
  }
}

/** Fills defaults for missing fields and validates everything (including the method's options). */
export function resolveConfig(partial: Partial<RunConfig> & { purify?: Partial<PurifyConfig> | null | boolean }): RunConfig {
  for (const k of Object.keys(partial)) {
    if (!(k in DEFAULT_CONFIG)) throw new ConfigError(`config: unknown field "${k}" (known: ${Object.keys(DEFAULT_CONFIG).join(', ')})`);
  }
  const { purify, ...rest } = partial;
  const cfg = { ...DEFAULT_CONFIG, ...rest } as RunConfig;
  const c = cfg as unknown as Record<string, unknown>;
  if (typeof cfg.data !== 'string' || cfg.data === '') throw new ConfigError('config: data must be a dataset spec such as avdigits or cremad:PATH');
  for (const k of ['dataOptions', 'methodOptions'] as const) {
    if (typeof cfg[k] !== 'object' || cfg[k] === null || Array.isArray(cfg[k])) throw new ConfigError(`config: ${k} must be an object`);
  }
  oneOf(c, 'encoder', ENCODERS);
  oneOf(c, 'fusion', FUSIONS);
  oneOf(c, 'optimizer', ['sgd', 'adam', 'adamw']);
  oneOf(c, 'schedule', ['none', 'step', 'cosine']);
  num(c, 'width', 1, 1024, true);
  num(c, 'epochs', 1, 100000, true);
  num(c, 'warmup', 0, cfg.epochs, true);
  num(c, 'batchSize', 1, 1 << 20, true);
  num(c, 'lr', 0, 100);
  num(c, 'momentum', 0, 1);
  num(c, 'weightDecay', 0, 10);
  num(c, 'stepSize', 1, 100000, true);
  num(c, 'gamma', 0, 1);
  num(c, 'seed', 0, 2 ** 31 - 1, true);
  num(c, 'threads', 0, 1024, true);
  num(c, 'workers', 0, 256, true);
  if (typeof cfg.device !== 'string') throw new ConfigError('config: device must be "cpu", "cuda" or "cuda:N"');
  if (typeof cfg.skipBadSamples !== 'boolean') throw new ConfigError('config: skipBadSamples must be true or false');
  if (purify === true || (purify && typeof purify === 'object')) {
    const p = { ...PURIFY_DEFAULTS, ...(purify === true ? {} : purify) } as PurifyConfig;
    const pc = p as unknown as Record<string, unknown>;
    for (const k of Object.keys(p)) if (!(k in PURIFY_DEFAULTS)) throw new ConfigError(`config: unknown purify field "${k}" (known: tau, epochs, lrFactor, loss)`);
    num(pc, 'tau', 0, 1);
    num(pc, 'epochs', 1, 100000, true);
    num(pc, 'lrFactor', 0, 100);
    oneOf(pc, 'loss', ['ce', 'adaptive']);
    cfg.purify = p;
  } else if (purify !== undefined && purify !== null && purify !== false) {
    throw new ConfigError(`config: purify must be an object {tau, epochs, lrFactor, loss}, true or null, got ${JSON.stringify(purify)}`);
  } else {
    cfg.purify = null;
  }
  let factory;
  try {
    factory = getMethod(cfg.method);
  } catch (e) {
    throw new ConfigError(`config: ${(e as Error).message}`);
  }
  try {
    factory.create(cfg.methodOptions);
  } catch (e) {
    throw new ConfigError(`config: ${(e as Error).message}`);
  }
  return cfg;
}

/** Fields that may differ between a run and its resumption (they do not change the result). */
const RESUMABLE_DIFFERENCES = new Set(['workers']);

/** The fields in which a stored config `a` differs from `b` in a way that forbids resuming one as the other. */
export function resumeConflicts(a: RunConfig, b: RunConfig): string[] {
  return (Object.keys(b) as (keyof RunConfig)[]).filter((k) => !RESUMABLE_DIFFERENCES.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}
