/**
 * Data-parallel speed (issue #12): the engine benchmark's model (bench/engine.ts: ResNet18 audio
 * encoder on 1x128x128 + ResNet18 visual encoder on 3x112x112, concat, Linear to 10, cross-entropy,
 * SGD lr 0.01 momentum 0.9 weight decay 1e-4) on random inputs, global batch 32, trained
 *   (a) by mmgap in 1 process x 2 threads                    -> single_process_sps
 *   (b) by mmgap as 2 ranks x 1 thread, DDP over c10d/Gloo    -> mmgap_ddp_sps
 *   (c) by PyTorch as 2 ranks x 1 thread, its own DDP (gloo) -> torch_ddp_sps (bench/ddp_torch.py)
 *   (d) by PyTorch in 1 process x 2 threads                   -> torch_single_process_sps (bench/engine_torch.py)
 * each a fresh set of processes, measured in one run and interleaved (the order rotates every
 * round), so that drift in the machine's load hits every side alike. A measurement is the median
 * step time of rank 0 after the warm-up steps; a side's figure is the median over the rounds,
 * in samples/s of the global batch. The ranks are started with torchrun's variables (RANK,
 * WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), as `mmgap train --nproc` starts them. Both
 * DDPs use 25 MiB buckets (1 MiB first), no search for unused parameters, and no buffer broadcast
 * before each forward (mmgap's DDP has none, PyTorch's is told broadcast_buffers=False).
 *
 * mmgap stores tensors through its caching CPU allocator, the Python children through glibc with
 * its defaults (see bench/engine.ts); `MMGAP_MALLOC=system` runs every side with glibc's defaults.
 *
 * Options: npm run bench:ddp -- --help.
 * Last stdout line (with --json: the only one): {"mmgap_ddp_sps", "torch_ddp_sps", "ratio",
 * "single_process_sps", "torch_single_process_sps", "scaling", "torch_scaling", ...}; ratio is
 * mmgap_ddp_sps / torch_ddp_sps, scaling mmgap_ddp_sps / single_process_sps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/cli/launch.js';
import { nn, optim, randn, randint, setNumThreads, manualSeed, tidy, cpuAllocator, type MemoryFormat } from '../src/torch/index.js';
import { DistributedDataParallel, joinFromEnv } from '../src/torch/distributed.js';
import { AudioVisual, INPUT_FORMATS, timedSteps } from './engine-model.js';
import { median } from './stats.js';
import { benchArgs } from './args.js';

const PYTHON = process.env.MMGAP_PYTHON ?? '/usr/bin/python3';
const BATCH = 32;
const RANKS = 2;
const THREADS = 2;
const opts = benchArgs('Usage: npm run bench:ddp -- [options]', {
  json: { kind: 'flag', help: 'only the JSON line on stdout' },
  quick: { kind: 'flag', help: '4 timed steps after 2 warm-up, 1 round' },
  steps: { kind: 'int', help: 'timed steps per measurement (default 10; 4 with --quick)' },
  warmup: { kind: 'int', min: 0, help: 'untimed steps before them (default 3; 2 with --quick)' },
  rounds: { kind: 'int', help: 'rounds of the interleaved measurement (default 3; 1 with --quick)' },
  format: { kind: 'string', choices: INPUT_FORMATS, default: 'channels_last', help: 'memory format of every side' },
  noTorchSingle: { kind: 'flag', help: 'skip PyTorch in one process (its scaling)' },
  worker: { kind: 'flag', internal: true, help: 'one rank (or the single process) of a measurement' },
  localBatch: { kind: 'int', default: BATCH, internal: true, help: "a worker's batch" },
  threads: { kind: 'int', default: 1, internal: true, help: "a worker's threads" },
});
const format = opts.format as MemoryFormat;
const steps = opts.steps ?? (opts.quick ? 4 : 10);
const warmup = opts.warmup ?? (opts.quick ? 2 : 3);
const log = (s: string): void => { process.stderr.write(s + '\n'); };

/**
 * A worker (`--worker --local-batch B --threads T --steps S --warmup W`): trains on B random
 * samples per step, as one rank of a DDP job when torchrun's variables say so, else alone; prints
 * its step times as one JSON line.
 */
