/** Reading `--config FILE` (YAML, or JSON, which is YAML too) into RunConfig fields, checked by the settings' own rules. */
import { existsSync, readFileSync } from 'node:fs';
import { parse, YAMLParseError } from 'yaml';
import { resolveSettings, SettingError } from '../settings.js';
import { PURIFY_SETTINGS, RUN_SETTINGS, type ConfigInput } from '../train/config.js';
import { UsageError } from './errors.js';
import { flagOf } from './run-flags.js';

export function loadConfigFile(file: string): ConfigInput {
  if (!existsSync(file)) throw new UsageError(`config file ${file} does not exist; check the --config path`);
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
