/**
 * The run directory (layout in types.ts). Every file is written atomically (temp file + rename),
 * so a kill at any moment leaves each file either old or new, never torn.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors, type Tensor } from '../torch/index.js';
import { writeFileAtomicSync } from '../atomic-write.js';
import { RUN_FORMAT_VERSION, type EpochMetrics, type RunConfig, type RunSummary } from './types.js';
import { ConfigError, DEFAULT_CONFIG, resumeConflicts } from './config.js';
import { packageVersion } from '../package.js';
import type { Normalization } from '../data/index.js';

export const MMGAP_VERSION = packageVersion();

/** last: after each epoch; best: best main-stage epoch on validation; purified: best fine-tuning epoch. */
export type CheckpointName = 'last' | 'best' | 'purified';

/** config.json: the config, the versions that wrote it, and the feature standardisation fitted when the run started (absent until then). */
export interface StoredConfig extends RunConfig { formatVersion: number; mmgapVersion: string; libtorchVersion: string; normalization?: Normalization | null }

export class RunDir {
  constructor(readonly path: string) {}

  file(...parts: string[]): string { return join(this.path, ...parts); }

  /** Creates the directory, or checks that an existing one holds a run of the same config and format. */
  open(config: RunConfig, libtorchVersion: string, resume: boolean): 'new' | 'existing' {
    mkdirSync(this.file('checkpoints'), { recursive: true });
    mkdirSync(this.file('gaps'), { recursive: true });
    mkdirSync(this.file('predictions'), { recursive: true });
    const cfgPath = this.file('config.json');
    if (resume && existsSync(cfgPath)) {
      const stored = readStoredConfig(this.path);
      const conflicts = resumeConflicts(stored, config);
      if (conflicts.length) {
        throw new ConfigError(`run directory ${this.path} holds a run with a different ${conflicts.join(', ')}; ` +
          'use another --out, or --no-resume to start over in this one');
      }
      return 'existing';
    }
    const stored: StoredConfig = { ...config, formatVersion: RUN_FORMAT_VERSION, mmgapVersion: MMGAP_VERSION, libtorchVersion };
    this.writeText('config.json', JSON.stringify(stored, null, 2) + '\n');
    return 'new';
  }

  writeText(name: string, text: string): void { writeFileAtomicSync(this.file(name), [Buffer.from(text, 'utf8')]); }

  log(line: string): void { appendFileSync(this.file('run.log'), `${new Date().toISOString()} ${line}\n`); }

  writeMetrics(history: EpochMetrics[]): void {
    this.writeText('metrics.jsonl', history.map((m) => JSON.stringify(m)).join('\n') + (history.length ? '\n' : ''));
  }

  writeGaps(epoch: number, csv: string): void { this.writeText(join('gaps', `epoch-${epoch}.csv`), csv); }

  writeSummary(s: RunSummary): void { this.writeText('summary.json', JSON.stringify(s, null, 2) + '\n'); }

  /**
   * Writes checkpoints/<name>.safetensors, and each of `companions` (a TorchScript encoder with
   * the same weights, for PyTorch) as checkpoints/<name>.<file>; each written atomically by itself.
   */
  saveCheckpoint(name: CheckpointName, tensors: Map<string, Tensor>, meta: unknown, companions: { file: string; write(path: string): void }[] = []): void {
    saveSafetensors(this.file('checkpoints', `${name}.safetensors`), tensors, { mmgap: JSON.stringify(meta) });
    for (const c of companions) c.write(this.file('checkpoints', `${name}.${c.file}`));
  }

  loadCheckpoint<T>(name: CheckpointName): { tensors: Map<string, Tensor>; meta: T } | null {
    const path = this.file('checkpoints', `${name}.safetensors`);
    if (!existsSync(path)) return null;
    const { tensors, metadata } = loadSafetensors(path);
    if (metadata.mmgap === undefined) throw new Error(`${path} is not an mmgap checkpoint (no "mmgap" metadata)`);
    return { tensors, meta: JSON.parse(metadata.mmgap) as T };
  }
}

/** Checkpoint entries are named `<part>.<name>` (model., optim., method.): `prefixed` names a part's tensors. */
export function prefixed(prefix: string, m: Map<string, Tensor> | Record<string, Tensor>): [string, Tensor][] {
  return [...(m instanceof Map ? m : Object.entries(m))].map(([k, t]) => [prefix + k, t]);
}

/** The tensors of one part of a checkpoint, under their own names. */
export function pick(tensors: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
}

/** The config a run directory holds; an error names a directory of another format version. */
export function readStoredConfig(dir: string): StoredConfig {
  const path = join(dir, 'config.json');
  let stored: StoredConfig;
  try {
    stored = JSON.parse(readFileSync(path, 'utf8')) as StoredConfig;
  } catch (e) {
    throw new ConfigError(`${path} is not a readable run config (${(e as Error).message}); is ${dir} an mmgap run directory?`);
  }
  if (stored.formatVersion !== RUN_FORMAT_VERSION) {
    throw new ConfigError(`run directory ${dir} has format version ${String(stored.formatVersion)}, this mmgap (${MMGAP_VERSION}) reads version ${RUN_FORMAT_VERSION}; ` +
      'train again into a new --out with this version');
  }
  // A setting added since the run was written reads as its default: a new setting's default
  // must reproduce the old behaviour, so the run stays resumable and purifiable. normalize is
  // the exception (its default standardises stored arrays): a run from before it had none.
  return { ...DEFAULT_CONFIG, ...(stored.normalize === undefined && { normalize: 'off' as const, normalization: null }), ...stored };
}
