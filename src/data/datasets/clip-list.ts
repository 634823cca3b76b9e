/** Turning split-file rows into checked clip entries (labels known, files present, ids unique). */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DataError } from '../errors.js';
import type { Split } from '../types.js';
import type { ClipEntry } from './clip-dataset.js';
import { numberedLines, type Problems } from './problems.js';
import { carveValidation } from './val-split.js';

/** One parsed row of a split file. */
export interface ClipRow {
  id: string;
  labelName: string;
  split: Split;
  listFile: string;
  line: number;
}

/** Reads a split file's rows with `parse`; a missing split file is an error (not a skippable sample). */
export async function readRows(file: string, split: Split, parse: (text: string) => { id: string; label: string } | string): Promise<ClipRow[]> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new DataError(file, 'split file is missing or unreadable');
  });
  return numberedLines(text).map(({ line, text: t }) => {
    const r = parse(t);
    if (typeof r === 'string') throw new DataError(file, `${r}: "${t}"`, line);
    return { id: r.id, labelName: r.label, split, listFile: file, line };
  });
}

/** Where a clip's audio and frames live (null audio: no file found under any accepted name). */
export interface ClipPaths {
  audioFile: (id: string) => string | null;
  frameDir: (id: string) => string;
  /** For messages: the audio file name(s) looked for. */
  audioHint: (id: string) => string;
}

/**
 * Checks each row (known label, unique id, audio file and frame folder present) and returns the
 * entries; bad rows go to `problems` (error, or skip with a record). With `valFraction`, a seeded
 * class-stratified part of train becomes val.
 */
export function checkRows(
  rows: ClipRow[],
  classIndex: Map<string, number>,
  paths: ClipPaths,
  problems: Problems,
  val?: { fraction: number; seed: number },
): ClipEntry[] {
  const seen = new Map<string, ClipRow>();
  const entries: ClipEntry[] = [];
  const known = [...classIndex.keys()].join(', ');
  for (const row of rows) {
    const bad = (reason: string): void => problems.report({ id: row.id, split: row.split, file: row.listFile, line: row.line, reason });
    const label = classIndex.get(row.labelName);
    if (label === undefined) {
      bad(`unknown label "${row.labelName}" (known: ${known})`);
      continue;
    }
    const first = seen.get(row.id);
    if (first) {
      bad(`duplicate id "${row.id}" (first listed at ${first.listFile}:${first.line})`);
      continue;
    }
    const audioFile = paths.audioFile(row.id);
    if (audioFile === null) {
      bad(`"${row.id}": audio file ${paths.audioHint(row.id)} is missing`);
      continue;
    }
    const frameDir = paths.frameDir(row.id);
    if (!existsSync(frameDir)) {
      bad(`"${row.id}": frame folder ${frameDir} is missing`);
      continue;
    }
    seen.set(row.id, row);
    entries.push({ id: row.id, label, split: row.split, audioFile, frameDir, listFile: row.listFile, line: row.line });
  }
  if (val && val.fraction > 0) {
    const train = entries.filter((e) => e.split === 'train');
    const chosen = carveValidation(
      train.map((e) => e.label),
      val.fraction,
      val.seed,
    );
    for (const i of chosen) train[i].split = 'val';
  }
  return entries;
}

/** The first existing file among candidates, or null. */
export function firstExisting(...candidates: string[]): string | null {
  return candidates.find((c) => existsSync(c)) ?? null;
}
