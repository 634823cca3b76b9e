/** Errors the CLI turns into exit codes: bad input (2, one line, no stack) and Ctrl-C (130). */

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** Bad command-line input: the message names the problem and the fix. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The user stopped a command with Ctrl-C; the message says how to resume. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
}
