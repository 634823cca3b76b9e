/**
 * Ctrl-C: the first press aborts the AbortSignal handed to the trainer (it finishes the step and
 * keeps a checkpoint of the last finished epoch); a second press quits at once with 130.
 */
import { EXIT, InterruptedError } from './errors.js';
import type { CliIo } from './io.js';
import type { Progress } from './progress.js';

/**
 * Runs `task` with a signal that Ctrl-C aborts. A task that stops because of the abort (it throws)
 * becomes InterruptedError(`resumeHint`); one that finished all the same returns its result.
 */
export async function interruptible<T>(io: CliIo, progress: Progress, resumeHint: string, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const off = io.onInterrupt(() => {
    if (controller.signal.aborted) {
      io.stderr(`\nmmgap: stopped at once; ${resumeHint}\n`);
      io.exit(EXIT.interrupted);
      return;
    }
    progress.log('stopping after the current step (Ctrl-C again to quit at once)');
    controller.abort();
  });
  try {
    return await task(controller.signal);
  } catch (e) {
    if (controller.signal.aborted) throw new InterruptedError(resumeHint);
    throw e;
  } finally {
    off();
    progress.clear();
  }
}

/** The command line to type again, without --no-resume (quoted for a POSIX shell). */
export function resumeCommand(argv: string[]): string {
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['mmgap', ...argv.filter((a) => a !== '--no-resume').map(quote)].join(' ');
}
