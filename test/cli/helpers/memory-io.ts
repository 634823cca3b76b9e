/** An in-memory CliIo: captured output, a Ctrl-C button, a recorded exit, and child runs in-process. */
import { runCli } from '../../../src/cli/cli.js';
import type { CliChild, CliIo } from '../../../src/cli/io.js';
import type { TrainerApi } from '../../../src/cli/trainer.js';

export interface MemoryIo extends CliIo {
  out: string;
  err: string;
  exited: number | null;
  /** Presses Ctrl-C. */
  interrupt(): void;
}

/**
 * `loadTrainer`: the trainer of `spawnSelf`'s commands, which run in this process (the real one
 * unless given); `child` decides per command: its own stand-in (e.g. a child that crashes) or the
 * in-process run it is handed.
 */
export function memoryIo(opts: { tty?: boolean; env?: Record<string, string>; loadTrainer?: () => Promise<TrainerApi>; child?: (argv: string[], inProcess: () => CliChild) => CliChild } = {}): MemoryIo {
  const handlers = new Set<() => void>();
  const io: MemoryIo = {
    out: '',
    err: '',
    exited: null,
    stdout: (t) => void (io.out += t),
    stderr: (t) => void (io.err += t),
    stderrIsTTY: opts.tty ?? false,
    columns: () => 100,
    onInterrupt(h) {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    exit: (code) => void (io.exited = code),
    env: opts.env ?? {},
    interrupt: () => handlers.forEach((h) => h()),
    spawnSelf(argv, env) {
      const inProcess = (): CliChild => inProcessChild(argv, env, opts.loadTrainer);
      return opts.child ? opts.child(argv, inProcess) : inProcess();
    },
  };
  return io;
}

/** `mmgap ARGV` run in this process, seen as a child. */
function inProcessChild(argv: string[], env: Record<string, string | undefined>, loadTrainer?: () => Promise<TrainerApi>): CliChild {
  const child = memoryIo({ env: env as Record<string, string>, loadTrainer });
  const listeners: ((t: string) => void)[] = [];
  let pending = '';
  child.stderr = (t) => {
    if (listeners.length) listeners.forEach((h) => h(t));
    else pending += t;
  };
  return {
    onStderr(h) {
      listeners.push(h);
      if (pending) h(pending);
      pending = '';
    },
    exited: runCli(argv, child, loadTrainer).then((code) => ({ code, signal: null })),
    interrupt: () => child.interrupt(),
  };
}
