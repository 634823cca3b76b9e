/** What every command gets: the process I/O, its own argv (for resume hints) and the lazily loaded trainer. */
import type { CliIo } from './io.js';
import type { TrainerApi } from './trainer.js';

export interface CliContext {
  io: CliIo;
  argv: string[];
  loadTrainer(): Promise<TrainerApi>;
  /** Set by a command that printed its result but must still fail (e.g. verify found bad samples). */
  exitCode: number;
}

/** Prints the result: human lines, or under --json a single JSON line (the last line of stdout). */
export function printResult(ctx: CliContext, json: boolean, lines: string[], value: unknown): void {
  ctx.io.stdout(json ? `${JSON.stringify(value)}\n` : lines.map((l) => `${l}\n`).join(''));
}
