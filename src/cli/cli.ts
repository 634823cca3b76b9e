/**
 * Runs the mmgap command line in-process and returns the exit code: 0 done, 1 failed, 2 bad input
 * (one line on stderr naming the problem and the fix, never a stack trace), 130 Ctrl-C.
 * Set MMGAP_DEBUG=1 to see the stack of a failure.
 */
import { Command, CommanderError } from 'commander';
import { RunDirError } from '../report/run-dir-error.js';
import type { CliContext } from './context.js';
import { EXIT, InterruptedError, UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { buildProgram } from './program.js';
import { loadTrainer as loadRealTrainer, type TrainerApi } from './trainer.js';

/** `mmgap train` for the command that failed to parse, for the "see --help" hint. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Routes commander's own error output through one line, remembering which command complained. */
function captureParseErrors(cmd: Command, failed: { cmd: Command | null }): void {
  cmd.exitOverride().configureOutput({ outputError: () => (failed.cmd = cmd) });
  for (const sub of cmd.commands) captureParseErrors(sub, failed);
}

export async function runCli(argv: string[], io: CliIo, loadTrainer: () => Promise<TrainerApi> = loadRealTrainer): Promise<number> {
  let trainer = null as TrainerApi | null;
  const ctx: CliContext = {
    io,
    argv,
    loadTrainer: async () => (trainer ??= await loadTrainer()),
    exitCode: EXIT.ok,
  };
  const program = buildProgram(ctx);
  const failed: { cmd: Command | null } = { cmd: null };
  captureParseErrors(program, failed);
  const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT.ok;
      // Help printed because a command was missing: the help itself is the message.
      if (e.code === 'commander.help' || e.code === 'commander.executeSubCommandAsync') return EXIT.usage;
      const where = failed.cmd ? commandPath(failed.cmd) : 'mmgap';
      io.stderr(`mmgap: ${oneLine(e.message.replace(/^error: /, ''))}; see \`${where} --help\`\n`);
      return EXIT.usage;
    }
    if (e instanceof UsageError || e instanceof RunDirError || trainer?.isConfigError(e)) {
      io.stderr(`mmgap: ${oneLine((e as Error).message)}\n`);
      return EXIT.usage;
    }
    if (e instanceof InterruptedError) {
      io.stderr(`mmgap: interrupted; ${oneLine(e.message)}\n`);
      return EXIT.interrupted;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.stderr(`mmgap: ${oneLine(err.message)}\n`);
    if (io.env.MMGAP_DEBUG) io.stderr(`${err.stack ?? ''}\n`);
    return EXIT.failure;
  }
}
