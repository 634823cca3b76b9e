/** An in-memory CliIo: captured output, a Ctrl-C button, a recorded exit. */
import type { CliIo } from '../../../src/cli/io.js';

export interface MemoryIo extends CliIo {
  out: string;
  err: string;
  exited: number | null;
  /** Presses Ctrl-C. */
  interrupt(): void;
}

export function memoryIo(opts: { tty?: boolean; env?: Record<string, string> } = {}): MemoryIo {
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
  };
  return io;
}