function worker(): void {
  const local = opts.localBatch;
  setNumThreads(opts.threads);
  const group = joinFromEnv();
  manualSeed(group?.rank ?? 0);
  const model = new AudioVisual().to({ memoryFormat: format });
  const ddp = group ? new DistributedDataParallel(model, group) : null;
  const sgd = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const a = randn([local, 1, 128, 128]).contiguous(format);
  const v = randn([local, 3, 112, 112]).contiguous(format);
  const y = randint(0, 10, [local]);
  const step = (): void => tidy(() => {
    sgd.zeroGrad();
    const loss = nn.F.crossEntropy(model.forward(a, v), y);
    ddp?.prepareBackward(loss);
    loss.backward();
    sgd.step();
    loss.item();
  });
  const times = timedSteps(step, warmup, steps);
  group?.barrier();
  ddp?.release();
  group?.shutdown();
  process.stdout.write(JSON.stringify({ rank: group?.rank ?? 0, world: group?.worldSize ?? 1, local, times }) + '\n');
}

interface Child { cmd: string; args: string[]; env: NodeJS.ProcessEnv }

/** Runs the processes of one measurement together and returns each one's last stdout line as JSON; one that fails stops the others. */
function job<T>(children: Child[], what: string): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const procs: ChildProcess[] = [];
    const outs: string[] = children.map(() => '');
    const errs: string[] = children.map(() => '');
    let left = children.length, failed = false;
    children.forEach((c, i) => {
      const p = spawn(c.cmd, c.args, { env: c.env, stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(p);
      p.stdout?.on('data', (d: Buffer) => { outs[i] += d.toString(); });
      p.stderr?.on('data', (d: Buffer) => { errs[i] += d.toString(); });
      p.on('close', (code, signal) => {
        if ((code !== 0 || signal) && !failed) {
          failed = true;
          for (const q of procs) if (q !== p && q.exitCode === null) q.kill('SIGTERM');
          reject(new Error(`${what}: process ${i} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}: ${(errs[i] as string).trim().split('\n').slice(-5).join('\n')}`));
        }
        if (--left === 0 && !failed) {
          try {
            resolve(outs.map((o) => JSON.parse(o.trim().split('\n').pop() as string) as T));
          } catch (e) {
            reject(new Error(`${what}: unreadable output (${(e as Error).message})`));
          }
        }
      });
    });
  });
}

function rankEnvOf(rank: number, port: number): NodeJS.ProcessEnv {
  return { ...process.env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(RANKS), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), GLOG_minloglevel: process.env.GLOG_minloglevel ?? '2' };
}

/** A process-only environment: no torchrun variables (a single-process measurement). */
function soloEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT']) delete env[k];
  return env;
}

