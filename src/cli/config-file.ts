/** Reading `--config FILE` (YAML, or JSON, which is YAML too) into validated RunConfig fields. */
import { existsSync, readFileSync } from 'node:fs';
import { parse, YAMLParseError } from 'yaml';
import { configFileSchema, describeIssue, type ConfigFile } from './config-schema.js';
import { UsageError } from './errors.js';
import { FLAG_OF, PURIFY_FLAG_OF } from './run-flags.js';
import type { PurifyConfig, RunConfig } from '../train/types.js';

/** The flag that overrides the field at `path` (for the fix in error messages). */
function flagFor(path: PropertyKey[]): string | undefined {
  const [top, sub] = path;
  if (top === 'purify' && typeof sub === 'string' && sub in PURIFY_FLAG_OF) return PURIFY_FLAG_OF[sub as keyof PurifyConfig];
  return typeof top === 'string' && top in FLAG_OF ? FLAG_OF[top as keyof RunConfig] : undefined;
}

export function loadConfigFile(file: string): ConfigFile {
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
  const r = configFileSchema.safeParse(raw);
  if (!r.success) {
    const flag = flagFor(r.error.issues[0].path);
    throw new UsageError(`config ${file}: ${describeIssue(r.error, raw)}; fix it in the file${flag ? ` or override it with ${flag}` : ''}`);
  }
  return r.data;
}
