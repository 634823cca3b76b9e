/** Reading `--config FILE` (YAML, or JSON, which is YAML too) into RunConfig fields, checked by the settings' own rules. */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse, YAMLParseError } from 'yaml';
import { resolveSettings, SettingError } from '../settings.js';
import { PURIFY_SETTINGS, RUN_SETTINGS, type ConfigInput } from '../train/config.js';
import { UsageError } from './errors.js';
import { flagOf } from './run-flags.js';
import { packageRoot } from '../package.js';

/**
 * The config file to read: `file` itself, or else the same relative path inside the installed
 * package, so that `--config configs/cremad.yaml` finds the shipped presets from any directory.
 */
function locate(file: string): string | null {
  if (existsSync(file)) return file;
  const root = packageRoot();
  const shipped = root && !isAbsolute(file) ? join(root, file) : null;
  return shipped && existsSync(shipped) ? shipped : null;
}

export function loadConfigFile(requested: string): ConfigInput {
  const file = locate(requested);
  if (file === null) throw new UsageError(`config file ${requested} does not exist; check the --config path (the shipped presets: configs/cremad.yaml, configs/ave.yaml, configs/ks.yaml)`);
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? ` at line ${e.linePos[0].line}` : '';
    throw new UsageError(`config ${file} is not valid YAML or JSON${where} (${(e as Error).message.split('\n')[0]}); fix the file`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UsageError(`config ${file} must be a mapping of RunConfig fields (e.g. "epochs: 10"); fix the file`);
  }
  const { purify, ...fields } = raw as Record<string, unknown>;
  // The same checks as the run's (resolveSettings), so that the message can name the file.
  const check = (what: () => void, prefix: string): void => {
    try {
      what();
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      const flag = e.key && !e.message.includes('unknown') ? ` or override it with ${flagOf(prefix + e.key)}` : '';
      throw new UsageError(`config ${file}: ${e.message}; fix it in the file${flag}`);
    }
  };
  check(() => resolveSettings('config', RUN_SETTINGS, fields, 'field'), '');
  if (purify !== undefined && purify !== null && typeof purify !== 'boolean') {
    if (typeof purify !== 'object' || Array.isArray(purify)) {
      throw new UsageError(`config ${file}: purify must be true, false, null or a mapping of ${Object.keys(PURIFY_SETTINGS).join(', ')}; fix the file`);
    }
    check(() => resolveSettings('config: purify', PURIFY_SETTINGS, purify as Record<string, unknown>, 'field'), 'purify.');
  }
  return raw as ConfigInput;
}