async function main(): Promise<void> {
  const { json } = opts;
  const rounds = opts.rounds ?? (opts.quick ? 1 : 3);
  const torchSingle = !opts.noTorchSingle;
  const self = fileURLToPath(import.meta.url);
  const here = (f: string): string => fileURLToPath(new URL(`../../bench/${f}`, import.meta.url));
  const common = ['--steps', String(steps), '--warmup', String(warmup)];
  const nodeWorker = (localBatch: number, threads: number): string[] => [...process.execArgv, self, '--worker', '--local-batch', String(localBatch), '--threads', String(threads), '--format', format, ...common];
  type Times = { times: number[] };

  const sides: Record<string, () => Promise<number>> = {
    single_process: async () => {
      const [r] = await job<Times>([{ cmd: process.execPath, args: nodeWorker(BATCH, THREADS), env: soloEnv() }], 'mmgap 1 process');
      return median(r!.times);
    },
    mmgap_ddp: async () => {
      const port = await freePort();
      const rs = await job<Times>(Array.from({ length: RANKS }, (_, r) => ({ cmd: process.execPath, args: nodeWorker(BATCH / RANKS, 1), env: rankEnvOf(r, port) })), 'mmgap DDP');
      return median(rs[0]!.times);
    },
    torch_ddp: async () => {
      const port = await freePort();
      const rs = await job<Times>(Array.from({ length: RANKS }, (_, r) => ({
        cmd: PYTHON, args: [here('ddp_torch.py'), '--batch', String(BATCH), '--threads', '1', '--format', format, ...common], env: rankEnvOf(r, port),
      })), 'PyTorch DDP');
      return median(rs[0]!.times);
    },
    ...(torchSingle && {
      torch_single_process: async () => {
        const [r] = await job<{ step_s_median: number }>([{
          cmd: PYTHON, args: [here('engine_torch.py'), '--batch', String(BATCH), '--threads', String(THREADS), '--format', format, ...common], env: soloEnv(),
        }], 'PyTorch 1 process');
        return r!.step_s_median;
      },
    }),
  };
  const names = Object.keys(sides);
  log(`ddp bench: global batch ${BATCH}, ${RANKS} ranks x 1 thread vs 1 process x ${THREADS} threads, ${format}, ${steps} timed steps after ${warmup} warm-up, ` +
    `${rounds} round(s); CPU allocator ${cpuAllocator} (PyTorch: glibc's defaults)`);
  const stepTimes: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    // The order rotates every round, so that no side always runs first (or after the same one).
    const order = names.map((_, i) => names[(i + round) % names.length] as string);
    for (const name of order) {
      const s = await (sides[name] as () => Promise<number>)();
      stepTimes[name]!.push(s);
      log(`  round ${round + 1}: ${name.padEnd(20)} ${(BATCH / s).toFixed(2)} samples/s (median step ${(1000 * s).toFixed(0)} ms)`);
    }
  }
  const sps = Object.fromEntries(names.map((n) => [n, BATCH / median(stepTimes[n] as number[])])) as Record<string, number>;
  const m = sps.mmgap_ddp as number, t = sps.torch_ddp as number, s1 = sps.single_process as number, t1 = sps.torch_single_process;
  const result = {
    mmgap_ddp_sps: m, torch_ddp_sps: t, ratio: m / t, single_process_sps: s1,
    ...(t1 !== undefined && { torch_single_process_sps: t1, torch_scaling: t / t1 }),
    scaling: m / s1,
    batch: BATCH, ranks: RANKS, threads_per_rank: 1, single_process_threads: THREADS, format, steps, warmup, rounds,
    malloc: cpuAllocator, torch_malloc: 'glibc defaults',
    step_s: stepTimes,
  };
  log(`mmgap DDP ${m.toFixed(2)} vs PyTorch DDP ${t.toFixed(2)} samples/s -> ratio ${(m / t).toFixed(3)}; 2 ranks / 1 process: mmgap ${(m / s1).toFixed(2)}x` +
    `${t1 !== undefined ? `, PyTorch ${(t / t1).toFixed(2)}x` : ''}`);
  if (!json) {
    console.log(`| global batch ${BATCH} | mmgap samples/s | PyTorch samples/s | ratio |`);
    console.log('|---|---|---|---|');
    console.log(`| ${RANKS} ranks x 1 thread (DDP, Gloo) | ${m.toFixed(2)} | ${t.toFixed(2)} | ${(m / t).toFixed(3)} |`);
    console.log(`| 1 process x ${THREADS} threads | ${s1.toFixed(2)} | ${t1 === undefined ? '–' : t1.toFixed(2)} | ${t1 === undefined ? '–' : (s1 / t1).toFixed(3)} |`);
  }
  console.log(JSON.stringify(result));
}

if (opts.worker) worker();
else await main();
