/**
 * `--nproc N` (`mmgap train`, `mmgap bench`): starts N ranks of the same command on this
 * machine, as torchrun does, each with torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK,
 * MASTER_ADDR, MASTER_PORT), and ends the whole job when any rank fails: a rank killed
 * (kill -9) or failing stops the others, and the launcher names it. Rank 0 speaks for the job
 * (its output is the command's); the others' errors are prefixed with their rank.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { EXIT, UsageError } from './errors.js';
import type { CliIo } from './io.js';

/** A TCP port free on this machine now (the OS's choice). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Flags the launcher consumes (the ranks must not launch again). */
export function withoutLaunchFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--nproc' || a === '--master-port') { i++; continue; }
    if (a.startsWith('--nproc=') || a.startsWith('--master-port=')) continue;
    out.push(a);
  }
  return out;
}

export function parseNproc(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError(`--nproc ${text}: expected a whole number of processes from 1 to 1024`);
  return n;
}

/**
 * Runs `argv` (a command line of this CLI) as `nproc` ranks and resolves with the job's exit
 * code: 0 when every rank succeeded, else the first failing rank's (or 1 for a signal).
 */
export async function launchRanks(io: CliIo, argv: string[], nproc: number, masterPort: number | null): Promise<number> {
  const port = masterPort ?? await freePort();
  const script = process.argv[1] as string;
  const children: ChildProcess[] = [];
  let failure: { rank: number; code: number; why: string } | null = null;
  const exits = Array.from({ length: nproc }, (_, rank) => new Promise<void>((resolve) => {
    const env = { ...io.env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(nproc), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), GLOG_minloglevel: io.env.GLOG_minloglevel ?? '2' };
    const child = spawn(process.execPath, [...process.execArgv, script, ...withoutLaunchFlags(argv)], { env, stdio: ['ignore', rank === 0 ? 'pipe' : 'ignore', 'pipe'] });
    children.push(child);
    child.stdout?.on('data', (d: Buffer) => io.stdout(d.toString()));
    child.stderr?.on('data', (d: Buffer) => io.stderr(rank === 0 ? d.toString() : d.toString().replace(/^(?=.)/gm, `rank ${rank}: `)));
    child.on('exit', (code, signal) => {
      if ((code !== 0 || signal) && !failure) {
        failure = { rank, code: code && code > 0 ? code : EXIT.failure, why: signal ? `was killed by ${signal}` : `exited with code ${code}` };
        // The others would fail at their next collective anyway; stop them now.
        for (const c of children) if (c !== child && c.exitCode === null) c.kill('SIGTERM');
      }
      resolve();
    });
  }));
  const stopAll = (): void => { for (const c of children) if (c.exitCode === null) c.kill('SIGINT'); };
  const unsubscribe = io.onInterrupt(stopAll);
  try {
    await Promise.all(exits);
  } finally {
    unsubscribe();
  }
  const f = failure as { rank: number; code: number; why: string } | null;
  if (!f) return EXIT.ok;
  io.stderr(`mmgap: rank ${f.rank} of ${nproc} ${f.why}; the job stopped (the last finished epoch is saved: run the same command to resume)\n`);
  return f.code;
}
