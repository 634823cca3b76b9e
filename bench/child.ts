/** Benchmark child processes: one side's measurement run in a process of its own. */
import { execFileSync } from 'node:child_process';

/**
 * Runs `file` with `args` to completion and returns the JSON object on the last line of its
 * stdout (its stderr, where benchmarks log progress, passes through).
 */
export function lastJsonLine<T>(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): T {
  const out = execFileSync(file, args, { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'], env });
  return JSON.parse(out.trim().split('\n').pop() as string) as T;
}
