/** The effective RunConfig: defaults < command defaults (demo) < --config file < flags, validated by the library's resolveConfig. */
import type { MethodFactory } from '../methods/method.js';
import { ConfigError, resolveConfig, type ConfigInput, type PurifyInput, type RunConfig } from '../train/config.js';
import { loadConfigFile } from './config-file.js';
import { UsageError } from './errors.js';
import { flagLayer, flagOf, type RunFlagValues } from './run-flags.js';

function mergePurify(base: PurifyInput | undefined, layer: PurifyInput | undefined): PurifyInput | undefined {
  if (layer === undefined) return base;
  if (layer === false || layer === null) return null;
  const prev = typeof base === 'object' && base !== null ? base : {};
  return layer === true ? (base && base !== true ? base : true) : { ...prev, ...layer };
}

/** Per-method option sets merge method by method, then option by option. */
function mergePerMethod(base: Record<string, unknown> = {}, layer: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [name, opts] of Object.entries(layer)) {
    const prev = out[name];
    const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    out[name] = isRecord(prev) && isRecord(opts) ? { ...prev, ...opts } : opts;
  }
  return out;
}

/** Overlays one layer; option records merge key by key, so a flag can change one option of a file's set. */
function overlay(base: ConfigInput, layer: ConfigInput): ConfigInput {
  const { purify, dataOptions, methodOptions, perMethodOptions, ...rest } = layer;
  return {
    ...base,
    ...rest,
    ...((base.dataOptions || dataOptions) && { dataOptions: { ...base.dataOptions, ...dataOptions } }),
    ...((base.methodOptions || methodOptions) && { methodOptions: { ...base.methodOptions, ...methodOptions } }),
    ...((base.perMethodOptions || perMethodOptions) && { perMethodOptions: mergePerMethod(base.perMethodOptions, perMethodOptions) }),
    ...(mergePurify(base.purify, purify) !== undefined && { purify: mergePurify(base.purify, purify) }),
  };
}

/**
 * Resolves and validates the config of a command (the same validation as the library's
 * trainRun). `commandDefaults` sit between the declared defaults and the file.
 */
export function resolveRunConfig(flags: RunFlagValues, methods: readonly MethodFactory[], commandDefaults: ConfigInput = {}): RunConfig {
  let layers = commandDefaults;
  if (flags.config) layers = overlay(layers, loadConfigFile(flags.config));
  layers = overlay(layers, flagLayer(flags));
  try {
    return resolveConfig(layers, methods);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const fix = e.key ? `; change ${flagOf(e.key)}${flags.config ? ' or the config file' : ''}` : '';
    throw new UsageError(`invalid settings: ${e.message}${fix}${e.key === 'methodOptions' ? ' (see `mmgap methods`)' : ''}`);
  }
}
