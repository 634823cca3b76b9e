/**
 * Reading a run directory (layout: src/train/types.ts) for reports and the CLI, with the checks
 * that turn a missing or foreign directory into one clear message instead of a stack trace.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RUN_FORMAT_VERSION, type EpochMetrics, type RunConfig, type RunSummary } from '../train/types.js';
import { readGapsCsv, type GapRow } from './gaps-csv.js';
import { RunDirError } from './run-dir-error.js';

/** config.json: the resolved RunConfig plus the versions that wrote it. */
export interface RunConfigFile extends RunConfig {
  formatVersion: number;
  mmgapVersion?: string;
  libtorchVersion?: string;
}

export interface RunData {
  dir: string;
  config: RunConfigFile;
  /** One entry per finished epoch, in order. */
  metrics: EpochMetrics[];
  /** Null while the run has not finished. */
  summary: RunSummary | null;
  /** Per-sample gaps by 1-based epoch (only the epochs whose gaps/epoch-N.csv exists). */
  gaps: Map<number, GapRow[]>;
  /** gaps/purification.csv: purification's per-sample choice (absent when the run did not record one). */
  purificationRows?: GapRow[];
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new RunDirError(`${file} is not valid JSON (${(e as Error).message}); re-run the command that wrote it`);
  }
}

function checkVersion(file: string, json: Record<string, unknown>): void {
  const v = json.formatVersion;
  if (v !== RUN_FORMAT_VERSION) {
    throw new RunDirError(
      `${file} has run format version ${JSON.stringify(v ?? null)}, this mmgap reads version ${RUN_FORMAT_VERSION}; ` +
        'use the mmgap version that wrote it, or train again into a new --out directory',
    );
  }
}

/**
 * Checks that `dir` is a run directory of this format version (config.json, and summary.json
 * when present). Returns the parsed config file.
 */
export async function checkRunDir(dir: string): Promise<RunConfigFile> {
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) {
    throw new RunDirError(`${resolve(dir)} is not a run directory (no config.json); pass the --out directory of a \`mmgap train\` run`);
  }
  const raw = await readJson(configFile);
  checkVersion(configFile, raw);
  const summaryFile = join(dir, 'summary.json');
  if (existsSync(summaryFile)) checkVersion(summaryFile, await readJson(summaryFile));
  // The trainer writes the config flat with its versions; tolerate it nested under "config" too.
  return (typeof raw.config === 'object' && raw.config !== null ? { ...raw.config, formatVersion: raw.formatVersion } : raw) as unknown as RunConfigFile;
}

/** The finished run's summary, or null when summary.json is absent (the run did not finish). */
export async function readSummary(dir: string): Promise<RunSummary | null> {
  const file = join(dir, 'summary.json');
  if (!existsSync(file)) return null;
  const json = await readJson(file);
  checkVersion(file, json);
  return json as unknown as RunSummary;
}

async function readMetrics(dir: string): Promise<EpochMetrics[]> {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as EpochMetrics;
    } catch {
      throw new RunDirError(`${file}:${i + 1} is not valid JSON; delete the line or train again`);
    }
  });
}

async function readGaps(dir: string): Promise<Map<number, GapRow[]>> {
  const gapsDir = join(dir, 'gaps');
  const out = new Map<number, GapRow[]>();
  if (!existsSync(gapsDir)) return out;
  for (const name of await readdir(gapsDir)) {
    const m = /^epoch-(\d+)\.csv$/.exec(name);
    if (m) out.set(Number(m[1]), await readGapsCsv(join(gapsDir, name)));
  }
  return out;
}

/** Reads everything a report needs from a run directory. */
export async function readRunDir(dir: string): Promise<RunData> {
  const config = await checkRunDir(dir);
  const purificationFile = join(dir, 'gaps', 'purification.csv');
  const [metrics, summary, gaps, purificationRows] = await Promise.all([
    readMetrics(dir), readSummary(dir), readGaps(dir), existsSync(purificationFile) ? readGapsCsv(purificationFile) : undefined,
  ]);
  return { dir: resolve(dir), config, metrics, summary, gaps, ...(purificationRows ? { purificationRows } : {}) };
}
