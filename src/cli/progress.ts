/**
 * One progress line on stderr with ETA, redrawn in place (at most ~10 times a second), and log
 * lines printed above it. The bar is drawn only on a terminal and never under --json; log lines
 * go to stderr unless --json. A run of a grid (a child process) relays its bar to the grid's
 * instead: one marked line per update (`readRelayed` parses it).
 */
import { duration } from '../report/format.js';
import type { CliIo } from './io.js';

/** Starts a relayed bar update: `<mark><fraction>\t<label>`. */
const RELAY = '\x1e';

/** A relayed bar update of a child's stderr line, or null for an ordinary line. */
export function readRelayed(line: string): { fraction: number; label: string } | null {
  if (!line.startsWith(RELAY)) return null;
  const tab = line.indexOf('\t');
  return { fraction: Number(line.slice(1, tab)), label: line.slice(tab + 1) };
}

export class Progress {
  private readonly bar: boolean;
  private readonly logs: boolean;
  private shown = '';
  private lastDraw = -Infinity;
  private start: number | null = null;
  private startFraction = 0;

  /** With `relay`, bar updates go to stderr as marked lines for the grid that started this process. */
  constructor(private readonly io: CliIo, json: boolean, private readonly relay = false) {
    this.bar = (relay || io.stderrIsTTY) && !json;
    this.logs = !json;
  }

  /** Shows `label` with a bar at `fraction` of the whole job; the ETA extrapolates the rate since the first update. */
  update(fraction: number, label: string): void {
    if (!this.bar) return;
    const now = Date.now();
    const f = Math.min(1, Math.max(0, fraction));
    if (this.start === null) {
      this.start = now;
      this.startFraction = f;
    }
    if (now - this.lastDraw < 100 && f < 1) return;
    this.lastDraw = now;
    if (this.relay) {
      this.io.stderr(`${RELAY}${f}\t${label}\n`);
      return;
    }
    const elapsed = (now - this.start) / 1000;
    const done = f - this.startFraction;
    const eta = done > 1e-6 && elapsed > 1 ? `ETA ${duration((elapsed * (1 - f)) / done)}` : 'ETA …';
    const tail = ` ${String(Math.floor(100 * f)).padStart(3)}% ${eta}`;
    const width = Math.max(10, Math.min(30, this.io.columns() - label.length - tail.length - 4));
    const filled = Math.round(f * width);
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${tail}`;
    this.draw(line.slice(0, this.io.columns() - 1));
  }

  /** Prints a line above the bar. */
  log(line: string): void {
    if (!this.logs) return;
    const bar = this.shown;
    this.clear();
    this.io.stderr(`${line}\n`);
    if (bar) this.draw(bar);
  }

  /** Removes the bar (before the command prints its result). */
  clear(): void {
    if (this.shown) this.io.stderr('\r\x1b[K');
    this.shown = '';
  }

  private draw(line: string): void {
    this.io.stderr(`\r\x1b[K${line}`);
    this.shown = line;
  }
}
