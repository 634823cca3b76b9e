/**
 * A child process run to its end without blocking the test worker's event loop. spawnSync would
 * block it for the child's whole life, and vitest's worker then misses its RPC deadline
 * ("Timeout calling onTaskUpdate") once a child runs for about a minute, failing the suite.
 */
import { spawn } from 'node:child_process';

export interface ChildResult { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export function runChild(command: string, args: string[], opts: { timeout?: number } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = opts.timeout ? setTimeout(() => child.kill('SIGKILL'), opts.timeout) : null;
    child.on('error', reject);
    child.on('close', (status, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}
