/**
 * c10d from mmgap, with real processes on loopback (each rank is a child running the built
 * package, test/helpers/dist-child.mjs): collectives, DDP against one process on the same global
 * batch, and the failures that must end a job with one line instead of a hang.
 */
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/cli/launch.js';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DistributedError, ProcessGroup, rankEnv } from '../../src/torch/distributed.js';

const CHILD = fileURLToPath(new URL('../helpers/dist-child.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/src/torch/distributed.js', import.meta.url));


interface Out { status: number | null; stdout: string; stderr: string }

function runChild(args: string[]): Promise<Out> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLOG_minloglevel: '3' } });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs `world` ranks of one job and returns each rank's JSON line. */
async function job<T>(world: number, args: (rank: number, port: number) => string[]): Promise<T[]> {
  const port = await freePort();
  const outs = await Promise.all(Array.from({ length: world }, (_, r) => runChild(args(r, port))));
  for (const o of outs) expect(o.status, o.stderr).toBe(0);
  return outs.map((o) => JSON.parse(o.stdout) as T);
}

describe('distributed (c10d, Gloo on loopback)', () => {
  it('the children run the built package', () => {
    expect(existsSync(BUILT), 'run `npm run build` first').toBe(true);
  });

  it('allReduce, allGather, broadcast and barrier give every rank the same, right answer', async () => {
    const outs = await job<{ sum: number[]; max: number[]; gathered: number[][]; fromRoot: number[] }>(2, (r, port) => ['collectives', String(r), '2', String(port)]);
    for (const o of outs) {
      expect(o.sum).toEqual([3, 30]);
      expect(o.max).toEqual([1, 0]);
      expect(o.gathered).toEqual([[0, 0], [1, 1]]);
      expect(o.fromRoot).toEqual([42, 7]);
    }
  });

  for (const opt of ['sgd', 'adam']) {
    it(`DDP with ${opt}: after 6 steps, 2 ranks on half batches hold the parameters of 1 process on the whole batch (float64)`, async () => {
      type P = { params: Record<string, number[]> };
      const [single] = await job<P>(1, () => ['ddp', opt, '0', '1', '0']);
      const ranks = await job<P>(2, (r, port) => ['ddp', opt, String(r), '2', String(port)]);
      const names = Object.keys(single!.params);
      expect(names).toEqual(['w1', 'b1', 'w2', 'b2']);
      let moved = 0;
      for (const n of names) {
        const ref = single!.params[n]!;
        for (const r of ranks) {
          const got = r.params[n]!;
          expect(got.length).toBe(ref.length);
          got.forEach((v, i) => expect(Math.abs(v - (ref[i] as number))).toBeLessThan(1e-12));
        }
        // The ranks hold the same bits: the Reducer averaged the same buckets on both.
        expect(ranks[1]!.params[n]).toEqual(ranks[0]!.params[n]);
        moved += ref.length;
      }
      expect(moved).toBe(8 * 6 + 8 + 3 * 8 + 3);
    });
  }

  it('a rank that cannot reach the store fails within its timeout, naming address and port', async () => {
    const port = await freePort();
    const t0 = performance.now();
    expect(() => ProcessGroup.init({ rank: 1, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 1500 }))
      .toThrow(new RegExp(`^rank 1 could not reach the rendezvous store at 127\\.0\\.0\\.1:${port} within 1.5 s`));
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('a port in use is one line naming the port and the fix', async () => {
    const server = createServer().listen(0, '0.0.0.0');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    try {
      let err: Error | null = null;
      try {
        ProcessGroup.init({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 2000 });
      } catch (e) { err = e as Error; }
      expect(err).toBeInstanceOf(DistributedError);
      expect(err!.message).toBe(`rendezvous port ${port} is in use on this machine; pick a free one with MASTER_PORT (mmgap: --master-port)`);
    } finally {
      server.close();
    }
  });

  it('a one-rank group works without peers', () => {
    const g = ProcessGroup.init({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 0, timeoutMs: 5000 });
    g.barrier();
    g.shutdown();
    expect(() => g.barrier()).toThrow('used after shutdown()');
  });

  it("torchrun's variables are read, checked and named when wrong", () => {
    expect(rankEnv({})).toBeNull();
    expect(rankEnv({ WORLD_SIZE: '2', RANK: '1', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '1234', LOCAL_RANK: '0' }))
      .toEqual({ rank: 1, worldSize: 2, localRank: 0, masterAddr: '10.0.0.1', masterPort: 1234 });
    expect(rankEnv({ WORLD_SIZE: '2', RANK: '1' })).toEqual({ rank: 1, worldSize: 2, localRank: 1, masterAddr: '127.0.0.1', masterPort: 29500 });
    expect(() => rankEnv({ WORLD_SIZE: '2' })).toThrow(/^RANK=\(unset\) must be a non-negative integer/);
    expect(() => rankEnv({ WORLD_SIZE: '2', RANK: '2' })).toThrow('RANK=2 must be below WORLD_SIZE=2');
    expect(() => rankEnv({ WORLD_SIZE: '2', RANK: '0', MASTER_PORT: '70000' })).toThrow('MASTER_PORT=70000 must be a TCP port');
  });

  it('a rank killed with SIGKILL makes its peer fail with a DistributedError, not hang', () => {
    // The built child: rank 1 exits by SIGKILL right after joining; rank 0 then all-reduces.
    const script = `
      import { ProcessGroup } from ${JSON.stringify(BUILT)};
      import { tensor } from ${JSON.stringify(BUILT.replace('distributed.js', 'index.js'))};
      const [rank, port] = process.argv.slice(1).map(Number);
      const g = ProcessGroup.init({ rank, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 20000 });
      if (rank === 1) process.kill(process.pid, 'SIGKILL');
      try { for (let i = 0; i < 50; i++) { g.allReduce(tensor([1])); await new Promise((r) => setTimeout(r, 20)); } console.log('no error'); }
      catch (e) { console.log(e.constructor.name + ': ' + e.message); }`;
    const port = 20000 + Math.floor(Math.random() * 20000);
    const env = { ...process.env, GLOG_minloglevel: '3' };
    const peer = spawn(process.execPath, ['--input-type=module', '-e', script, String(1), String(port)], { stdio: 'ignore', env });
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, String(0), String(port)], { encoding: 'utf8', env, timeout: 60_000 });
    peer.kill('SIGKILL');
    expect(r.stdout.trim()).toMatch(/^DistributedError: rank 0: allReduce failed, another rank of the 2 left the job or stopped answering/);
    expect(performance.now() - t0).toBeLessThan(30_000);
  });
});
