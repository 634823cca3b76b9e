import { DataError, SKIP_HINT } from '../errors.js';
import type { SkippedSample, Split } from '../types.js';

/**
 * Collects the bad samples found while opening a dataset: throws at the first one, or, with
 * `skipBadSamples`, records it so that it is counted and reported (never dropped silently).
 */
export class Problems {
  readonly skipped: SkippedSample[] = [];

  constructor(private readonly skip: boolean) {}

  /** Reports a bad sample; returns normally only when skipping. */
  report(p: { id: string; split: Split | null; file: string; line?: number; reason: string }): void {
    if (!this.skip) throw new DataError(p.file, `${p.reason}; ${SKIP_HINT}`, p.line);
    this.skipped.push(p.line === undefined ? { id: p.id, split: p.split, file: p.file, reason: p.reason } : { ...p });
  }
}

/** The non-blank lines of a text file with their 1-based numbers (CRLF and a UTF-8 BOM tolerated). */
export function numberedLines(text: string): { line: number; text: string }[] {
  return text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((t, i) => ({ line: i + 1, text: t.trim() }))
    .filter((l) => l.text.length > 0);
}
