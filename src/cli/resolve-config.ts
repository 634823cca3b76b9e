/** The effective RunConfig: DEFAULT_CONFIG < command defaults (demo) < --config file < flags, then validated. */
import { DEFAULT_CONFIG, type PurifyConfig, type RunConfig } from '../train/types.js';
import { loadConfigFile } from './config-file.js';
import { describeIssue, runConfigSchema, type ConfigFile } from './config-schema.js';
import { UsageError } from './errors.js';
import { FLAG_OF, flagsToConfig, purifyFlags, type RunFlagValues } from './run-flags.js';
import { PURIFY_DEFAULTS } from '../train/types.js';

function mergePurify(base: PurifyConfig | null, layer: ConfigFile['purify']): PurifyConfig | null {
  if (layer === undefined) return base;
  if (layer === false || layer === null) return null;
  if (layer === true) return base ?? PURIFY_DEFAULTS;
  return { ...(base ?? PURIFY_DEFAULTS), ...layer };
}

/** Overlays one layer; option records merge key by key, so a flag can change one option of a file's set. */
function overlay(base: RunConfig, layer: ConfigFile): RunConfig {
  const { purify, dataOptions, methodOptions, ...rest } = layer;
  return {
    ...base,
    ...rest,
    dataOptions: { ...base.dataOptions, ...dataOptions },
    methodOptions: { ...base.methodOptions, ...methodOptions },
    purify: mergePurify(base.purify, purify),
  };
}

/** The flags as a layer: --no-purify wins over purify-* values, which turn purification on. */
function flagLayer(f: RunFlagValues): ConfigFile {
  const p = purifyFlags(f);
  const purify = f.purify === false ? false : Object.keys(p).length > 0 ? p : f.purify;
  return { ...flagsToConfig(f), ...(purify !== undefined && { purify }) };
}

function validateRunConfig(config: RunConfig, fromFile: boolean): RunConfig {
  const r = runConfigSchema.safeParse(config);
  if (r.success) return r.data;
  const top = r.error.issues[0].path[0];
  const flag = typeof top === 'string' && top in FLAG_OF ? FLAG_OF[top as keyof RunConfig] : 'the flags';
  throw new UsageError(`invalid settings: ${describeIssue(r.error, config)}; change ${flag}${fromFile ? ' or the config file' : ''}`);
}

/** Resolves and validates the config of a command. `commandDefaults` sit between DEFAULT_CONFIG and the file. */
export function resolveRunConfig(flags: RunFlagValues, commandDefaults: ConfigFile = {}): RunConfig {
  let config = overlay(DEFAULT_CONFIG, commandDefaults);
  if (flags.config) config = overlay(config, loadConfigFile(flags.config));
  return validateRunConfig(overlay(config, flagLayer(flags)), flags.config !== undefined);
}
