/** The CLI's contact with the process, injectable so that tests can run commands in-process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** This CLI started again as a child process (`CliIo.spawnSelf`). */
export interface CliChild {
  /** Receives the child's stderr as it comes (stdout is discarded). */
  onStderr(handler: (text: string) => void): void;
  /** Its end: the exit code, or the signal that killed it (e.g. SIGKILL from the out-of-memory killer). */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Sends it Ctrl-C (SIGINT). */
  interrupt(): void;
}

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Progress bars are drawn only on a terminal. */
  stderrIsTTY: boolean;
  /** Terminal width for progress bars. */
  columns(): number;
  /** Subscribes to Ctrl-C (SIGINT); returns the unsubscribe function. */
  onInterrupt(handler: () => void): () => void;
  /** Ends the process at once (a second Ctrl-C). */
  exit(code: number): void;
  env: Record<string, string | undefined>;
  /** Runs `mmgap ARGV` in a child process of its own (a grid's runs: memory handed back, a crash contained). */
  spawnSelf(argv: string[], env: Record<string, string | undefined>): CliChild;
}

/** The executable beside this module (dist/src/cli/main.js). */
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export function nodeIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stderrIsTTY: process.stderr.isTTY === true,
    columns: () => process.stderr.columns || 80,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
    exit: (code) => process.exit(code),
    env: process.env,
    spawnSelf(argv, env) {
      const child = spawn(process.execPath, [...process.execArgv, MAIN, ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      return {
        onStderr: (h) => void child.stderr.on('data', (d: Buffer) => h(d.toString())),
        exited: new Promise((resolve) => {
          child.on('error', () => resolve({ code: 1, signal: null }));
          child.on('close', (code, signal) => resolve({ code, signal }));
        }),
        interrupt: () => void child.kill('SIGINT'),
      };
    },
  };
}
